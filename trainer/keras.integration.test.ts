// A model trained in Python, fine-tuned in k2k: a .keras file made by real Keras 3 (the
// fixtures of hack/keras-fixtures.sh) on the real S3 server is the starting point of a
// TrainingJob's run; its frozen layers keep Keras's weights, the rest trains, and the model
// server serves the artifact. What TensorFlow.js cannot compute fails as invalid input (exit 65).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelHandler, readArtifact } from '../lib/artifact/index.ts';
import type { ObjectStore } from '../lib/storage/index.ts';
import { buildApp } from '../server/app.ts';
import { testSettings, waitReady } from '../server/test/fixtures.ts';
import { type KerasFixtures, kerasFixtures } from '../test/harness/keras-fixtures.ts';
import { modelFromKerasFile } from './keras/load.ts';
import { seededRandom } from './random.ts';
import type { RunResult } from './run.ts';
import { freshBucket, type S3Env, s3FromEnv, storeFor, trainerEnv, trainInProcess } from './testkit.ts';

let s3: S3Env;
let store: ObjectStore;
let bucket: string;
let fixtures: KerasFixtures;

const rand = seededRandom(5);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

beforeAll(async () => {
  fixtures = await kerasFixtures();
  s3 = s3FromEnv();
  store = storeFor(s3);
  bucket = await freshBucket(s3, 'k2k-keras');
  const rows = ['a,b,c,y'];
  for (let i = 0; i < 300; i++) {
    const [a, b, c] = [gauss(), gauss(), gauss()];
    rows.push([a, b, c, 3 * a - 2 * b + c + gauss() * 0.1].map((v) => v.toFixed(4)).join(','));
  }
  await store.put(`s3://${bucket}/data/regression.csv`, rows.join('\n'));
  for (const name of ['regression-mlp.keras', 'unsupported-layer.keras']) {
    await store.put(`s3://${bucket}/keras/${name}`, fixtures.file(name));
  }
}, 900_000);

const config = (model: Record<string, unknown>) => ({
  model: { name: 'from-keras', task: 'regression', ...model },
  dataset: { format: 'csv', uri: `s3://${bucket}/data/regression.csv`, label: 'y' },
  hyperparameters: { epochs: 3, learningRate: 0.01, metrics: [] },
  output: { uri: `s3://${bucket}/models`, version: '1', checkpointEvery: 0 },
  backend: 'cpu',
});

const weightsOf = (layer: tf.layers.Layer) => layer.getWeights().map((w) => Array.from(w.dataSync()));

describe('fine-tuning a Keras 3 .keras file from object storage', () => {
  it('starts from its weights, keeps the frozen layers, trains the rest and serves the result', async () => {
    const keras = await modelFromKerasFile(fixtures.file('regression-mlp.keras'), 'regression-mlp.keras');
    let result: RunResult | undefined;
    const run = await trainInProcess(
      config({ kerasURI: `s3://${bucket}/keras/regression-mlp.keras`, freezeLayers: 1 }),
      trainerEnv(s3),
      (r) => {
        result = r;
      },
    );
    expect(run.logs.filter((l) => l.level === 'error')).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.logs.find((l) => l.msg === 'initialised from Keras file')).toMatchObject({
      kind: '.keras',
      layers: 3,
      frozenLayers: 1,
    });

    const artifact = await readArtifact(store, result!.artifact.uri);
    const tuned = await tf.loadLayersModel(loadModelHandler(artifact));
    expect(tuned.layers.map((l) => l.getClassName())).toEqual(['Dense', 'Dense', 'Dense']);
    expect(weightsOf(tuned.layers[0]!)).toEqual(weightsOf(keras.model.layers[0]!));
    expect(weightsOf(tuned.layers[2]!)).not.toEqual(weightsOf(keras.model.layers[2]!));

    const served = await buildApp({ settings: testSettings(result!.artifact.uri), store });
    try {
      await waitReady(served);
      const rows = [
        [0.5, -1, 0.25],
        [-1, 0.5, 2],
      ];
      const r = await served.inject({
        method: 'POST',
        url: '/v1/models/tiny:predict',
        payload: { instances: rows },
      });
      expect(r.statusCode).toBe(200);
      const input = artifact.preprocessing.input;
      if (input.kind !== 'tabular') throw new Error(`tabular preprocessing expected, got ${input.kind}`);
      const { mean, std } = input.normalization!;
      const normalised = rows.map((row) => row.map((v, i) => (v - mean[i]!) / std[i]!));
      const expected = (tuned.predict(tf.tensor(normalised)) as tf.Tensor).arraySync() as number[][];
      expect(r.json().predictions).toEqual(expected.map((p) => p.map((v) => expect.closeTo(v, 4))));
    } finally {
      await served.close();
      keras.model.dispose();
    }
  });

  it.each([
    [
      'a layer TensorFlow.js does not have',
      { kerasURI: 's3://BUCKET/keras/unsupported-layer.keras' },
      /s3:\/\/k2k-keras-\w+\/keras\/unsupported-layer\.keras: layer "unit_normalization" \(class UnitNormalization\)/,
    ],
    [
      'a Keras file that is not there',
      { kerasURI: 's3://BUCKET/keras/missing.keras' },
      /cannot read \/model\/kerasURI: .*missing\.keras/,
    ],
  ])('fails on %s as invalid input, never retried', async (_name, model, message) => {
    const uri = (model.kerasURI as string).replace('BUCKET', bucket);
    const run = await trainInProcess(config({ name: 'refused', kerasURI: uri }), trainerEnv(s3));
    expect(run.code).toBe(65);
    expect(run.termination).toMatchObject({
      error: { code: 'InvalidModel', message: expect.stringMatching(message) },
    });
  });
});
