// Finishing is idempotent, with the real trainer on tiny data against the real S3 server: a
// trainer killed after committing its artifact but before exiting is retried, and the retry ends
// as the killed attempt would have; an artifact this TrainingJob did not write stays an error and
// is never overwritten.
import { beforeAll, describe, expect, it } from 'vitest';
import { FILES, readArtifact } from '../lib/artifact/index.ts';
import type { ObjectStore } from '../lib/storage/index.ts';
import { listCheckpoints } from './checkpoints.ts';
import {
  freshBucket,
  type S3Env,
  s3FromEnv,
  storeFor,
  trainChild,
  trainerEnv,
  trainInProcess,
} from './testkit.ts';

let s3: S3Env;
let store: ObjectStore;
let bucket: string;

beforeAll(async () => {
  s3 = s3FromEnv();
  store = storeFor(s3);
  bucket = await freshBucket(s3, 'k2k-finished');
  const rows = Array.from(
    { length: 60 },
    (_, i) => `${i % 7},${(i * 3) % 11},${(i % 7) * 2 - ((i * 3) % 11)}`,
  );
  await store.put(`s3://${bucket}/data/linear.csv`, ['a,b,y', ...rows].join('\n'));
});

const trainingJob = (uid?: string) => ({ namespace: 'ml', name: 'linear', ...(uid ? { uid } : {}) });

/** A TrainingJob's trainer config (as the operator writes it) with its own output version. */
const config = (version: string, tj: ReturnType<typeof trainingJob>) => ({
  model: { name: 'linear', task: 'regression', architecture: 'regression-mlp', units: [4] },
  dataset: { format: 'csv', uri: `s3://${bucket}/data/linear.csv`, label: 'y' },
  hyperparameters: { epochs: 3, batchSize: 8 },
  output: { uri: `s3://${bucket}/models/`, version, checkpointEvery: 1 },
  backend: 'cpu',
  trainingJob: tj,
});

const uriOf = (version: string) => `s3://${bucket}/models/linear/${version}/`;
const errorCodes = (logs: Array<{ level: string; code?: unknown }>) =>
  logs.filter((l) => l.level === 'error').map((l) => l.code);

describe('a retried trainer', () => {
  it('whose earlier attempt was killed after committing the artifact exits 0 with that attempt’s result', {
    timeout: 120_000,
  }, async () => {
    const cfg = config('1', trainingJob('uid-1'));
    const first = trainChild(cfg, trainerEnv(s3));
    await first.waitForLog((l) => l.msg === 'artifact committed');
    first.kill('SIGKILL');
    const killed = await first.done;
    // The fault landed while work was in flight: no exit of its own, no termination message.
    expect(killed.code).toBe(137);
    expect(killed.termination).toBeUndefined();

    const written = await readArtifact(store, uriOf('1'));
    expect(written.manifest.trainingJob).toEqual(trainingJob('uid-1'));
    const retry = await trainInProcess(cfg, trainerEnv(s3));
    expect(retry.code, JSON.stringify(retry.logs)).toBe(0);
    expect(retry.termination).toEqual({
      artifact: { uri: uriOf('1'), version: '1', manifestSha256: written.manifestSha256 },
      metrics: written.metrics!.final,
      backend: written.manifest.framework.backend,
      // What the killed attempt trained on, as its manifest records it.
      dataset: written.manifest.dataset,
    });
    expect(written.manifest.dataset?.objects).toBeGreaterThan(0);
    expect(Object.keys(written.metrics!.final)).toContain('loss');
    // It trained nothing, left the artifact as it was and finished the killed attempt's cleanup.
    expect(retry.logs.filter((l) => l.msg === 'epoch')).toEqual([]);
    expect((await readArtifact(store, uriOf('1'))).manifestSha256).toBe(written.manifestSha256);
    expect(await listCheckpoints(store, uriOf('1'))).toEqual([]);
  });

  it('reports the same result as an attempt that was not interrupted', { timeout: 120_000 }, async () => {
    const cfg = config('2', trainingJob('uid-2'));
    const whole = await trainInProcess(cfg, trainerEnv(s3));
    expect(whole.code).toBe(0);
    const again = await trainInProcess(cfg, trainerEnv(s3));
    expect(again.code).toBe(0);
    expect(again.termination).toEqual(whole.termination);
  });

  it.each([
    {
      name: 'another TrainingJob (another uid)',
      writer: trainingJob('uid-other'),
      retry: trainingJob('uid-3'),
    },
    {
      name: 'a TrainingJob of the same name whose manifest has no uid (older trainers)',
      writer: trainingJob(),
      retry: trainingJob('uid-3'),
    },
    {
      name: 'someone, when the retry has no uid to claim it with',
      writer: trainingJob('uid-3'),
      retry: trainingJob(),
    },
  ])(
    'fails as invalid input on an artifact written by $name, and leaves it as it was',
    async ({ writer, retry }) => {
      const version = String(3 + Math.floor(Math.random() * 1e9));
      expect((await trainInProcess(config(version, writer), trainerEnv(s3))).code).toBe(0);
      const before = await readArtifact(store, uriOf(version));

      const run = await trainInProcess(config(version, retry), trainerEnv(s3));
      expect(run.code).toBe(65);
      expect(errorCodes(run.logs)).toEqual(['AlreadyExists']);
      expect(run.termination).toMatchObject({
        error: {
          code: 'AlreadyExists',
          message: expect.stringMatching(/already exists here and is immutable/),
        },
      });
      expect(JSON.stringify(run.termination)).not.toContain('uid-other');
      expect((await readArtifact(store, uriOf(version))).manifestSha256).toBe(before.manifestSha256);
    },
  );

  it('fails as invalid input on its own artifact when it does not verify, and never overwrites it', async () => {
    const cfg = config('4', trainingJob('uid-4'));
    expect((await trainInProcess(cfg, trainerEnv(s3))).code).toBe(0);
    await store.put(`${uriOf('4')}${FILES.weights}`, new Uint8Array(8));

    const run = await trainInProcess(cfg, trainerEnv(s3));
    expect(run.code).toBe(65);
    expect(errorCodes(run.logs)).toEqual(['AlreadyExists']);
    expect(run.termination).toMatchObject({
      error: { message: expect.stringMatching(/does not verify.*weights\.bin.*never overwritten/) },
    });
    expect((await store.get(`${uriOf('4')}${FILES.weights}`)).byteLength).toBe(8);
  });
});
