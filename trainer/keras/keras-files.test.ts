// Models saved by real Keras (test/fixtures/keras/make.py: Keras 3 and Keras 2, made on demand
// by hack/keras-fixtures.sh) give the same predictions in k2k as in Keras, from every file kind
// a Keras user has; what TensorFlow.js cannot compute is refused naming the layer and its class.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TrainerExitCode } from '../../api/trainer.ts';
import {
  type KerasFixtures,
  type KerasPredictions,
  kerasFixtures,
} from '../../test/harness/keras-fixtures.ts';
import { TrainerError } from '../errors.ts';
import { modelFromKerasFile } from './load.ts';
import { modelFromTopology } from './topology.ts';

/**
 * float32 round-off between TensorFlow's and TensorFlow.js's kernels (measured: at most 4.8e-7,
 * on the 512-unit MLP); a weight in the wrong place is off by more than 1e-2.
 */
const TOLERANCE = 1e-5;

let fixtures: KerasFixtures;

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
  fixtures = await kerasFixtures();
}, 900_000);

/** The largest absolute difference between the model's predictions and Keras's. */
function maxDifference(model: tf.LayersModel, p: KerasPredictions, keras: number[]): number {
  return tf.tidy(() => {
    const dtype = p.input.dtype.startsWith('int') ? 'int32' : 'float32';
    const y = model.predict(tf.tensor(p.input.data, p.input.shape, dtype)) as tf.Tensor;
    expect(y.shape).toEqual(p.output.shape);
    return tf.max(tf.abs(tf.sub(y, tf.tensor(keras, p.output.shape)))).dataSync()[0]!;
  });
}

const MODELS = [
  'mnist-mlp',
  'cnn',
  'lstm-text',
  'autoencoder',
  'regression-mlp',
  'custom-functional',
  'custom-gru',
  'custom-nested',
];

describe('a model saved by Keras predicts as it did in Keras', () => {
  it('covers every model the fixture script wrote', () => {
    expect(fixtures.models).toEqual(MODELS);
  });

  it.each(
    MODELS.flatMap((model) => [
      [model, '.keras', 'keras3'],
      [model, '.keras3.h5', 'keras3'],
      [model, '.keras2.h5', 'keras2'],
    ]) as Array<[string, string, 'keras3' | 'keras2']>,
  )('%s from its %s file', async (model, kind, keras) => {
    const loaded = await modelFromKerasFile(fixtures.file(`${model}${kind}`), `${model}${kind}`);
    try {
      expect(loaded.kind).toBe(kind === '.keras' ? '.keras' : '.h5');
      const p = fixtures.predictions(model);
      expect(maxDifference(loaded.model, p, p.output[keras])).toBeLessThan(TOLERANCE);
    } finally {
      loaded.model.dispose();
    }
  });

  it.each(
    MODELS.flatMap((model) => [
      [model, '.keras3.json'],
      [model, '.keras2.json'],
    ]),
  )('%s built from its %s topology, given the same weights', async (model, kind) => {
    const topology = JSON.parse(fixtures.file(`${model}${kind}`).toString('utf8'));
    const built = await modelFromTopology(topology, `${model}${kind}`);
    const saved = await modelFromKerasFile(fixtures.file(`${model}.keras`), `${model}.keras`);
    try {
      const classes = (m: tf.LayersModel) =>
        m.layers.map((l) => l.getClassName()).filter((c) => c !== 'InputLayer');
      expect(classes(built)).toEqual(classes(saved.model));
      built.setWeights(saved.model.getWeights());
      const p = fixtures.predictions(model);
      expect(maxDifference(built, p, p.output.keras3)).toBeLessThan(TOLERANCE);
    } finally {
      built.dispose();
      saved.model.dispose();
    }
  });
});

describe('a saved model k2k cannot use', () => {
  it.each([
    [
      'unsupported-layer',
      /layer "unit_normalization" \(class UnitNormalization\) is not a layer TensorFlow\.js 4\.22 has/,
    ],
    [
      'unsupported-custom',
      /layer "scale" \(class Scale\) is a custom layer \(registered as "k2k_test>Scale"\)/,
    ],
    ['unsupported-op', /layer "sin" \(class Sin\) is a Keras operation \(from keras\.src\.ops\.numpy\)/],
    ['unsupported-gru', /layer "gru\w*" \(class GRU\) has reset_after=True/],
  ])(
    '%s is refused from its .keras file and its JSON, naming the layer and its class',
    async (name, message) => {
      await expectInvalid(
        modelFromKerasFile(fixtures.file(`${name}.keras`), `s3://m/${name}.keras`),
        message,
      );
      const json = JSON.parse(fixtures.file(`${name}.keras3.json`).toString('utf8'));
      await expectInvalid(modelFromTopology(json, 'topology'), message);
    },
  );

  it.each<[string, () => Buffer, RegExp]>([
    [
      'an .h5 file of weights only (model.save_weights)',
      () => fixtures.file('weights-only.weights.h5'),
      /holds weights only \(model\.save_weights\); save the whole model with model\.save\(\)/,
    ],
    [
      'a .keras file whose weights belong to another model',
      () => fixtures.file('mismatched.keras'),
      /layer "dense\w*" \(class Dense\) has weights of shapes \[\d+, \d+\] \[\d+\] in TensorFlow\.js, but the file holds/,
    ],
    [
      'a truncated .keras file',
      () => fixtures.file('cnn.keras').subarray(0, 4000),
      /not a readable \.keras file/,
    ],
    [
      'a file that is neither',
      () => Buffer.from('{"class_name": "Sequential"}'),
      /neither a \.keras file .* nor an \.h5 file/,
    ],
  ])('%s is refused as invalid input', async (_name, bytes, message) => {
    await expectInvalid(modelFromKerasFile(bytes(), 's3://m/file'), message);
  });
});

async function expectInvalid(loading: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await loading.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TrainerError);
  expect((err as TrainerError).code).toBe('InvalidModel');
  expect((err as TrainerError).exitCode).toBe(TrainerExitCode.InvalidInput);
  expect((err as Error).message).toMatch(message);
}
