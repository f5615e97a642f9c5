// Bad inputs, each run as its own trainer process the way a pod runs it: the exit code tells the
// Job whether to retry (65 never, 75 yes), one error line names the problem, the termination
// message carries the code, and nothing that looks like a complete artifact is left behind.

import { readFileSync } from 'node:fs';
import net from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ObjectStore } from '../lib/storage/index.ts';
import { freshBucket, type S3Env, s3FromEnv, storeFor, trainChild, trainerEnv } from './testkit.ts';

let s3: S3Env;
let store: ObjectStore;
let bucket: string;

/** A loopback port nobody listens on: bind one, note it, close it. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  s3 = s3FromEnv();
  store = storeFor(s3);
  bucket = await freshBucket(s3, 'k2k-bad');
  const rows = Array.from(
    { length: 60 },
    (_, i) => `${i % 7},${(i * 3) % 11},${i % 5},${(i * 37) % 1000}000`,
  );
  await store.put(`s3://${bucket}/data/three-features.csv`, ['a,b,c,y', ...rows].join('\n'));
  const reviews = Array.from({ length: 20 }, (_, i) =>
    JSON.stringify({ text: i % 2 ? 'good film' : 'bad film', label: i % 2 }),
  );
  await store.put(`s3://${bucket}/data/reviews.jsonl`, reviews.join('\n'));
  await store.put(`s3://${bucket}/secrets/AWS_SECRET_ACCESS_KEY`, `${SECRET}\n`);
});

/** What a mounted credentials file holds: one line, the secret itself. */
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

const base = () => ({
  model: { name: 'bad', task: 'regression', architecture: 'regression-mlp' },
  dataset: { format: 'csv', uri: `s3://${bucket}/data/three-features.csv`, label: 'y' },
  hyperparameters: { epochs: 3, batchSize: 8 },
  output: { uri: `s3://${bucket}/out`, version: '1', checkpointEvery: 1 },
  backend: 'cpu',
});

type Config = ReturnType<typeof base> & Record<string, unknown>;
const keras2Iris = JSON.parse(
  readFileSync(new URL('testdata/keras2-iris-mlp.json', import.meta.url), 'utf8'),
);

const cases: Array<{
  name: string;
  config: (c: Config) => unknown;
  env?: (env: Record<string, string>) => Record<string, string>;
  exit: 65 | 75;
  code: string;
  message: RegExp;
}> = [
  {
    name: 'an unreadable dataset URI is invalid input naming the URI',
    config: (c) => ({ ...c, dataset: { ...c.dataset, uri: `s3://${bucket}/data/missing.csv` } }),
    exit: 65,
    code: 'DatasetUnreadable',
    message: /cannot read the dataset: .*s3:\/\/k2k-bad-[0-9a-f]+\/data\/missing\.csv/,
  },
  {
    name: 'a topology whose input does not fit the data is a shape mismatch naming both shapes',
    config: (c) => ({
      ...c,
      model: { name: 'bad', task: 'classification', topology: keras2Iris },
      dataset: { ...c.dataset, label: 'c' },
    }),
    exit: 65,
    code: 'ShapeMismatch',
    message: /input shape \[null, 4\] does not match the data's \[null, 3\]/,
  },
  {
    name: 'a loss that becomes NaN is invalid input advising a lower learning rate',
    config: (c) => ({
      ...c,
      dataset: { ...c.dataset, normalize: false },
      hyperparameters: { ...c.hyperparameters, optimizer: 'sgd', learningRate: 10 },
    }),
    exit: 65,
    code: 'LossNaN',
    message: /loss became (NaN|infinite) at epoch \d+; lower learningRate/,
  },
  {
    name: 'an explicit backend that cannot train the model is invalid input naming the missing kernel',
    config: (c) => ({
      ...c,
      model: { name: 'bad', architecture: 'lstm-text' },
      dataset: {
        format: 'jsonl',
        uri: `s3://${bucket}/data/reviews.jsonl`,
        label: 'label',
        vocabularySize: 10,
        maxLength: 4,
      },
      backend: 'wasm',
    }),
    exit: 65,
    code: 'BackendUnavailable',
    message:
      /backend "wasm" cannot train this model: it has no UnsortedSegmentSum kernel; use backend "auto" or "cpu"/,
  },
  {
    name: 'missing storage credentials are invalid input',
    config: (c) => c,
    env: ({ AWS_ACCESS_KEY_ID: _a, AWS_SECRET_ACCESS_KEY: _s, ...env }) => env,
    exit: 65,
    code: 'StorageDenied',
    message: /AWS_ACCESS_KEY_ID/,
  },
  {
    name: 'wrong storage credentials are invalid input',
    config: (c) => c,
    env: (env) => ({ ...env, AWS_SECRET_ACCESS_KEY: 'not-the-secret' }),
    exit: 65,
    code: 'StorageDenied',
    message: /object storage: /,
  },
  {
    name: 'unknown hyperparameters are invalid input naming the field',
    config: (c) => ({ ...c, hyperparameters: { ...c.hyperparameters, learningrate: 0.1 } }),
    exit: 65,
    code: 'InvalidConfig',
    message: /\/hyperparameters\/learningrate: unknown field/,
  },
  {
    name: 'out-of-range hyperparameters are invalid input naming field and value',
    config: (c) => ({ ...c, hyperparameters: { ...c.hyperparameters, validationSplit: 1.5 } }),
    exit: 65,
    code: 'InvalidConfig',
    message: /\/hyperparameters\/validationSplit = 1\.5: must be < 1/,
  },
];

describe('the trainer process on bad input', () => {
  it('retries (75) when storage is unreachable, with one error line naming the endpoint', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const run = await trainChild(base(), trainerEnv(s3, { AWS_ENDPOINT_URL_S3: endpoint })).done;
    const errors = run.logs.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe('StorageUnavailable');
    expect(errors[0]!.msg).toContain(endpoint);
    expect(run.code).toBe(75);
    expect(run.termination).toEqual({ error: { code: 'StorageUnavailable', message: errors[0]!.msg } });
  });

  it.each(cases)('$name (exit $exit)', async ({ config, env, exit, code, message }) => {
    const vars = trainerEnv(s3);
    const run = await trainChild(config(base() as Config), env ? env(vars) : vars).done;
    const errors = run.logs.filter((l) => l.level === 'error');
    expect(errors, run.stderr).toHaveLength(1);
    expect(errors[0]!.code).toBe(code);
    expect(errors[0]!.msg).toMatch(message);
    expect(run.code).toBe(exit);
    expect(run.termination).toEqual({ error: { code, message: errors[0]!.msg } });
    expect((await store.list(`s3://${bucket}/out/`)).filter((u) => u.endsWith('manifest.json'))).toEqual([]);
  });

  const secretFile = () => `s3://${bucket}/secrets/AWS_SECRET_ACCESS_KEY`;
  it.each<[string, (c: Config) => unknown, RegExp]>([
    [
      'a CSV dataset',
      (c) => ({ ...c, dataset: { ...c.dataset, uri: secretFile() } }),
      /label column "y" is not in the header \(1 columns\)/,
    ],
    [
      'a JSONL dataset',
      (c) => ({
        ...c,
        model: { name: 'bad', task: 'classification', architecture: 'lstm-text' },
        dataset: { format: 'jsonl', uri: secretFile(), label: 'label' },
      }),
      /line 1: not valid JSON/,
    ],
    [
      'a topology',
      (c) => ({ ...c, model: { name: 'bad', task: 'regression', topologyURI: secretFile() } }),
      /AWS_SECRET_ACCESS_KEY: not valid JSON/,
    ],
    [
      'the service-account token as a file:// dataset',
      (c) => ({
        ...c,
        dataset: { ...c.dataset, uri: 'file:///var/run/secrets/kubernetes.io/serviceaccount/token' },
      }),
      /names a path under \/var\/run\/secrets/,
    ],
  ])('fails as invalid input without quoting a secret file given as %s', async (_name, config, message) => {
    const run = await trainChild(config(base() as Config), trainerEnv(s3)).done;
    expect(run.code, run.stderr).toBe(65);
    const said = JSON.stringify([run.logs, run.termination]);
    expect((run.termination as { error: { message: string } }).error.message).toMatch(message);
    expect(said).not.toContain(SECRET.slice(0, 8));
    expect(said).not.toContain('EXAMPLEKEY');
  });
});
