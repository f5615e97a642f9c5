// Checkpoints on a real (file://) store: the newest complete one wins, half-written or damaged
// ones are ignored, and deleting removes the manifest before the data.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fileURI, openStore } from '../lib/storage/index.ts';
import { buildArchitecture } from './architectures/index.ts';
import {
  checkpointURI,
  deleteCheckpoints,
  listCheckpoints,
  loadLatestCheckpoint,
  restoreWeights,
  writeCheckpoint,
} from './checkpoints.ts';
import { restoreOptimizer } from './optimizer-state.ts';
import type { LogLine } from './testkit.ts';
import { earlyStoppingState, makeOptimizer } from './train.ts';

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

const store = openStore();
/** Compiled as the trainer compiles it: a checkpoint holds the optimizer's state too. */
function model(seed: number, units = 4): tf.LayersModel {
  const m = buildArchitecture('regression-mlp', { inputShape: [3], units: [units], seed });
  m.compile({ optimizer: makeOptimizer('adam', 0.01), loss: 'meanSquaredError' });
  return m;
}
const history = (n: number) => Array.from({ length: n }, (_, i) => ({ epoch: i + 1, loss: 1 / (i + 1) }));

function recorder() {
  const lines: LogLine[] = [];
  const push = (level: string) => (msg: string, f?: Record<string, unknown>) =>
    lines.push({ level, msg, ...f });
  return {
    lines,
    log: { debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error') },
  };
}

async function artifactDir(): Promise<string> {
  return `${fileURI(mkdtempSync(path.join(os.tmpdir(), 'k2k-ckpt-')))}/model/1/`;
}

describe('checkpoints', () => {
  it('restores the weights and history of the newest complete checkpoint', async () => {
    const uri = await artifactDir();
    const trained = model(1);
    await writeCheckpoint(store, uri, 1, model(9), {
      history: history(1),
      preprocessing: {},
      optimizer: 'adam',
    });
    await writeCheckpoint(store, uri, 2, trained, {
      history: history(2),
      preprocessing: {},
      optimizer: 'adam',
    });
    const { log } = recorder();
    const cp = await loadLatestCheckpoint(store, uri, log);
    expect(cp?.epoch).toBe(2);
    expect(cp?.history).toEqual(history(2));
    const fresh = model(2);
    expect(restoreWeights(fresh, cp!)).toBeUndefined();
    for (const [i, w] of fresh.getWeights().entries()) {
      expect(Array.from(w.dataSync())).toEqual(Array.from(trained.getWeights()[i]!.dataSync()));
    }
  });

  it.each([
    [
      'a checkpoint without checkpoint.json (killed while writing)',
      async (uri: string) => {
        await store.put(`${checkpointURI(uri, 3)}weights.bin`, new Uint8Array(8));
      },
      0,
    ],
    [
      'a checkpoint whose weights do not match checkpoint.json',
      async (uri: string) => {
        await writeCheckpoint(store, uri, 3, model(3), {
          history: history(3),
          preprocessing: {},
          optimizer: 'adam',
        });
        await store.put(`${checkpointURI(uri, 3)}weights.bin`, new Uint8Array(8));
      },
      1,
    ],
  ])('ignores %s and falls back to an older one', async (_name, damage, warnings) => {
    const uri = await artifactDir();
    await writeCheckpoint(store, uri, 2, model(1), {
      history: history(2),
      preprocessing: {},
      optimizer: 'adam',
    });
    await damage(uri);
    const { lines, log } = recorder();
    expect((await loadLatestCheckpoint(store, uri, log))?.epoch).toBe(2);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(warnings);
  });

  it('refuses weights of another architecture, leaving the model untouched', async () => {
    const uri = await artifactDir();
    await writeCheckpoint(store, uri, 1, model(1, 5), {
      history: history(1),
      preprocessing: {},
      optimizer: 'adam',
    });
    const cp = await loadLatestCheckpoint(store, uri, recorder().log);
    expect(restoreWeights(model(1), cp!)).toMatch(/is 3x5 in the checkpoint, 3x4 in the model/);
  });

  it("restores the optimizer's iteration count and moments, so the next step is the one the first run would take", async () => {
    const uri = await artifactDir();
    const trained = model(1);
    const x = tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
      [1, 0, 1],
    ]);
    const y = tf.tensor2d([[1], [2], [3], [0]]);
    await trained.fit(x, y, { epochs: 3, batchSize: 2, verbose: 0 });
    await writeCheckpoint(store, uri, 3, trained, {
      history: history(3),
      preprocessing: {},
      optimizer: 'adam',
    });

    const cp = await loadLatestCheckpoint(store, uri, recorder().log);
    const fresh = model(2);
    expect(restoreWeights(fresh, cp!)).toBeUndefined();
    await restoreOptimizer(fresh, cp!.optimizer!);
    const [saved, restored] = [await trained.optimizer.getWeights(), await fresh.optimizer.getWeights()];
    expect(restored.map((w) => w.tensor.shape)).toEqual(saved.map((w) => w.tensor.shape));
    expect(Array.from(restored[0]!.tensor.dataSync())).toEqual([6]); // 3 epochs of 2 batches
    for (const [i, w] of restored.entries())
      expect(Array.from(w.tensor.dataSync())).toEqual(Array.from(saved[i]!.tensor.dataSync()));

    // One more step from each: the same weights come out.
    await trained.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    await fresh.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    for (const [i, w] of fresh.getWeights().entries())
      expect(Array.from(w.dataSync())).toEqual(Array.from(trained.getWeights()[i]!.dataSync()));
  });

  it('deletes older checkpoints or all of them', async () => {
    const uri = await artifactDir();
    for (const epoch of [1, 2, 3])
      await writeCheckpoint(store, uri, epoch, model(1), {
        history: history(epoch),
        preprocessing: {},
        optimizer: 'adam',
      });
    await deleteCheckpoints(store, uri, 3);
    expect(await listCheckpoints(store, uri)).toEqual([3]);
    await deleteCheckpoints(store, uri);
    expect(await store.list(`${uri}checkpoints/`)).toEqual([]);
  });
});

describe('earlyStoppingState', () => {
  it.each([
    ['counts epochs since the best value', [3, 2, 2.5, 2.1], { best: 2, wait: 2 }],
    ['resets on improvement', [3, 2, 1], { best: 1, wait: 0 }],
    ['treats an equal value as no improvement', [1, 1, 1], { best: 1, wait: 2 }],
    ['is empty for no history', [], { best: Number.POSITIVE_INFINITY, wait: 0 }],
  ])('%s', (_name, values, state) => {
    expect(
      earlyStoppingState(
        values.map((v, i) => ({ epoch: i + 1, val_loss: v })),
        'val_loss',
      ),
    ).toEqual(state);
  });
});
