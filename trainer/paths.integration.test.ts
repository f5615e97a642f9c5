// The other training paths on small data made here: CSV regression (also from a Keras topology
// by URI), JSONL text classification, an autoencoder for anomaly detection, and transfer learning
// from a base artifact. Each must end in an artifact that verifies.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelHandler, readArtifact } from '../lib/artifact/index.ts';
import type { ObjectStore } from '../lib/storage/index.ts';
import { validateConfig } from './config.ts';
import { loadDataset } from './datasets/index.ts';
import { percentileOf } from './evaluation.ts';
import { seededRandom } from './random.ts';
import type { RunResult } from './run.ts';
import {
  freshBucket,
  type S3Env,
  s3FromEnv,
  sensorsCSV,
  storeFor,
  trainerEnv,
  trainInProcess,
} from './testkit.ts';

let s3: S3Env;
let store: ObjectStore;
let bucket: string;

const rand = seededRandom(11);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

beforeAll(async () => {
  s3 = s3FromEnv();
  store = storeFor(s3);
  bucket = await freshBucket(s3, 'k2k-paths');
  // y = 3a - 2b + c/10 + noise, with features on different scales (normalisation matters).
  const regression = ['a,b,c,y'];
  for (let i = 0; i < 400; i++) {
    const [a, b, c] = [gauss(), gauss() * 5, 50 + gauss() * 20];
    regression.push(
      `${a.toFixed(4)},${b.toFixed(4)},${c.toFixed(4)},${(3 * a - 2 * b + c / 10 + gauss() * 0.1).toFixed(4)}`,
    );
  }
  await store.put(`s3://${bucket}/data/regression.csv`, regression.join('\n'));

  // Sentiment: positive and negative words mixed with neutral filler.
  const pos = ['great', 'wonderful', 'loved', 'excellent', 'superb'];
  const neg = ['awful', 'boring', 'hated', 'terrible', 'dull'];
  const filler = ['the', 'film', 'was', 'a', 'plot', 'actors', 'and', 'really', 'story'];
  const pick = (words: string[]) => words[Math.floor(rand() * words.length)]!;
  const reviews: string[] = [];
  for (let i = 0; i < 300; i++) {
    const positive = i % 2 === 0;
    const words = Array.from({ length: 8 }, (_, j) =>
      j % 3 === 1 ? pick(positive ? pos : neg) : pick(filler),
    );
    reviews.push(
      JSON.stringify({ review: `${words.join(' ')}!`, sentiment: positive ? 'positive' : 'negative' }),
    );
  }
  await store.put(`s3://${bucket}/data/reviews.jsonl`, reviews.join('\n'));

  // Normal sensor readings: 4 correlated channels.
  await store.put(`s3://${bucket}/data/sensors.csv`, sensorsCSV(300, gauss));

  await store.put(
    `s3://${bucket}/topologies/regression.json`,
    readFileSync(new URL('testdata/keras215-functional-regression.json', import.meta.url)),
  );
});

const output = () => ({ uri: `s3://${bucket}/models`, version: '7', checkpointEvery: 2 });

async function trained(
  config: Record<string, unknown>,
): Promise<{ result: RunResult; predict: (x: number[][]) => number[][] }> {
  let result: RunResult | undefined;
  const run = await trainInProcess(config, trainerEnv(s3), (r) => {
    result = r;
  });
  expect(run.logs.filter((l) => l.level === 'error')).toEqual([]);
  expect(run.code).toBe(0);
  const artifact = await readArtifact(store, result!.artifact.uri);
  expect(artifact.manifestSha256).toBe(result!.artifact.manifestSha256);
  const model = await tf.loadLayersModel(loadModelHandler(artifact));
  return {
    result: result!,
    predict: (x) => (model.predict(tf.tensor(x)) as tf.Tensor).arraySync() as number[][],
  };
}

describe('training paths', () => {
  it('learns a CSV regression with normalised features and saves the statistics', async () => {
    const { result } = await trained({
      model: { name: 'regression', task: 'regression', architecture: 'regression-mlp' },
      dataset: { format: 'csv', uri: `s3://${bucket}/data/regression.csv`, label: 'y' },
      hyperparameters: { epochs: 40, learningRate: 0.01, metrics: ['mae'], earlyStoppingPatience: 5 },
      output: output(),
    });
    const artifact = await readArtifact(store, result.artifact.uri);
    const input = artifact.preprocessing.input;
    expect(input.kind).toBe('tabular');
    if (input.kind !== 'tabular') return;
    expect(input.features).toEqual(['a', 'b', 'c']);
    expect(input.normalization!.mean[2]).toBeGreaterThan(40);
    expect(artifact.profile!.features.map((f) => f.name)).toEqual(['a', 'b', 'c']);
    expect(artifact.profile!.features[0]!.sample!.length).toBe(320);
    expect(artifact.profile!.predictions!.kind).toBe('regression');
    // The target's spread is about 10; a model that learned nothing has an MAE of about 8.
    expect(result.metrics.val_mae).toBeLessThan(1.5);
    expect(artifact.manifest.outputs[0]!.shape).toEqual([-1, 1]);
  });

  it('trains a Keras topology given by URI on the same data', async () => {
    const { result } = await trained({
      model: {
        name: 'keras-regression',
        task: 'regression',
        topologyURI: `s3://${bucket}/topologies/regression.json`,
      },
      dataset: { format: 'csv', uri: `s3://${bucket}/data/regression.csv`, label: 'y' },
      hyperparameters: { epochs: 30, learningRate: 0.02, metrics: ['mae'] },
      output: output(),
    });
    expect(result.metrics.val_mae).toBeLessThan(2);
  });

  it('classifies JSONL text with an LSTM and saves the vocabulary', async () => {
    const { result, predict } = await trained({
      model: { name: 'sentiment', architecture: 'lstm-text' },
      dataset: {
        format: 'jsonl',
        uri: `s3://${bucket}/data/reviews.jsonl`,
        textField: 'review',
        label: 'sentiment',
        vocabularySize: 50,
        maxLength: 12,
      },
      hyperparameters: {
        epochs: 12,
        batchSize: 16,
        learningRate: 0.01,
        metrics: ['accuracy', 'precision', 'recall'],
      },
      output: output(),
    });
    const artifact = await readArtifact(store, result.artifact.uri);
    expect(artifact.preprocessing.output.classNames).toEqual(['negative', 'positive']);
    const input = artifact.preprocessing.input;
    expect(input.kind).toBe('text');
    if (input.kind !== 'text') return;
    expect(input.vocabulary.slice(0, 2)).toEqual(['<pad>', '<unk>']);
    expect(input.vocabulary).toContain('wonderful');
    expect(input.maxLength).toBe(12);
    expect(artifact.manifest.inputs).toEqual([{ name: 'text', shape: [-1], datatype: 'BYTES' }]);
    expect(artifact.manifest.outputs[0]!.shape).toEqual([-1, 1]);
    expect(artifact.profile!.features.map((f) => f.name)).toEqual(['token_count']);
    expect(result.metrics.val_acc).toBeGreaterThanOrEqual(0.9);
    expect(Object.keys(result.metrics)).toEqual(expect.arrayContaining(['val_precision', 'val_recall']));
    // The saved vocabulary turns new text into ids the saved model understands.
    const ids = (text: string) => {
      const index = new Map(input.vocabulary.map((w, i) => [w, i]));
      const tokens = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
      return Array.from({ length: 12 }, (_, i) => (i < tokens.length ? (index.get(tokens[i]!) ?? 1) : 0));
    };
    const [good, bad] = predict([
      ids('the story was wonderful and the actors superb'),
      ids('a terrible and boring film'),
    ]);
    expect(good![0]).toBeGreaterThan(0.5);
    expect(bad![0]).toBeLessThan(0.5);
  });

  it('trains an autoencoder whose reconstruction error flags anomalies', async () => {
    const config = {
      model: { name: 'sensors', task: 'anomaly', architecture: 'autoencoder', units: [3, 1] },
      dataset: { format: 'csv', uri: `s3://${bucket}/data/sensors.csv` },
      hyperparameters: { epochs: 60, batchSize: 16, learningRate: 0.01, metrics: [] },
      output: output(),
    };
    const { result, predict } = await trained(config);
    const artifact = await readArtifact(store, result.artifact.uri);
    expect(artifact.manifest.task).toBe('anomaly');
    expect(artifact.manifest.outputs[0]!.shape).toEqual([-1, 4]);
    expect(artifact.profile!.predictions!.kind).toBe('regression');
    const p99 = result.metrics.reconstruction_error_p99!;
    expect(p99).toBeGreaterThan(0);
    // Apply the saved normalisation, then score a normal reading and one that breaks the correlation.
    const input = artifact.preprocessing.input;
    if (input.kind !== 'tabular' || !input.normalization)
      throw new Error('expected tabular input with normalization');
    const { mean, std } = input.normalization;
    const norm = (row: number[]) => row.map((v, i) => (v - mean[i]!) / std[i]!);
    const score = (row: number[]) => {
      const x = norm(row);
      const y = predict([x])[0]!;
      return x.reduce((s, v, i) => s + (v - y[i]!) ** 2, 0) / x.length;
    };
    expect(score([0.5, 1, -0.5, 0.25])).toBeLessThan(p99);
    expect(score([0.5, -1, 0.5, -0.25])).toBeGreaterThan(p99);

    // The threshold the server flags against: the 99th percentile of the errors on the rows the
    // trainer held out, which this test splits again the same way.
    const anomaly = artifact.preprocessing.output.anomaly;
    expect(anomaly).toMatchObject({ score: 'mse', percentile: 99, split: 'validation', count: 60 });
    const { dataset, hyperparameters: hp } = validateConfig(config);
    const data = await loadDataset(store, dataset, {
      task: 'anomaly',
      validationSplit: hp.validationSplit,
      seed: hp.seed,
    });
    const v = data.validation;
    const errors = predict(
      Array.from({ length: v.n }, (_, r) => Array.from(v.x.subarray(r * 4, r * 4 + 4))),
    ).map((y, r) => y.reduce((s, yi, i) => s + (yi - v.x[r * 4 + i]!) ** 2, 0) / 4);
    expect(anomaly!.threshold).toBeCloseTo(percentileOf(errors, 99), 6);
    // Not the training split's percentile, which the metrics report as reconstruction_error_p99.
    expect(anomaly!.threshold).not.toBe(p99);
  });

  it('records the anomaly percentile the TrainingJob asks for', async () => {
    const { result } = await trained({
      model: {
        name: 'sensors-p90',
        task: 'anomaly',
        architecture: 'autoencoder',
        units: [3, 1],
        anomalyPercentile: 90,
      },
      dataset: { format: 'csv', uri: `s3://${bucket}/data/sensors.csv` },
      hyperparameters: { epochs: 5, batchSize: 32, metrics: [] },
      output: output(),
    });
    const artifact = await readArtifact(store, result.artifact.uri);
    expect(artifact.preprocessing.output.anomaly).toMatchObject({ percentile: 90, split: 'validation' });
  });

  it('starts from a base artifact and keeps the frozen layers as they were', async () => {
    const base = await trained({
      model: { name: 'base', task: 'regression', architecture: 'regression-mlp', units: [16, 8] },
      dataset: { format: 'csv', uri: `s3://${bucket}/data/regression.csv`, label: 'y' },
      hyperparameters: { epochs: 5, learningRate: 0.01, metrics: [] },
      output: output(),
    });
    const baseArtifact = await readArtifact(store, base.result.artifact.uri);
    const baseModel = await tf.loadLayersModel(loadModelHandler(baseArtifact));
    let frozenAfter: Float32Array[] = [];
    let trainableAfter: Float32Array | undefined;
    const run = await trainInProcess(
      {
        model: {
          name: 'fine-tuned',
          task: 'regression',
          architecture: 'regression-mlp',
          units: [16, 8],
          baseArtifact: { uri: base.result.artifact.uri, freezeLayers: 2 },
        },
        dataset: { format: 'csv', uri: `s3://${bucket}/data/regression.csv`, label: 'y' },
        hyperparameters: { epochs: 3, learningRate: 0.01, metrics: [] },
        output: output(),
      },
      trainerEnv(s3),
      (r) => {
        frozenAfter = r.model.layers
          .slice(0, 2)
          .flatMap((l) => l.getWeights().map((w) => w.dataSync() as Float32Array));
        trainableAfter = r.model.layers[2]!.getWeights()[0]!.dataSync() as Float32Array;
      },
    );
    expect(run.code).toBe(0);
    expect(run.logs.find((l) => l.msg === 'initialised from base artifact')).toMatchObject({
      frozenLayers: 2,
    });
    const baseFrozen = baseModel.layers
      .slice(0, 2)
      .flatMap((l) => l.getWeights().map((w) => Array.from(w.dataSync())));
    expect(frozenAfter.map((w) => Array.from(w))).toEqual(baseFrozen);
    expect(Array.from(trainableAfter!)).not.toEqual(
      Array.from(baseModel.layers[2]!.getWeights()[0]!.dataSync()),
    );
  });
});
