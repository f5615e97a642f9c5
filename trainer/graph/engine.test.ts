// The graph engine's epoch against fit's (trainer/graph/engine.ts) on the native backend: the
// history trainLoop records (keys and values, validation included), the weights and optimizer
// state it leaves in the model, and a diverging epoch stopping at its first non-finite loss.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-node';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildArchitecture } from '../architectures/index.ts';
import { silentLogger } from '../log.ts';
import { compileModel, type LossName } from '../train.ts';
import { stepEngine } from './engine.ts';

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('tensorflow');
});

afterEach(() => {
  tf.disposeVariables();
});

type Hyperparameters = Parameters<typeof compileModel>[1];

function model(learningRate: number, loss: LossName): tf.LayersModel {
  const m = buildArchitecture('mnist-mlp', { inputShape: [8, 8, 1], numClasses: 3, units: [16], seed: 3 });
  compileModel(
    m,
    { optimizer: 'adam', learningRate, metrics: ['accuracy'] } as Hyperparameters,
    'classification',
    loss,
  );
  return m;
}

const data = (n: number, seed: number): [tf.Tensor, tf.Tensor] => [
  tf.randomUniform([n, 8, 8, 1], 0, 1, 'float32', seed),
  tf.oneHot(tf.randomUniform([n], 0, 3, 'int32', seed + 1), 3).toFloat(),
];

const close = (got: number, want: number) =>
  expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)));

describe('the graph engine', () => {
  it('records the history, weights and optimizer state fit records, over epochs with validation', async () => {
    const eagerModel = model(1e-3, 'categoricalCrossentropy');
    const graphModel = model(1e-3, 'categoricalCrossentropy');
    graphModel.setWeights(eagerModel.getWeights());
    const eager = stepEngine(eagerModel, undefined, silentLogger);
    const graph = stepEngine(graphModel, 'categoricalCrossentropy', silentLogger);
    expect(eager.name).toBe('eager (no loss name given)');
    expect(graph.name).toBe('graph');
    const [x, y] = data(70, 1); // 70 rows in batches of 32: the last batch has 6
    const validation = data(20, 5);
    const tensors: number[] = [];
    for (let epoch = 0; epoch < 3; epoch++) {
      const want = await eager.fitEpoch(x, y, { batchSize: 32, validation });
      const before = tf.memory().numTensors;
      const got = await graph.fitEpoch(x, y, { batchSize: 32, validation });
      tensors.push(tf.memory().numTensors - before);
      expect(Object.keys(got.metrics).sort()).toEqual(['acc', 'loss', 'val_acc', 'val_loss']);
      expect(Object.keys(got.metrics).sort()).toEqual(Object.keys(want.metrics).sort());
      for (const [k, v] of Object.entries(want.metrics)) close(got.metrics[k]!, v);
      expect(got.diverged).toBeUndefined();
    }
    // An epoch leaks no tensor (the first may create the optimizer's slots).
    expect(tensors.slice(1)).toEqual([0, 0]);
    // The model itself holds the graph's results between epochs (checkpoints and callbacks read it).
    for (const [k, w] of eagerModel.getWeights().entries())
      expect(tf.max(tf.abs(tf.sub(w, graphModel.getWeights()[k]!))).dataSync()[0]).toBeLessThan(1e-5);
    const [se, sg] = [await eagerModel.optimizer.getWeights(), await graphModel.optimizer.getWeights()];
    expect(sg.length).toBe(se.length);
    expect(sg[0]!.tensor.dataSync()[0]).toBe(9); // 3 epochs of 3 batches
    for (const [k, s] of se.entries())
      expect(tf.max(tf.abs(tf.sub(s.tensor, sg[k]!.tensor))).dataSync()[0]).toBeLessThan(1e-5);
    eager.dispose();
    graph.dispose();
    tf.dispose([x, y, ...validation]);
  });

  it('stops an epoch at the first batch whose loss is not finite, as fit does for trainLoop', async () => {
    const m = buildArchitecture('regression-mlp', { inputShape: [4], seed: 3 });
    compileModel(
      m,
      { optimizer: 'adam', learningRate: 1e-3, metrics: [] } as unknown as Hyperparameters,
      'regression',
      'meanSquaredError',
    );
    const engine = stepEngine(m, 'meanSquaredError', silentLogger);
    expect(engine.name).toBe('graph');
    // The second batch of four has NaN targets.
    const x = tf.randomUniform([64, 4], 0, 1, 'float32', 2);
    const y = tf.concat([tf.zeros([16, 1]), tf.fill([16, 1], Number.NaN), tf.zeros([32, 1])]);
    const result = await engine.fitEpoch(x, y, { batchSize: 16 });
    expect(result.diverged).toBeNaN();
    expect(result.metrics.loss).toBeNaN();
    // It ran the first batch and the NaN batch, and no more.
    const state = await m.optimizer.getWeights();
    expect(state[0]!.tensor.dataSync()[0]).toBe(2);
    engine.dispose();
    tf.dispose([x, y]);
  });
});
