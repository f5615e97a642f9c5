import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend.ts';
import { forward } from './inference.ts';

// forward() must answer exactly what LayersModel.predict answers, including past predict's
// 32-row inner batches and for models with several outputs or inference-only layers.
function mlp(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ units: 16, activation: 'relu', inputShape: [8], kernelInitializer: 'glorotUniform' }),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.batchNormalization(),
      tf.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
}

function twoHeads(): tf.LayersModel {
  const input = tf.input({ shape: [8] });
  const hidden = tf.layers.dense({ units: 12, activation: 'tanh' }).apply(input) as tf.SymbolicTensor;
  const probabilities = tf.layers
    .dense({ units: 4, activation: 'softmax' })
    .apply(hidden) as tf.SymbolicTensor;
  const value = tf.layers.dense({ units: 1 }).apply(hidden) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: [probabilities, value] });
}

describe('forward', () => {
  const models = new Map<string, tf.LayersModel>();
  beforeAll(async () => {
    await initBackend('wasm');
    models.set('a sequential MLP with dropout and batch normalisation', mlp());
    models.set('a functional model with two outputs', twoHeads());
  });
  afterAll(() => {
    for (const m of models.values()) m.dispose();
  });

  it.each([
    ['a sequential MLP with dropout and batch normalisation', 1],
    ['a sequential MLP with dropout and batch normalisation', 32],
    ['a sequential MLP with dropout and batch normalisation', 70],
    ['a functional model with two outputs', 1],
    ['a functional model with two outputs', 33],
  ])('answers %s on %i rows exactly as LayersModel.predict does', (name, rows) => {
    const model = models.get(name)!;
    const x = tf.randomNormal([rows, 8], 0, 1, 'float32', 7);
    const before = tf.memory().numTensors;
    const got = tf.tidy(() => forward(model, x).map((t) => t.arraySync()));
    expect(tf.memory().numTensors).toBe(before);
    const predicted = tf.tidy(() => {
      const y = model.predict(x);
      return (Array.isArray(y) ? y : [y]).map((t) => t.arraySync());
    });
    x.dispose();
    expect(got).toHaveLength(model.outputs.length);
    for (let i = 0; i < got.length; i++) {
      const want = predicted[i] as number[][];
      expect(got[i]).toHaveLength(rows);
      (got[i] as number[][]).forEach((row, r) => {
        row.forEach((v, k) => {
          expect(v).toBeCloseTo(want[r]![k]!, 6);
        });
      });
    }
  });
});
