// The fused softmax cross-entropy on the native backend (its addon is built by hack/setup.sh
// through hack/build-tfjs-node.sh) against tfjs-layers' categorical cross-entropy.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelArtifacts } from './checkpoints.ts';
import { useFusedSoftmaxCrossEntropy } from './native-softmax-xent.ts';

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('tensorflow');
});

const values = async (t: tf.Tensor) => Array.from(await t.data());

function expectClose(got: number[], want: number[], tolerance: number): void {
  expect(got.length).toBe(want.length);
  for (const [i, x] of got.entries()) expect(Math.abs(x - want[i]!)).toBeLessThan(tolerance);
}

/** A dense classifier ending in a softmax, with fixed weights (seeded initialisers). */
function classifier(activation: 'softmax' | 'sigmoid' = 'softmax'): tf.Sequential {
  const model = tf.sequential();
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  model.add(tf.layers.dense({ inputShape: [5], units: 8, activation: 'relu', kernelInitializer: init(1) }));
  model.add(tf.layers.dense({ units: 4, activation, kernelInitializer: init(2) }));
  return model;
}

const x = () => tf.randomNormal([16, 5], 0, 2, 'float32', 3);
const oneHot = () =>
  tf.oneHot(
    tf.tensor1d(
      Array.from({ length: 16 }, (_, i) => (i * 5) % 4),
      'int32',
    ),
    4,
  );
// Soft labels (label smoothing, distillation): rows that sum to 1 without being one-hot.
const soft = () => tf.softmax(tf.randomNormal([16, 4], 0, 1, 'float32', 4));

/** The model's weights after one SGD step (learning rate 1: the step is the gradient). */
async function afterOneStep(
  model: tf.LayersModel,
  loss: string | ReturnType<typeof useFusedSoftmaxCrossEntropy>,
) {
  model.compile({ optimizer: tf.train.sgd(1), loss: loss! });
  const [xs, ys] = [x(), oneHot()];
  await model.trainOnBatch(xs, ys);
  tf.dispose([xs, ys]);
  return Promise.all(model.getWeights().map(values));
}

describe('fused softmax cross-entropy on the native backend', () => {
  it.each([
    ['one-hot labels', oneHot],
    ['soft labels', soft],
  ])('gives tfjs-layers categorical cross-entropy loss values to 1e-5 for %s', async (_case, labels) => {
    const model = classifier();
    const loss = useFusedSoftmaxCrossEntropy(model)!;
    const [p, y] = [model.predict(x()) as tf.Tensor, labels()];
    expectClose(await values(loss(y, p)), await values(tf.metrics.categoricalCrossentropy(y, p)), 1e-5);
  });

  it('trains the model as tfjs-layers categorical cross-entropy does (one SGD step, gradients to 1e-5)', async () => {
    const fused = classifier();
    const want = await afterOneStep(classifier(), 'categoricalCrossentropy');
    const got = await afterOneStep(fused, useFusedSoftmaxCrossEntropy(fused));
    for (const [i, w] of got.entries()) expectClose(w, want[i]!, 1e-5);
  });

  it('gives the softmax its own gradient back when the model is compiled with another loss', async () => {
    const model = classifier();
    useFusedSoftmaxCrossEntropy(model);
    const want = await afterOneStep(classifier(), 'meanSquaredError');
    const got = await afterOneStep(model, 'meanSquaredError');
    for (const [i, w] of got.entries()) expectClose(w, want[i]!, 1e-6);
  });

  it('saves the last layer as a plain softmax that predicts as the trained model does', async () => {
    const model = classifier();
    model.compile({ optimizer: tf.train.adam(0.01), loss: useFusedSoftmaxCrossEntropy(model)! });
    await model.fit(x(), oneHot(), { epochs: 3, batchSize: 8, verbose: 0 });
    const artifacts = await modelArtifacts(model);
    expect(JSON.stringify(artifacts.modelTopology)).toContain('"activation":"softmax"');
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    expect(await values(loaded.predict(x()) as tf.Tensor)).toEqual(
      await values(model.predict(x()) as tf.Tensor),
    );
  });

  it('leaves a model that does not end in a softmax alone', () => {
    const model = classifier('sigmoid');
    const activation = (model.layers[1] as unknown as { activation: unknown }).activation;
    expect(useFusedSoftmaxCrossEntropy(model)).toBeUndefined();
    expect((model.layers[1] as unknown as { activation: unknown }).activation).toBe(activation);
  });
});
