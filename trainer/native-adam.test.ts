// NativeAdam on the native backend (its addon is built by hack/setup.sh through
// hack/build-tfjs-node.sh) against Adam computed in plain JavaScript with Keras's formula.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-node';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NativeAdam } from './native-adam.ts';

const LR = 0.01;
const B1 = 0.9;
const B2 = 0.999;
const EPS = 1e-7;

/** Keras's Adam (keras.optimizers.Adam.update_step) for one weight and its gradients, in doubles. */
function kerasAdam(w: number, grads: number[]): number {
  let m = 0;
  let v = 0;
  grads.forEach((g, i) => {
    const t = i + 1;
    m += (g - m) * (1 - B1);
    v += (g * g - v) * (1 - B2);
    w -= (m * LR * Math.sqrt(1 - B2 ** t)) / (1 - B1 ** t) / (Math.sqrt(v) + EPS);
  });
  return w;
}

beforeAll(async () => {
  tf.enableProdMode();
});

afterEach(() => {
  tf.disposeVariables();
});

/** Applies each row of gradients (one number per weight) as one step to a variable holding `start`. */
function steps(opt: tf.Optimizer, variable: tf.Variable, rows: number[][]): void {
  for (const row of rows) tf.tidy(() => opt.applyGradients({ [variable.name]: tf.tensor1d(row) }));
}

const GRADS = [
  [0.5, -2, 1e-3],
  [0.4, -1, 2e-3],
  [-0.3, 0.5, 0],
  [0.2, 3, -1e-3],
];

/** A variable of [1, 2, 3] on the native backend and a NativeAdam that has taken one step on it. */
async function afterOneStep(): Promise<{ w: tf.Variable; opt: NativeAdam }> {
  await tf.setBackend('tensorflow');
  const w = tf.variable(tf.tensor1d([1, 2, 3]));
  const opt = new NativeAdam(LR, B1, B2);
  steps(opt, w, GRADS.slice(0, 1));
  return { w, opt };
}

describe('NativeAdam', () => {
  it('on the native backend, updates weights as Keras computes Adam', async () => {
    await tf.setBackend('tensorflow');
    const start = [1, -1, 0.25];
    const w = tf.variable(tf.tensor1d(start));
    const opt = new NativeAdam(LR, B1, B2);
    steps(opt, w, GRADS);
    const want = start.map((x, i) =>
      kerasAdam(
        x,
        GRADS.map((g) => g[i]!),
      ),
    );
    const got = Array.from(await w.data());
    for (const [i, x] of got.entries()) expect(x).toBeCloseTo(want[i]!, 6);
    opt.dispose();
  });

  it('on the native backend, leaves a tensor read from the variable before a step unchanged', async () => {
    const { w, opt } = await afterOneStep();
    const before = w.clone();
    const snapshot = Array.from(await before.data());
    steps(opt, w, GRADS.slice(1, 2));
    expect(Array.from(await before.data())).toEqual(snapshot);
    expect(Array.from(await w.data())).not.toEqual(snapshot);
    before.dispose();
    opt.dispose();
  });

  it('on the native backend, continues from a value assigned to the variable between steps', async () => {
    const { w, opt } = await afterOneStep();
    w.assign(tf.tensor1d([10, 20, 30]));
    steps(opt, w, GRADS.slice(1, 2));
    // One Adam step moves each weight by about the learning rate, from the assigned value.
    for (const [i, x] of Array.from(await w.data()).entries()) {
      expect(Math.abs(x - [10, 20, 30][i]!)).toBeLessThan(2 * LR);
    }
    opt.dispose();
  });

  it('on the native backend, reports its moments as weights and frees them on dispose', async () => {
    await tf.setBackend('tensorflow');
    const w = tf.variable(tf.tensor1d([1, 2, 3]));
    const before = tf.memory().numTensors;
    const opt = new NativeAdam(LR, B1, B2);
    steps(opt, w, GRADS.slice(0, 2));
    const weights = await opt.getWeights();
    expect(weights.map((x) => x.name)).toEqual(['iter', `${w.name}/m`, `${w.name}/v`]);
    // m after two steps: (1 - B1) * (B1 * g1 + g2).
    const m = Array.from(await weights[1]!.tensor.data());
    for (const [i, x] of m.entries())
      expect(x).toBeCloseTo((1 - B1) * (B1 * GRADS[0]![i]! + GRADS[1]![i]!), 6);
    tf.dispose(weights.map((x) => x.tensor));
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('on another backend, is tfjs AdamOptimizer exactly', async () => {
    await tf.setBackend('cpu');
    const [a, b] = [tf.variable(tf.tensor1d([1, -1, 0.25])), tf.variable(tf.tensor1d([1, -1, 0.25]))];
    const [native, tfjs] = [new NativeAdam(LR, B1, B2), tf.train.adam(LR, B1, B2)];
    steps(native, a, GRADS);
    steps(tfjs, b, GRADS);
    expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
    native.dispose();
    tfjs.dispose();
  });
});
