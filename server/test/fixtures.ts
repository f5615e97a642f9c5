// Test artifacts made the way the trainer makes them: a real TensorFlow.js model saved through
// lib/artifact's writer, with preprocessing.json and a profile.json computed from synthetic
// training data. Models are untrained (random weights): serving and drift do not need accuracy.
import * as tf from '@tensorflow/tfjs';
import {
  ArtifactWriter,
  artifactURI,
  type DataProfile,
  loadModelHandler,
  type ManifestMeta,
  type Preprocessing,
  readArtifact,
  saveModelHandler,
} from '../../lib/artifact/index.ts';
import type { ObjectStore } from '../../lib/storage/index.ts';
import { eventually } from '../../test/harness/eventually.ts';
import { featureProfile } from '../../trainer/profile.ts';
import { seededRandom } from '../../trainer/random.ts';
import type { LoadedSettings } from '../config.ts';
import { tokenize } from '../model/preprocess.ts';
import { rawFloat32 } from '../model/raw-tensor.ts';

/** The trainer's seeded generator, so test data is reproducible. */
export const rng = seededRandom;

export function normal(rand: () => number): () => number {
  return () => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

/** The synthetic tabular population: feature i ~ N(mean[i], std[i]). */
export const TABULAR = {
  features: ['f0', 'f1', 'f2', 'f3'],
  mean: [0, 5, -3, 100],
  std: [1, 2, 0.5, 20],
  classNames: ['low', 'mid', 'high'],
};

export function tabularRows(n: number, seed: number, shift: number[] = [0, 0, 0, 0]): number[][] {
  const z = normal(rng(seed));
  return Array.from({ length: n }, () =>
    TABULAR.mean.map((m, i) => m + (TABULAR.std[i] as number) * z() + (shift[i] ?? 0)),
  );
}

/** The trainer's profile of one feature (trainer/profile.ts), from values in training order. */
export function binProfile(name: string, values: number[], bins = 10): DataProfile['features'][number] {
  return featureProfile({ name, values: Float64Array.from(values) }, bins);
}

function predictedClasses(model: tf.LayersModel, x: tf.Tensor): number[] {
  return tf.tidy(() => (model.predict(x) as tf.Tensor).argMax(-1).arraySync() as number[]);
}

async function write(
  store: ObjectStore,
  uri: string,
  model: tf.LayersModel,
  preprocessing: Preprocessing,
  profile: DataProfile,
  meta: ManifestMeta,
): Promise<void> {
  const writer = new ArtifactWriter(store, uri);
  await writer.assertWritable();
  await model.save(saveModelHandler(writer));
  await writer.addJSON('preprocessing.json', preprocessing);
  await writer.addJSON('profile.json', profile);
  await writer.commit(meta);
}

const framework = () => ({ name: 'tensorflow.js', version: tf.version.tfjs, backend: tf.getBackend() });

/**
 * A 4-feature, 3-class dense classifier over TABULAR with z-score normalisation. `extraFeatures`
 * makes a version that also takes these columns (N(0, 1), unprofiled): one whose input signature
 * clients of the 4-feature version do not send.
 */
export async function writeTabularArtifact(
  store: ObjectStore,
  out: string,
  model: string,
  version: string,
  { extraFeatures = [] }: { extraFeatures?: string[] } = {},
): Promise<string> {
  const features = [...TABULAR.features, ...extraFeatures];
  const mean = [...TABULAR.mean, ...extraFeatures.map(() => 0)];
  const std = [...TABULAR.std, ...extraFeatures.map(() => 1)];
  const net = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [features.length],
        units: 8,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.dense({
        units: 3,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: Number(version) % 1000 }),
      }),
    ],
  });
  const train = tabularRows(4000, 42);
  const validation = tabularRows(1000, 43).map((r) => [...r, ...extraFeatures.map(() => 0)]);
  const preprocessing: Preprocessing = {
    input: { kind: 'tabular', features, normalization: { mean, std } },
    output: { classNames: TABULAR.classNames },
  };
  const normalise = (rows: number[][]) =>
    tf.tensor2d(rows.map((r) => r.map((v, i) => (v - mean[i]!) / std[i]!)));
  const x = normalise(validation);
  const classes = predictedClasses(net, x);
  x.dispose();
  const profile: DataProfile = {
    features: TABULAR.features.map((f, i) =>
      binProfile(
        f,
        train.map((r) => r[i] as number),
      ),
    ),
    predictions: {
      kind: 'classification',
      classNames: TABULAR.classNames,
      counts: TABULAR.classNames.map((_, k) => classes.filter((c) => c === k).length),
      count: classes.length,
    },
  };
  const uri = artifactURI(out, model, version);
  await write(store, uri, net, preprocessing, profile, {
    model,
    version,
    task: 'classification',
    framework: framework(),
    inputs: [{ name: 'input', shape: [-1, features.length], datatype: 'FP32' }],
    outputs: [{ name: 'output', shape: [-1, 3], datatype: 'FP32' }],
  });
  net.dispose();
  return uri;
}

export const IMAGE_SIZE = 8;

/** Synthetic 8x8 grey images: a bright square on a dark noisy background, raw pixels 0..255. */
export function images(n: number, seed: number, brightness = 0): number[][][][] {
  const rand = rng(seed);
  return Array.from({ length: n }, () => {
    const x0 = Math.floor(rand() * 4);
    const y0 = Math.floor(rand() * 4);
    return Array.from({ length: IMAGE_SIZE }, (_, y) =>
      Array.from({ length: IMAGE_SIZE }, (_, x) => {
        const inSquare = x >= x0 && x < x0 + 4 && y >= y0 && y < y0 + 4;
        const v = (inSquare ? 200 : 20) + rand() * 30 + brightness;
        return [Math.min(255, Math.round(v))];
      }),
    );
  });
}

/** A flatten + dense 2-class image classifier over IMAGE_SIZE² pixels scaled by 1/255. */
export async function writeImageArtifact(
  store: ObjectStore,
  out: string,
  model: string,
  version: string,
): Promise<string> {
  const net = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [IMAGE_SIZE, IMAGE_SIZE, 1],
        filters: 2,
        kernelSize: 3,
        activation: 'relu',
      }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 2, activation: 'softmax' }),
    ],
  });
  const train = images(1000, 7);
  // Summaries of scaled pixels, as the trainer profiles images.
  const pixels = (img: number[][][]) => img.flat(2).map((v) => v / 255);
  const meanOf = (p: number[]) => p.reduce((s, v) => s + v, 0) / p.length;
  const inkOf = (p: number[]) => p.filter((v) => v > 0.5).length / p.length;
  const x = tf.tensor4d(train).div(255);
  const classes = predictedClasses(net, x);
  x.dispose();
  const profile: DataProfile = {
    features: [
      binProfile(
        'mean_intensity',
        train.map((img) => meanOf(pixels(img))),
      ),
      binProfile(
        'ink_fraction',
        train.map((img) => inkOf(pixels(img))),
      ),
    ],
    predictions: {
      kind: 'classification',
      classNames: ['a', 'b'],
      counts: [0, 1].map((k) => classes.filter((c) => c === k).length),
      count: classes.length,
    },
  };
  const uri = artifactURI(out, model, version);
  await write(
    store,
    uri,
    net,
    { input: { kind: 'image', imageScale: 255 }, output: { classNames: ['a', 'b'] } },
    profile,
    {
      model,
      version,
      task: 'classification',
      framework: framework(),
      inputs: [{ name: 'image', shape: [-1, IMAGE_SIZE, IMAGE_SIZE, 1], datatype: 'FP32' }],
      outputs: [{ name: 'probabilities', shape: [-1, 2], datatype: 'FP32' }],
    },
  );
  net.dispose();
  return uri;
}

export const VOCABULARY = ['<pad>', '<unk>', 'good', 'bad', 'movie', 'great', 'awful', 'plot', 'the', 'a'];

/** Embedding + average pooling + sigmoid sentiment model over VOCABULARY, maxLength 6. */
export async function writeTextArtifact(
  store: ObjectStore,
  out: string,
  model: string,
  version: string,
): Promise<string> {
  const net = tf.sequential({
    layers: [
      tf.layers.embedding({ inputDim: VOCABULARY.length, outputDim: 4, inputLength: 6 }),
      tf.layers.globalAveragePooling1d(),
      tf.layers.dense({ units: 1, activation: 'sigmoid' }),
    ],
  });
  const texts = ['good movie', 'bad plot', 'the movie was great', 'awful awful awful', 'a plot'];
  const uri = artifactURI(out, model, version);
  await write(
    store,
    uri,
    net,
    {
      input: { kind: 'text', vocabulary: VOCABULARY, maxLength: 6, lowercase: true },
      output: { classNames: ['negative', 'positive'] },
    },
    {
      features: [
        binProfile(
          'token_count',
          texts.map((t) => tokenize(t, true).length),
          3,
        ),
      ],
    },
    {
      model,
      version,
      task: 'classification',
      framework: framework(),
      inputs: [{ name: 'text', shape: [-1], datatype: 'BYTES' }],
      outputs: [{ name: 'score', shape: [-1, 1], datatype: 'FP32' }],
    },
  );
  net.dispose();
  return uri;
}

export function testSettings(modelUri: string, overrides: Partial<LoadedSettings> = {}): LoadedSettings {
  return {
    modelUri,
    modelName: 'tiny',
    track: 'stable',
    trafficFile: '',
    host: '127.0.0.1',
    port: 0,
    grpcPort: 0,
    admin: { host: '127.0.0.1', port: 0 },
    headersTimeoutSeconds: 10,
    requestTimeoutSeconds: 30,
    idleTimeoutSeconds: 120,
    maxJsonDepth: 32,
    maxJsonElements: 2_000_000,
    maxRequestRows: 8192,
    maxEventLoopDelayMs: 0,
    backend: 'wasm',
    batching: { maxBatchSize: 32, maxDelayMs: 0 },
    bodyLimitBytes: 1024 * 1024,
    pollIntervalSeconds: 0,
    loadAttempts: 1,
    loadRetrySeconds: 0,
    drift: { windowSize: 1000, minSamples: 200, psiThreshold: 0.2, ksPValueThreshold: 0.05 },
    shutdownDelaySeconds: 0,
    shutdownTimeoutSeconds: 10,
    terminationLog: '/dev/termination-log',
    logLevel: 'silent',
    ...overrides,
  };
}

/** Polls until the app reports ready (or the load failed). */
export async function waitReady(app: {
  inject: (o: { method: 'GET'; url: string }) => Promise<{ statusCode: number; body: string }>;
}) {
  await eventually(
    async () => {
      const r = await app.inject({ method: 'GET', url: '/readyz' });
      if (r.body.includes('load failed')) throw new Error(`model load failed: ${r.body}`);
      return r.statusCode === 200;
    },
    { what: 'the model to be ready', intervalMs: 50 },
  );
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition (enough for our own output: no escaped quotes in values). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparseable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return out;
}

/** The sum of the samples of `name` whose labels include `labels` (0 when there are none yet). */
export function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** The one sample of `name` whose labels include `labels`; throws if absent or ambiguous. */
export function sample(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const hits = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (hits.length !== 1)
    throw new Error(`expected one ${name}${JSON.stringify(labels)}, found ${hits.length}`);
  return hits[0]!.value;
}

/**
 * A tabular regression model (one linear output) or an autoencoder (anomaly: output = input
 * reconstruction), both over TABULAR, with the binned prediction profile the trainer writes
 * (regression outputs, or mean squared reconstruction errors in normalised space).
 */
export async function writeScoringArtifact(
  store: ObjectStore,
  out: string,
  model: string,
  version: string,
  task: 'regression' | 'anomaly',
): Promise<string> {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const net = tf.sequential({
    layers:
      task === 'regression'
        ? [
            tf.layers.dense({ inputShape: [4], units: 6, activation: 'tanh', kernelInitializer: init(3) }),
            tf.layers.dense({ units: 1, kernelInitializer: init(4) }),
          ]
        : [
            tf.layers.dense({ inputShape: [4], units: 2, activation: 'tanh', kernelInitializer: init(5) }),
            tf.layers.dense({ units: 4, kernelInitializer: init(6) }),
          ],
  });
  const train = tabularRows(2000, 42);
  const validation = tabularRows(1000, 43);
  const normalised = validation.map((r) => r.map((v, i) => (v - TABULAR.mean[i]!) / TABULAR.std[i]!));
  const y = tf.tidy(() => (net.predict(tf.tensor2d(normalised)) as tf.Tensor).arraySync() as number[][]);
  const scores =
    task === 'regression'
      ? y.map((row) => row[0]!)
      : y.map((row, r) => row.reduce((s, v, i) => s + (v - normalised[r]![i]!) ** 2, 0) / row.length);
  const binned = binProfile('prediction', scores);
  const uri = artifactURI(out, model, version);
  await write(
    store,
    uri,
    net,
    {
      input: {
        kind: 'tabular',
        features: TABULAR.features,
        normalization: { mean: TABULAR.mean, std: TABULAR.std },
      },
      output: {},
    },
    {
      features: TABULAR.features.map((f, i) =>
        binProfile(
          f,
          train.map((r) => r[i] as number),
        ),
      ),
      predictions: { kind: 'regression', edges: binned.edges, counts: binned.counts, count: binned.count },
    },
    {
      model,
      version,
      task,
      framework: framework(),
      inputs: [{ name: 'input', shape: [-1, 4], datatype: 'FP32' }],
      outputs: [
        {
          name: task === 'regression' ? 'value' : 'reconstruction',
          shape: [-1, task === 'regression' ? 1 : 4],
          datatype: 'FP32',
        },
      ],
    },
  );
  net.dispose();
  return uri;
}

/** The model's own answer for raw tabular rows, computed without the server (normalise, predict). */
export async function referencePredictions(
  store: ObjectStore,
  uri: string,
  rows: number[][],
): Promise<number[][]> {
  const model = await tf.loadLayersModel(loadModelHandler(await readArtifact(store, uri)));
  const x = tf.tensor2d(rows.map((r) => r.map((v, i) => (v - TABULAR.mean[i]!) / TABULAR.std[i]!)));
  const y = (model.predict(x) as tf.Tensor).arraySync() as number[][];
  x.dispose();
  model.dispose();
  return y;
}

/** Values as raw little-endian FP32 bytes (the binary tensor extension, raw_input_contents, tensor_content). */
export function float32LE(values: readonly number[]): Buffer {
  return rawFloat32(Float32Array.from(values));
}

/** Raw little-endian FP32 bytes as numbers. */
export function readFloat32LE(bytes: Buffer): number[] {
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
}
