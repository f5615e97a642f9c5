// spec.resumeFrom against the real S3 server: a run continued from another run's artifact goes on
// at the next epoch with that run's weights and optimizer state (so it trains exactly as one
// uninterrupted run would), records where it came from, and a source it cannot continue is
// invalid input (exit 65) naming the field.
import { beforeAll, describe, expect, it } from 'vitest';
import { FILES } from '../api/artifact.ts';
import { readArtifact } from '../lib/artifact/index.ts';
import type { ObjectStore } from '../lib/storage/index.ts';
import type { RunResult } from './run.ts';
import { type S3Env, s3Fixture, trainerEnv, trainInProcess } from './testkit.ts';

let s3: S3Env;
let store: ObjectStore;
let bucket: string;

beforeAll(async () => {
  ({ s3, store, bucket } = await s3Fixture('k2k-continue'));
  // y = (2a - b + c/2) / 10 plus a little noise: a small model needs several epochs to learn it
  const rows = Array.from({ length: 240 }, (_, i) => {
    const [a, b, c] = [(i * 7) % 13, (i * 5) % 11, (i * 3) % 17];
    return `${a},${b},${c},${(2 * a - b + c / 2) / 10 + ((i * 11) % 5) / 100}`;
  });
  await store.put(`s3://${bucket}/data/linear.csv`, ['a,b,c,y', ...rows].join('\n'));
  await store.put(`s3://${bucket}/data/other.csv`, ['a,b,c,y', ...rows.slice(0, 120)].join('\n'));
});

const config = (version: string, epochs: number, extra: Record<string, unknown> = {}) => ({
  model: { name: 'linear', task: 'regression', architecture: 'regression-mlp', units: [8] },
  dataset: { format: 'csv', uri: `s3://${bucket}/data/linear.csv`, label: 'y' },
  hyperparameters: { epochs, batchSize: 8, learningRate: 0.02, optimizer: 'adam' },
  output: { uri: `s3://${bucket}/out`, version, checkpointEvery: 1 },
  backend: 'cpu',
  ...extra,
});

async function train(c: unknown) {
  let result: RunResult | undefined;
  const run = await trainInProcess(c, trainerEnv(s3), (r) => {
    result = r;
  });
  return { ...run, result };
}

const epochsLogged = (logs: { msg: string; epoch?: unknown }[]) =>
  logs.filter((l) => l.msg === 'epoch').map((l) => l.epoch);
const lossAt = (history: { epoch: number; loss?: number | null }[], epoch: number) =>
  history.find((h) => h.epoch === epoch)!.loss!;

describe('continuing a run (spec.resumeFrom)', () => {
  let source: RunResult['artifact'];

  beforeAll(async () => {
    const first = await train(config('1', 3));
    expect(first.code).toBe(0);
    source = first.result!.artifact;
  });

  it('trains epochs 4 to 6 from the 3-epoch run, exactly as one 6-epoch run trains them, and records its lineage', async () => {
    const continued = await train(
      config('2', 6, {
        resumeFrom: { artifactURI: source.uri, manifestSha256: source.manifestSha256 },
      }),
    );
    expect(continued.logs.filter((l) => l.level === 'error')).toEqual([]);
    expect(continued.code).toBe(0);
    expect(epochsLogged(continued.logs)).toEqual([4, 5, 6]);

    const uninterrupted = await train(config('3', 6));
    expect(uninterrupted.code).toBe(0);

    const from = await readArtifact(store, source.uri);
    const cont = await readArtifact(store, continued.result!.artifact.uri);
    const whole = await readArtifact(store, uninterrupted.result!.artifact.uri);
    const history = cont.metrics!.history;
    expect(history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
    // Its first three epochs are the source's, as the source recorded them.
    expect(history.slice(0, 3)).toEqual(from.metrics!.history);
    // Weights and optimizer state carried over: epoch 4 goes on from epoch 3's loss, it is not a
    // fresh start, and it matches the uninterrupted run's epoch 4 (same per-epoch shuffle).
    const fresh = lossAt(from.metrics!.history, 1);
    expect(lossAt(history, 4)).toBeLessThan(lossAt(history, 3) * 1.1);
    expect(lossAt(history, 4)).toBeLessThan(fresh / 2);
    for (const epoch of [4, 5, 6])
      expect(lossAt(history, epoch)).toBeCloseTo(lossAt(whole.metrics!.history, epoch), 4);

    expect(cont.manifest.continuedFrom).toEqual({
      uri: source.uri,
      manifestSha256: source.manifestSha256,
      epoch: 3,
    });
    expect(whole.manifest.continuedFrom).toBeUndefined();
    expect(cont.manifest.files.map((f) => f.path)).toEqual(
      expect.arrayContaining([FILES.optimizer, FILES.optimizerWeights]),
    );
    // Its checkpoints are gone once it committed, like any run's.
    expect(await store.list(`${cont.uri}checkpoints/`)).toEqual([]);
  });

  it('continues as exactly on the native backend, whose steps run as one TensorFlow graph', async () => {
    const native = (version: string, epochs: number, extra: Record<string, unknown> = {}) =>
      config(version, epochs, { backend: 'tensorflow', ...extra });
    const first = await train(native('21', 3));
    expect(first.code).toBe(0);
    // The graph's weights and Adam state go into the artifact, and come back out of it below.
    expect(first.result!.stepEngine).toBe('graph');
    const src = first.result!.artifact;
    const continued = await train(
      native('22', 6, { resumeFrom: { artifactURI: src.uri, manifestSha256: src.manifestSha256 } }),
    );
    expect(continued.code).toBe(0);
    expect(continued.result!.stepEngine).toBe('graph');
    expect(epochsLogged(continued.logs)).toEqual([4, 5, 6]);
    const uninterrupted = await train(native('23', 6));
    expect(uninterrupted.code).toBe(0);
    const history = (await readArtifact(store, continued.result!.artifact.uri)).metrics!.history;
    const whole = (await readArtifact(store, uninterrupted.result!.artifact.uri)).metrics!.history;
    for (const epoch of [4, 5, 6]) expect(lossAt(history, epoch)).toBeCloseTo(lossAt(whole, epoch), 4);
  });

  const refusals: Array<{ name: string; extra: () => Record<string, unknown>; message: RegExp }> = [
    {
      name: 'no more epochs than the source trained, naming hyperparameters.epochs',
      extra: () => ({
        resumeFrom: { artifactURI: source.uri },
        hyperparameters: { epochs: 3, batchSize: 8, learningRate: 0.02, optimizer: 'adam' },
      }),
      message: /\/hyperparameters\/epochs = 3: .*already trained 3 epochs/,
    },
    {
      name: 'another artifact than the pinned digest, naming resumeFrom.manifestSha256',
      extra: () => ({ resumeFrom: { artifactURI: source.uri, manifestSha256: '0'.repeat(64) } }),
      message: /\/resumeFrom\/manifestSha256: .* has manifest sha256 [0-9a-f]{64}, not 0{64}/,
    },
    {
      name: 'a URI with no artifact, naming resumeFrom.artifactURI',
      extra: () => ({ resumeFrom: { artifactURI: `s3://${bucket}/out/linear/999/` } }),
      message: /\/resumeFrom\/artifactURI: .*no manifest\.json/,
    },
    {
      name: 'another optimizer, naming hyperparameters.optimizer',
      extra: () => ({
        resumeFrom: { artifactURI: source.uri },
        hyperparameters: { epochs: 6, batchSize: 8, learningRate: 0.02, optimizer: 'rmsprop' },
      }),
      message: /\/hyperparameters\/optimizer = rmsprop: .*trained with the adam optimizer/,
    },
    {
      name: 'another model, naming model',
      extra: () => ({
        resumeFrom: { artifactURI: source.uri },
        model: { name: 'linear', task: 'regression', architecture: 'regression-mlp', units: [9] },
      }),
      message: /\/model: .*has another model \(weight 0 .* is 3x8 in the artifact, 3x9 in the model\)/,
    },
    {
      name: 'other data, naming dataset',
      extra: () => ({
        resumeFrom: { artifactURI: source.uri },
        dataset: { format: 'csv', uri: `s3://${bucket}/data/other.csv`, label: 'y' },
      }),
      message: /\/dataset: .*preprocessing\.json differs/,
    },
  ];

  it.each(refusals)('refuses $name with exit 65', async ({ extra }) => {
    const version = String(10 + refusals.findIndex((r) => r.extra === extra));
    const run = await train({ ...config(version, 6), ...extra() });
    expect(run.code).toBe(65);
    const { message } = refusals.find((r) => r.extra === extra)!;
    expect(run.termination).toMatchObject({
      error: { code: 'InvalidModel', message: expect.stringMatching(message) },
    });
    // Nothing that looks like a complete artifact is left behind.
    expect(await store.list(`s3://${bucket}/out/linear/${version}/manifest.json`)).toEqual([]);
  });
});
