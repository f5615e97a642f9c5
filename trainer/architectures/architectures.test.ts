import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ARCHITECTURES } from '../../api/training.ts';
import type { PreparedDataset } from '../datasets/index.ts';
import { TrainerError } from '../errors.ts';
import { encodeTargets } from '../train.ts';
import { architectures, buildArchitecture } from './index.ts';

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

const shapes = (m: tf.LayersModel) => ({ input: m.inputs[0]!.shape, output: m.outputs[0]!.shape });

describe('the architecture registry', () => {
  it('has one entry per architecture of the CRD enum, each under its own name', () => {
    expect(Object.keys(architectures).sort()).toEqual([...ARCHITECTURES].sort());
    for (const [key, architecture] of Object.entries(architectures)) expect(architecture.name).toBe(key);
  });
});

describe('buildArchitecture', () => {
  it.each([
    [
      'mnist-mlp',
      { inputShape: [28, 28, 1], numClasses: 10 },
      [null, 28, 28, 1],
      [null, 10],
      ['Flatten', 'Dense', 'Dense'],
    ],
    [
      'mnist-mlp',
      { inputShape: [4], numClasses: 3, units: [8, 8] },
      [null, 4],
      [null, 3],
      ['Reshape', 'Dense', 'Dense', 'Dense'],
    ],
    [
      'cnn',
      { inputShape: [28, 28, 1], numClasses: 10 },
      [null, 28, 28, 1],
      [null, 10],
      ['Conv2D', 'MaxPooling2D', 'Flatten', 'Dense'],
    ],
    [
      'lstm-text',
      { inputShape: [20], numClasses: 2, vocabularySize: 50 },
      [null, 20],
      [null, 1],
      ['Embedding', 'LSTM', 'Dense'],
    ],
    [
      'lstm-text',
      { inputShape: [20], numClasses: 4, vocabularySize: 50 },
      [null, 20],
      [null, 4],
      ['Embedding', 'LSTM', 'Dense'],
    ],
    [
      'autoencoder',
      { inputShape: [8] },
      [null, 8],
      [null, 8],
      ['Reshape', 'Dense', 'Dense', 'Dense', 'Dense'],
    ],
    [
      'autoencoder',
      { inputShape: [4, 4, 1], units: [6, 3] },
      [null, 4, 4, 1],
      [null, 4, 4, 1],
      ['Flatten', 'Dense', 'Dense', 'Dense', 'Dense', 'Reshape'],
    ],
    ['regression-mlp', { inputShape: [3] }, [null, 3], [null, 1], ['Reshape', 'Dense', 'Dense', 'Dense']],
  ] as const)('builds %s for %j', (name, opts, input, output, layers) => {
    const m = buildArchitecture(name, {
      ...opts,
      units: 'units' in opts ? [...opts.units] : undefined,
      inputShape: [...opts.inputShape],
      seed: 1,
    });
    expect(shapes(m)).toEqual({ input, output });
    expect(m.layers.map((l) => l.getClassName())).toEqual(layers);
  });

  it('gives the same weights for the same seed and different ones for another', async () => {
    const w = (seed: number) =>
      buildArchitecture('regression-mlp', { inputShape: [3], seed })
        .getWeights()[0]!
        .dataSync();
    expect(Array.from(w(5))).toEqual(Array.from(w(5)));
    expect(Array.from(w(5))).not.toEqual(Array.from(w(6)));
  });

  it('refuses a classifier with fewer than 2 classes', () => {
    expect(() => buildArchitecture('mnist-mlp', { inputShape: [4], numClasses: 1, seed: 1 })).toThrow(
      /at least 2 classes, got 1/,
    );
  });
});

describe('encodeTargets', () => {
  const data = (over: Partial<PreparedDataset>): PreparedDataset => ({
    kind: 'tabular',
    sampleShape: [4],
    train: {
      n: 2,
      x: new Float32Array(8),
      classes: Int32Array.from([0, 2]),
      targets: Float32Array.from([1, 2]),
    },
    validation: {
      n: 1,
      x: new Float32Array(4),
      classes: Int32Array.from([1]),
      targets: Float32Array.from([3]),
    },
    classNames: ['a', 'b', 'c'],
    input: { kind: 'tabular', features: ['a', 'b', 'c', 'd'], normalization: null },
    profileColumns: [],
    ...over,
  });
  const mlp = (classes: number, inputShape = [4]) =>
    buildArchitecture('mnist-mlp', { inputShape, numClasses: classes, units: [4], seed: 1 });

  it('one-hot encodes classes for a softmax output', () => {
    const t = encodeTargets(mlp(3), data({}), 'classification', 'categoricalCrossentropy');
    expect(t.shape).toEqual([3]);
    expect(Array.from(t.train)).toEqual([1, 0, 0, 0, 0, 1]);
  });

  it('uses class indices for sparseCategoricalCrossentropy', () => {
    const t = encodeTargets(mlp(3), data({}), 'classification', 'sparseCategoricalCrossentropy');
    expect(Array.from(t.train)).toEqual([0, 2]);
  });

  it('uses the input as the target of an autoencoder', () => {
    const m = buildArchitecture('autoencoder', { inputShape: [4], seed: 1 });
    const d = data({ classNames: undefined });
    expect(encodeTargets(m, d, 'anomaly', 'meanSquaredError').train).toBe(d.train.x);
  });

  it.each([
    [
      'an input shape that differs from the data',
      () => encodeTargets(mlp(3, [5]), data({}), 'classification', 'categoricalCrossentropy'),
      /input shape \[null, 5\] does not match the data's \[null, 4\]/,
    ],
    [
      'an output with the wrong number of classes',
      () => encodeTargets(mlp(4), data({}), 'classification', 'categoricalCrossentropy'),
      /output shape \[null, 4\] does not match the targets: 3 classes need an output of shape \[null, 3\]/,
    ],
    [
      'a regression model with several outputs',
      () => encodeTargets(mlp(3), data({}), 'regression', 'meanSquaredError'),
      /regression predicts one number per row/,
    ],
  ])('reports %s naming both shapes', (_name, f, message) => {
    let err: unknown;
    try {
      f();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TrainerError);
    expect((err as TrainerError).code).toBe('ShapeMismatch');
    expect((err as Error).message).toMatch(message);
  });
});
