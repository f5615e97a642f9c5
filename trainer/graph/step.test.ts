// The graph step (trainer/graph/step.ts) on the native backend against tfjs's eager step, the
// one the trainer ran before: the same start, the same batches, the same losses, weights and
// optimizer state after several steps; and the models it cannot express fall back, saying why.
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-node';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildArchitecture } from '../architectures/index.ts';
import { silentLogger } from '../log.ts';
import { nativeBackend } from '../native-binding.ts';
import { compileModel, type LossName } from '../train.ts';
import { stepEngine } from './engine.ts';
import { GraphStep, graphStepUnsupported } from './step.ts';

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('tensorflow');
});

afterEach(() => {
  tf.disposeVariables();
});

type Optimizer = 'adam' | 'sgd';

interface Case {
  build: () => tf.LayersModel;
  loss: LossName;
  optimizer: Optimizer;
  metrics: Array<'accuracy'>;
  /** Targets for a batch of inputs. */
  targets: (x: tf.Tensor, seed: number) => tf.Tensor;
  inputShape: number[];
}

const oneHot = (classes: number) => (x: tf.Tensor, seed: number) =>
  tf.oneHot(tf.randomUniform([x.shape[0]!], 0, classes, 'int32', seed), classes).toFloat();
const uniform = (shape: number[]) => (x: tf.Tensor, seed: number) =>
  tf.randomUniform([x.shape[0]!, ...shape], 0, 1, 'float32', seed);

function sequential(layers: tf.layers.Layer[]): tf.LayersModel {
  const model = tf.sequential();
  for (const l of layers) model.add(l);
  return model;
}

const CASES: Record<string, Case> = {
  'the MNIST MLP with Adam and categorical cross-entropy': {
    build: () => buildArchitecture('mnist-mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 }),
    loss: 'categoricalCrossentropy',
    optimizer: 'adam',
    metrics: ['accuracy'],
    targets: oneHot(10),
    inputShape: [28, 28, 1],
  },
  'the CNN with Adam and categorical cross-entropy': {
    build: () => buildArchitecture('cnn', { inputShape: [12, 12, 1], numClasses: 4, seed: 1 }),
    loss: 'categoricalCrossentropy',
    optimizer: 'adam',
    metrics: ['accuracy'],
    targets: oneHot(4),
    inputShape: [12, 12, 1],
  },
  'an MLP with SGD': {
    build: () =>
      sequential([
        tf.layers.dense({ inputShape: [6], units: 8, activation: 'tanh' }),
        tf.layers.dense({ units: 3, activation: 'softmax' }),
      ]),
    loss: 'categoricalCrossentropy',
    optimizer: 'sgd',
    metrics: ['accuracy'],
    targets: oneHot(3),
    inputShape: [6],
  },
  'the regression MLP with mean squared error': {
    build: () => buildArchitecture('regression-mlp', { inputShape: [5], seed: 1 }),
    loss: 'meanSquaredError',
    optimizer: 'adam',
    metrics: [],
    targets: uniform([1]),
    inputShape: [5],
  },
  'the autoencoder (sigmoid and Reshape) with mean squared error': {
    build: () => buildArchitecture('autoencoder', { inputShape: [4, 4, 1], seed: 1 }),
    loss: 'meanSquaredError',
    optimizer: 'adam',
    metrics: [],
    targets: (x) => x.clone(),
    inputShape: [4, 4, 1],
  },
  'a sigmoid classifier with binary cross-entropy and accuracy': {
    build: () =>
      sequential([
        tf.layers.dense({ inputShape: [6], units: 8, activation: 'relu' }),
        tf.layers.dense({ units: 1, activation: 'sigmoid', useBias: false }),
      ]),
    loss: 'binaryCrossentropy',
    optimizer: 'adam',
    metrics: ['accuracy'],
    targets: (x, seed) => tf.randomUniform([x.shape[0]!, 1], 0, 2, 'int32', seed).toFloat(),
    inputShape: [6],
  },
  'a model with a frozen first layer': {
    build: () => {
      const m = sequential([
        tf.layers.dense({ inputShape: [6], units: 8, activation: 'relu' }),
        tf.layers.dense({ units: 8, activation: 'sigmoid' }),
        tf.layers.dense({ units: 3, activation: 'softmax' }),
      ]);
      m.layers[0]!.trainable = false;
      return m;
    },
    loss: 'categoricalCrossentropy',
    optimizer: 'adam',
    metrics: ['accuracy'],
    targets: oneHot(3),
    inputShape: [6],
  },
};

function compiled(c: Case): tf.LayersModel {
  const model = c.build();
  compileModel(
    model,
    { optimizer: c.optimizer, learningRate: 0.001, metrics: c.metrics } as Parameters<typeof compileModel>[1],
    c.metrics.length > 0 ? 'classification' : 'regression',
    c.loss,
  );
  return model;
}

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe('the graph step', () => {
  it.each(Object.keys(CASES))(
    'gives the eager step’s losses, weights and optimizer state for %s',
    async (name) => {
      const c = CASES[name]!;
      const eager = compiled(c);
      const graph = compiled(c);
      graph.setWeights(eager.getWeights());
      expect(graphStepUnsupported(graph, c.loss)).toBeUndefined();
      const step = GraphStep.create(nativeBackend()!, graph, c.loss);
      await step.begin();
      for (let i = 0; i < 5; i++) {
        // Batches of different sizes, as an epoch's last one is.
        const x = tf.randomUniform([i === 4 ? 5 : 16, ...c.inputShape], 0, 1, 'float32', 100 + i);
        const y = c.targets(x, 200 + i);
        const want = (await eager.trainOnBatch(x, y)) as number | number[];
        const got = step.trainOnBatch(x, y);
        const gotValues = got.map((t) => t.dataSync()[0]!);
        tf.dispose([x, y, ...got]);
        const wantValues = Array.isArray(want) ? want : [want];
        expect(gotValues.length).toBe(wantValues.length);
        // To float rounding: 1e-5 relative (a loss can be far above 1 on random data).
        for (const [k, v] of wantValues.entries())
          expect(Math.abs(gotValues[k]! - v)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(v)));
      }
      await step.end();
      step.dispose();
      const [we, wg] = [eager.getWeights(), graph.getWeights()];
      for (const [k, w] of we.entries()) expect(maxAbsDiff(w, wg[k]!)).toBeLessThan(1e-5);
      const [se, sg] = [await eager.optimizer.getWeights(), await graph.optimizer.getWeights()];
      // Named after each model's own layers: the same but for the layer's unique name.
      const suffix = (n: string) => n.split('/').slice(1).join('/');
      expect(sg.map((s) => suffix(s.name))).toEqual(se.map((s) => suffix(s.name)));
      for (const [k, s] of se.entries()) expect(maxAbsDiff(s.tensor, sg[k]!.tensor)).toBeLessThan(1e-5);
      eager.dispose();
      graph.dispose();
    },
  );

  it.each([
    [
      'an LSTM',
      () => buildArchitecture('lstm-text', { inputShape: [8], numClasses: 2, vocabularySize: 20, seed: 1 }),
      'binaryCrossentropy',
      'adam',
      /layer (Embedding|LSTM)/,
    ],
    [
      'an optimizer without a graph',
      () => buildArchitecture('regression-mlp', { inputShape: [5], seed: 1 }),
      'meanSquaredError',
      'rmsprop',
      /optimizer RMSProp/,
    ],
    [
      'a loss without a graph',
      () => buildArchitecture('regression-mlp', { inputShape: [5], seed: 1 }),
      'huber',
      'adam',
      /loss huber/,
    ],
    [
      'categorical cross-entropy on an output that is not a softmax',
      () => sequential([tf.layers.dense({ inputShape: [4], units: 3, activation: 'sigmoid' })]),
      'categoricalCrossentropy',
      'adam',
      /without a softmax output/,
    ],
    [
      'categorical cross-entropy over the last axis of a rank-4 output',
      () =>
        sequential([
          tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 3, kernelSize: 1, activation: 'softmax' }),
        ]),
      'categoricalCrossentropy',
      'adam',
      /on an output of rank above 2/,
    ],
    [
      'a regularized layer',
      () =>
        sequential([
          tf.layers.dense({ inputShape: [4], units: 1, kernelRegularizer: tf.regularizers.l2({ l2: 0.1 }) }),
        ]),
      'meanSquaredError',
      'adam',
      /kernelRegularizer on layer/,
    ],
  ] as const)('falls back to fit for %s, saying why', (_name, build, loss, optimizer, reason) => {
    const model = build();
    compileModel(
      model,
      { optimizer, learningRate: 0.01, metrics: [] } as unknown as Parameters<typeof compileModel>[1],
      'regression',
      loss,
    );
    const logged: Array<Record<string, unknown>> = [];
    const engine = stepEngine(model, loss, {
      ...silentLogger,
      info: (_m: string, f?: Record<string, unknown>) => void logged.push(f ?? {}),
    });
    expect(engine.name).toMatch(/^eager \(/);
    expect(engine.name).toMatch(reason);
    expect(logged).toEqual([{ engine: engine.name }]);
    engine.dispose();
    model.dispose();
  });

  it('leaves no SavedModel behind in the temp directory', () => {
    const ours = () => readdirSync(tmpdir()).filter((f) => f.startsWith('k2k-graph-')).length;
    const before = ours();
    const model = compiled(CASES['an MLP with SGD']!);
    const step = GraphStep.create(nativeBackend()!, model, 'categoricalCrossentropy');
    expect(ours()).toBe(before);
    step.dispose();
    model.dispose();
  });
});
