// NativeAdam on the native backend (its addon is built by hack/setup.sh through
// hack/build-tfjs-node.sh) against tfjs's own AdamOptimizer: the same steps, the same optimizer
// state, the same trained models.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-node';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { modelArtifacts } from './checkpoints.ts';
import { NativeAdam } from './native-adam.ts';

const LR = 0.01;
const B1 = 0.9;
const B2 = 0.999;

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('tensorflow');
});

afterEach(() => {
  tf.disposeVariables();
});

type NamedTensor = { name: string; tensor: tf.Tensor };

/** Applies each row of gradients (one number per weight) as one step to a variable. */
function steps(opt: tf.Optimizer, variable: tf.Variable, rows: number[][]): void {
  for (const row of rows) tf.tidy(() => opt.applyGradients({ [variable.name]: tf.tensor1d(row) }));
}

const GRADS = [
  [0.5, -2, 1e-3],
  [0.4, -1, 2e-3],
  [-0.3, 0.5, 0],
  [0.2, 3, -1e-3],
];
const START = [1, -1, 0.25];

const values = async (t: tf.Tensor) => Array.from(await t.data());

function expectClose(got: number[], want: number[], digits = 6): void {
  expect(got.length).toBe(want.length);
  for (const [i, x] of got.entries()) expect(x).toBeCloseTo(want[i]!, digits);
}

/** An optimizer's state as plain numbers, named: what a checkpoint keeps of it. */
async function stateOf(opt: tf.Optimizer): Promise<Array<{ name: string; values: number[] }>> {
  const weights = await opt.getWeights();
  const out = await Promise.all(weights.map(async (w) => ({ name: w.name, values: await values(w.tensor) })));
  weights[0]!.tensor.dispose();
  return out;
}

/** A copy of an optimizer's state that outlives it, as a checkpoint decoded from storage is. */
async function savedState(opt: tf.Optimizer): Promise<NamedTensor[]> {
  return (await opt.getWeights()).map((w, i) => ({
    name: w.name,
    tensor: i === 0 ? w.tensor : w.tensor.clone(),
  }));
}

/** A variable holding START and a NativeAdam that has taken one step on it. */
function afterOneStep(): { w: tf.Variable; opt: NativeAdam } {
  const w = tf.variable(tf.tensor1d(START));
  const opt = new NativeAdam(LR, B1, B2);
  steps(opt, w, GRADS.slice(0, 1));
  return { w, opt };
}

describe('NativeAdam', () => {
  it('on the native backend, updates weights as tfjs AdamOptimizer does', async () => {
    const [a, b] = [tf.variable(tf.tensor1d(START)), tf.variable(tf.tensor1d(START))];
    const [native, tfjs] = [new NativeAdam(LR, B1, B2), tf.train.adam(LR, B1, B2)];
    steps(native, a, GRADS);
    steps(tfjs, b, GRADS);
    expectClose(await values(a), await values(b));
    native.dispose();
    tfjs.dispose();
  });

  it('on the native backend, leaves a tensor read from the variable before a step unchanged', async () => {
    const { w, opt } = afterOneStep();
    const before = w.clone();
    const snapshot = await values(before);
    steps(opt, w, GRADS.slice(1, 2));
    expect(await values(before)).toEqual(snapshot);
    expect(await values(w)).not.toEqual(snapshot);
    before.dispose();
    opt.dispose();
  });

  it('on the native backend, continues from a value assigned to the variable between steps', async () => {
    const { w, opt } = afterOneStep();
    w.assign(tf.tensor1d([10, 20, 30]));
    steps(opt, w, GRADS.slice(1, 2));
    // One Adam step moves each weight by about the learning rate, from the assigned value.
    for (const [i, x] of (await values(w)).entries())
      expect(Math.abs(x - [10, 20, 30][i]!)).toBeLessThan(2 * LR);
    opt.dispose();
  });

  it('on the native backend, reports its state in tfjs AdamOptimizer layout and values', async () => {
    const [a, b] = [tf.variable(tf.tensor1d(START)), tf.variable(tf.tensor1d(START))];
    const [native, tfjs] = [new NativeAdam(LR, B1, B2), tf.train.adam(LR, B1, B2)];
    steps(native, a, GRADS.slice(0, 2));
    steps(tfjs, b, GRADS.slice(0, 2));
    const [got, want] = [await stateOf(native), await stateOf(tfjs)];
    expect(got.map((w) => w.name)).toEqual(['iter', `${a.name}/m`, `${a.name}/v`]);
    expect(want.map((w) => w.name)).toEqual(['iter', `${b.name}/m`, `${b.name}/v`]);
    for (const [i, w] of got.entries()) expectClose(w.values, want[i]!.values);
    native.dispose();
    tfjs.dispose();
  });

  it.each([
    ['tfjs AdamOptimizer', 'NativeAdam', () => tf.train.adam(LR, B1, B2), () => new NativeAdam(LR, B1, B2)],
    ['NativeAdam', 'tfjs AdamOptimizer', () => new NativeAdam(LR, B1, B2), () => tf.train.adam(LR, B1, B2)],
  ])(
    'on the native backend, a state saved by %s continues in %s as the first would have stepped',
    async (_from, _to, first, second) => {
      const [w, reference] = [tf.variable(tf.tensor1d(START)), tf.variable(tf.tensor1d(START))];
      const [saver, continuous] = [first(), tf.train.adam(LR, B1, B2)];
      steps(saver, w, GRADS.slice(0, 2));
      steps(continuous, reference, GRADS);
      const state = await savedState(saver);
      saver.dispose();
      const resumed = second();
      await resumed.setWeights(state);
      tf.dispose(state.map((s) => s.tensor));
      steps(resumed, w, GRADS.slice(2));
      expect(resumed.iterations).toBe(GRADS.length);
      expectClose(await values(w), await values(reference));
      resumed.dispose();
      continuous.dispose();
    },
  );

  it('on the native backend, frees its TensorFlow variables and reads on dispose', async () => {
    const w = tf.variable(tf.tensor1d(START));
    const before = tf.memory().numTensors;
    const opt = new NativeAdam(LR, B1, B2);
    steps(opt, w, GRADS.slice(0, 2));
    const weights = await opt.getWeights();
    tf.dispose(weights.map((x) => x.tensor));
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('on another backend, is tfjs AdamOptimizer exactly', async () => {
    await tf.setBackend('cpu');
    try {
      const [a, b] = [tf.variable(tf.tensor1d(START)), tf.variable(tf.tensor1d(START))];
      const [native, tfjs] = [new NativeAdam(LR, B1, B2), tf.train.adam(LR, B1, B2)];
      steps(native, a, GRADS);
      steps(tfjs, b, GRADS);
      expect(await values(a)).toEqual(await values(b));
      native.dispose();
      tfjs.dispose();
    } finally {
      await tf.setBackend('tensorflow');
    }
  });
});

/** A small model of each kind the trainer builds Adam-trained layers from, with data to fit. */
const MODELS = {
  'an LSTM text classifier': () => {
    const model = tf.sequential();
    model.add(tf.layers.embedding({ inputDim: 20, outputDim: 8, inputLength: 6 }));
    model.add(tf.layers.lstm({ units: 8 }));
    model.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
    const x = tf.tensor2d(
      Array.from({ length: 48 * 6 }, (_, i) => (i * 7) % 20),
      [48, 6],
    );
    const y = tf.tensor2d(
      Array.from({ length: 48 }, (_, i) => i % 2),
      [48, 1],
    );
    return { model, x, y, loss: 'binaryCrossentropy' };
  },
  'a dense classifier': () => {
    const model = tf.sequential();
    model.add(tf.layers.dense({ inputShape: [6], units: 16, activation: 'relu' }));
    model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
    const x = tf.randomNormal([48, 6], 0, 1, 'float32', 7);
    const y = tf.oneHot(
      tf.tensor1d(
        Array.from({ length: 48 }, (_, i) => i % 3),
        'int32',
      ),
      3,
    );
    return { model, x, y, loss: 'categoricalCrossentropy' };
  },
};

describe.each(Object.entries(MODELS))('NativeAdam training %s', (_kind, make) => {
  it('saves the weights it trained: the reloaded model predicts what the trained one did', async () => {
    const { model, x, y, loss } = make();
    model.compile({ optimizer: new NativeAdam(LR, B1, B2), loss });
    await model.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0, shuffle: false });
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(await modelArtifacts(model)));
    const [trained, reloaded] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
    expect(await values(reloaded)).toEqual(await values(trained));
    tf.dispose([trained, reloaded, x, y]);
    model.optimizer.dispose();
  });

  it('ends with the weights tfjs AdamOptimizer trains from the same start', async () => {
    const a = make();
    const b = make();
    b.model.setWeights(a.model.getWeights());
    a.model.compile({ optimizer: new NativeAdam(LR, B1, B2), loss: a.loss });
    b.model.compile({ optimizer: tf.train.adam(LR, B1, B2), loss: b.loss });
    for (const { model } of [a, b])
      await model.fit(a.x, a.y, { epochs: 2, batchSize: 8, verbose: 0, shuffle: false });
    for (const [i, w] of a.model.getWeights().entries())
      expectClose(await values(w), await values(b.model.getWeights()[i]!), 4);
    tf.dispose([a.x, a.y, b.x, b.y]);
    a.model.optimizer.dispose();
    b.model.optimizer.dispose();
  });
});
