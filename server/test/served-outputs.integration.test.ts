// What the seed examples answer beyond the model's raw output (ADR 0035), over TensorFlow Serving's
// and the Open Inference Protocol's REST and gRPC APIs, from artifacts the real trainer made on the
// real S3 server: an autoencoder's anomaly_score and is_anomaly against the threshold it learned,
// and a classifier's class names (label output, :classify, Classify).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadedArtifact, readArtifact } from '../../lib/artifact/index.ts';
import { fileURI, type ObjectStore, openStore } from '../../lib/storage/index.ts';
import { seededRandom } from '../../trainer/random.ts';
import type { RunResult } from '../../trainer/run.ts';
import {
  freshBucket,
  s3FromEnv,
  sensorsCSV,
  storeFor,
  trainerEnv,
  trainInProcess,
} from '../../trainer/testkit.ts';
import { buildApp } from '../app.ts';
import { call, type GrpcClients, grpcClients } from '../grpc/client.ts';
import { parseMetrics, testSettings, total, waitReady, writeScoringArtifact } from './fixtures.ts';

interface Served {
  app: FastifyInstance;
  grpc: GrpcClients;
  artifact: LoadedArtifact;
}

const rand = seededRandom(5);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

let store: ObjectStore;
let sensors: Served;
let weather: Served;
const started: Served[] = [];

async function train(config: Record<string, unknown>, env: Record<string, string>): Promise<string> {
  let result: RunResult | undefined;
  const run = await trainInProcess(config, env, (r) => {
    result = r;
  });
  expect(run.code, JSON.stringify(run.logs.filter((l) => l.level === 'error'))).toBe(0);
  return result!.artifact.uri;
}

async function serve(uri: string, name: string, from: ObjectStore): Promise<Served> {
  const app = await buildApp({ settings: testSettings(uri, { modelName: name }), store: from });
  await waitReady(app);
  const grpc = grpcClients(`127.0.0.1:${await app.grpc.listen('127.0.0.1', 0)}`);
  const served = { app, grpc, artifact: await readArtifact(from, uri) };
  started.push(served);
  return served;
}

beforeAll(async () => {
  const s3 = s3FromEnv();
  store = storeFor(s3);
  const bucket = await freshBucket(s3, 'k2k-served-outputs');
  // Four correlated sensor channels: a reading that breaks the correlation is an anomaly.
  await store.put(`s3://${bucket}/data/sensors.csv`, sensorsCSV(300, gauss));
  // Three classes by the sum of two features, with text labels.
  const days = ['x1,x2,weather'];
  for (let i = 0; i < 600; i++) {
    const [a, b] = [gauss(), gauss()];
    days.push(`${a.toFixed(4)},${b.toFixed(4)},${a + b < -0.7 ? 'cold' : a + b > 0.7 ? 'hot' : 'mild'}`);
  }
  await store.put(`s3://${bucket}/data/weather.csv`, days.join('\n'));

  const env = trainerEnv(s3);
  const output = { uri: `s3://${bucket}/models`, version: '3' };
  // One after the other: a trainer run owns the process's TensorFlow.js engine.
  const sensorsURI = await train(
    {
      model: { name: 'sensors', task: 'anomaly', architecture: 'autoencoder', units: [3, 1] },
      dataset: { format: 'csv', uri: `s3://${bucket}/data/sensors.csv` },
      hyperparameters: { epochs: 60, batchSize: 16, learningRate: 0.01, metrics: [] },
      output,
    },
    env,
  );
  const weatherURI = await train(
    {
      model: { name: 'weather', task: 'classification', architecture: 'mnist-mlp', units: [16] },
      dataset: { format: 'csv', uri: `s3://${bucket}/data/weather.csv`, label: 'weather' },
      hyperparameters: { epochs: 40, batchSize: 32, learningRate: 0.01 },
      output,
    },
    env,
  );
  sensors = await serve(sensorsURI, 'sensors', store);
  weather = await serve(weatherURI, 'weather', store);
});

afterAll(async () => {
  for (const s of started) {
    s.grpc.close();
    await s.app.close();
  }
});

const NORMAL = [0.5, 1, -0.5, 0.25];
const OUTLIER = [0.5, -1, 0.5, -0.25];

/** The score as training defines it: the mean squared error of the reconstruction, normalised. */
function mse(artifact: LoadedArtifact, raw: number[], reconstruction: number[]): number {
  const input = artifact.preprocessing.input;
  if (input.kind !== 'tabular' || !input.normalization) throw new Error('expected normalised tabular input');
  const { mean, std } = input.normalization;
  return raw.reduce((s, v, i) => s + (reconstruction[i]! - (v - mean[i]!) / std[i]!) ** 2, 0) / raw.length;
}

const floatTensor = (values: number[], shape: number[]) => ({
  dtype: 'DT_FLOAT' as const,
  tensor_shape: { dim: shape.map((size) => ({ size })) },
  float_val: values,
});

async function failure(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code: number; details: string };
  }
  throw new Error('expected the call to fail');
}

describe('an autoencoder', () => {
  const threshold = () => sensors.artifact.preprocessing.output.anomaly!.threshold;

  it('lists anomaly_score, is_anomaly and the reconstruction in the metadata of both protocols', async () => {
    const want = [
      { name: 'anomaly_score', datatype: 'FP32', shape: [-1] },
      { name: 'is_anomaly', datatype: 'BOOL', shape: [-1] },
      { name: 'reconstruction', datatype: 'FP32', shape: [-1, 4] },
    ];
    expect((await sensors.app.inject({ method: 'GET', url: '/v2/models/sensors' })).json().outputs).toEqual(
      want,
    );
    const grpcMeta = await call(sensors.grpc.inference.ModelMetadata.bind(sensors.grpc.inference), {
      name: 'sensors',
    });
    expect(grpcMeta.outputs).toEqual(want.map((o) => ({ ...o, shape: o.shape.map(String) })));
    const tf = (await sensors.app.inject({ method: 'GET', url: '/v1/models/sensors/metadata' })).json();
    const outputs = tf.metadata.signature_def.signature_def.serving_default.outputs;
    expect(Object.keys(outputs)).toEqual(['anomaly_score', 'is_anomaly', 'reconstruction']);
    expect(outputs.is_anomaly.dtype).toBe('DT_BOOL');
  });

  it('flags the reading that breaks the correlation and not the normal one, over TF Serving REST', async () => {
    expect(sensors.artifact.preprocessing.output.anomaly).toMatchObject({
      percentile: 99,
      split: 'validation',
    });
    const r = await sensors.app.inject({
      method: 'POST',
      url: '/v1/models/sensors:predict',
      payload: { instances: [NORMAL, OUTLIER] },
    });
    expect(r.statusCode).toBe(200);
    const [normal, outlier] = r.json().predictions;
    expect(normal.is_anomaly).toBe(false);
    expect(outlier.is_anomaly).toBe(true);
    expect(normal.anomaly_score).toBeLessThan(threshold());
    expect(outlier.anomaly_score).toBeGreaterThan(threshold());
    expect(normal.anomaly_score).toBeCloseTo(mse(sensors.artifact, NORMAL, normal.reconstruction), 5);
    expect(outlier.anomaly_score).toBeCloseTo(mse(sensors.artifact, OUTLIER, outlier.reconstruction), 5);
  });

  it('answers the same scores and flags over OIP REST, JSON and binary, and filters outputs', async () => {
    const tf = (
      await sensors.app.inject({
        method: 'POST',
        url: '/v1/models/sensors:predict',
        payload: { instances: [NORMAL, OUTLIER] },
      })
    ).json().predictions;
    const input = { name: 'input', datatype: 'FP32', shape: [2, 4], data: [...NORMAL, ...OUTLIER] };
    const all = await sensors.app.inject({
      method: 'POST',
      url: '/v2/models/sensors/infer',
      payload: { inputs: [input] },
    });
    expect(all.statusCode).toBe(200);
    const byName = Object.fromEntries(all.json().outputs.map((o: { name: string }) => [o.name, o]));
    expect(byName.is_anomaly).toEqual({
      name: 'is_anomaly',
      datatype: 'BOOL',
      shape: [2],
      data: [false, true],
    });
    expect(byName.anomaly_score.data).toEqual(tf.map((p: { anomaly_score: number }) => p.anomaly_score));
    expect(byName.reconstruction.shape).toEqual([2, 4]);

    const onlyFlag = await sensors.app.inject({
      method: 'POST',
      url: '/v2/models/sensors/infer',
      payload: { inputs: [input], outputs: [{ name: 'is_anomaly', parameters: { binary_data: true } }] },
    });
    expect(onlyFlag.statusCode).toBe(200);
    const headerLength = Number(onlyFlag.headers['inference-header-content-length']);
    const header = JSON.parse(onlyFlag.rawPayload.subarray(0, headerLength).toString());
    expect(header.outputs).toEqual([
      { name: 'is_anomaly', datatype: 'BOOL', shape: [2], parameters: { binary_data_size: 2 } },
    ]);
    expect([...onlyFlag.rawPayload.subarray(headerLength)]).toEqual([0, 1]);
  });

  it('answers scores and flags over both gRPC services', async () => {
    const { prediction, inference } = sensors.grpc;
    const tf = await call(prediction.Predict.bind(prediction), {
      model_spec: { name: 'sensors' },
      inputs: {
        input: {
          ...floatTensor([...NORMAL, ...OUTLIER], [2, 4]),
        },
      },
    });
    expect(Object.keys(tf.outputs).sort()).toEqual(['anomaly_score', 'is_anomaly', 'reconstruction']);
    expect(tf.outputs.is_anomaly).toMatchObject({ dtype: 'DT_BOOL', bool_val: [false, true] });
    expect(tf.outputs.anomaly_score!.float_val![1]).toBeGreaterThan(threshold());

    const request = {
      model_name: 'sensors',
      inputs: [
        {
          name: 'input',
          datatype: 'FP32',
          shape: [2, 4],
          contents: { fp32_contents: [...NORMAL, ...OUTLIER] },
        },
      ],
      outputs: [{ name: 'is_anomaly' }, { name: 'anomaly_score' }],
    };
    const typed = await call(inference.ModelInfer.bind(inference), request);
    expect(typed.outputs.map((o) => o.name)).toEqual(['anomaly_score', 'is_anomaly']);
    expect(typed.outputs[1]!.contents!.bool_contents).toEqual([false, true]);
    expect(typed.outputs[0]!.contents!.fp32_contents).toEqual(tf.outputs.anomaly_score!.float_val);

    const raw = await call(inference.ModelInfer.bind(inference), {
      ...request,
      inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4] }],
      raw_input_contents: [Buffer.from(new Float32Array([...NORMAL, ...OUTLIER]).buffer)],
      outputs: [{ name: 'is_anomaly' }],
    });
    expect([...raw.raw_output_contents[0]!]).toEqual([0, 1]);
  });

  it('refuses to classify: 400 over REST, INVALID_ARGUMENT over gRPC', async () => {
    const r = await sensors.app.inject({
      method: 'POST',
      url: '/v1/models/sensors:classify',
      payload: { examples: [{ input: NORMAL }] },
    });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({
      code: 'InvalidRequest',
      error: expect.stringContaining('its task is anomaly'),
    });
    const e = await failure(
      call(sensors.grpc.prediction.Classify.bind(sensors.grpc.prediction), {
        model_spec: { name: 'sensors' },
        input: {
          example_list: {
            examples: [{ features: { feature: { input: { float_list: { value: NORMAL } } } } }],
          },
        },
      }),
    );
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.details).toContain('cannot classify');
  });
});

describe('an autoencoder artifact without a threshold (written before the trainer recorded one)', () => {
  it('answers the score and no flag', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-old-anomaly-'));
    try {
      const uri = await writeScoringArtifact(openStore(), fileURI(dir), 'old', '1', 'anomaly');
      const old = await serve(uri, 'old', openStore());
      const meta = (await old.app.inject({ method: 'GET', url: '/v2/models/old' })).json();
      expect(meta.outputs.map((o: { name: string }) => o.name)).toEqual(['anomaly_score', 'reconstruction']);
      const r = await old.app.inject({
        method: 'POST',
        url: '/v1/models/old:predict',
        payload: { instances: [[0, 5, -3, 100]] },
      });
      expect(Object.keys(r.json().predictions[0]).sort()).toEqual(['anomaly_score', 'reconstruction']);
      const e = await old.app.inject({
        method: 'POST',
        url: '/v2/models/old/infer',
        payload: {
          inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [0, 5, -3, 100] }],
          outputs: [{ name: 'is_anomaly' }],
        },
      });
      expect(e.statusCode).toBe(400);
      expect(e.json()).toMatchObject({
        code: 'InvalidOutput',
        error: expect.stringContaining('"is_anomaly"'),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a classifier', () => {
  const HOT = { x1: 2, x2: 2 };
  const COLD = { x1: -2, x2: -2 };
  const classNames = () => weather.artifact.preprocessing.output.classNames!;

  it('carries the CSV label values as class names', () => {
    expect(classNames()).toEqual(['cold', 'hot', 'mild']);
  });

  it('classifies tf.Example-style examples over TF Serving REST, by column or by input name', async () => {
    const r = await weather.app.inject({
      method: 'POST',
      url: '/v1/models/weather:classify',
      payload: { examples: [HOT, { input: [COLD.x1, COLD.x2] }] },
    });
    expect(r.statusCode).toBe(200);
    const result = r.json().result as [string, number][][];
    expect(result).toHaveLength(2);
    for (const row of result) {
      expect(row.map(([label]) => label)).toEqual(classNames());
      expect(row.reduce((s, [, score]) => s + score, 0)).toBeCloseTo(1, 5);
    }
    const best = (row: [string, number][]) => row.reduce((a, b) => (b[1] > a[1] ? b : a))[0];
    expect(best(result[0]!)).toBe('hot');
    expect(best(result[1]!)).toBe('cold');
    // The scores are the probabilities :predict answers.
    const p = await weather.app.inject({
      method: 'POST',
      url: '/v1/models/weather:predict',
      payload: { instances: [[HOT.x1, HOT.x2]] },
    });
    expect(p.json().predictions[0]).toEqual(result[0]!.map(([, s]) => expect.closeTo(s, 6)));
  });

  it('names what is wrong with an example', async () => {
    for (const [examples, mentions] of [
      [[{ x1: 1 }], 'missing feature "x2"'],
      [[{ x1: 1, x2: 2, x3: 3 }], 'unknown feature "x3"'],
      [[{ x1: [1, 2], x2: 2 }], 'one value'],
    ] as const) {
      const r = await weather.app.inject({
        method: 'POST',
        url: '/v1/models/weather:classify',
        payload: { examples },
      });
      expect(r.statusCode, JSON.stringify(examples)).toBe(400);
      expect(r.json().error).toContain(mentions);
    }
  });

  it('answers a label output over OIP REST only when asked for', async () => {
    const input = {
      name: 'input',
      datatype: 'FP32',
      shape: [2, 2],
      data: [HOT.x1, HOT.x2, COLD.x1, COLD.x2],
    };
    const plain = await weather.app.inject({
      method: 'POST',
      url: '/v2/models/weather/infer',
      payload: { inputs: [input] },
    });
    expect(plain.json().outputs.map((o: { name: string }) => o.name)).toEqual(['output']);
    const labelled = await weather.app.inject({
      method: 'POST',
      url: '/v2/models/weather/infer',
      payload: { inputs: [input], outputs: [{ name: 'output' }, { name: 'label' }] },
    });
    expect(labelled.json().outputs[1]).toEqual({
      name: 'label',
      datatype: 'BYTES',
      shape: [2],
      data: ['hot', 'cold'],
    });
  });

  it('classifies and labels over gRPC: Classify, ModelInfer and Predict', async () => {
    const { prediction, inference } = weather.grpc;
    const floats = (...value: number[]) => ({ float_list: { value } });
    const classified = await call(prediction.Classify.bind(prediction), {
      model_spec: { name: 'weather' },
      input: {
        example_list_with_context: {
          // x2 comes from the context for both examples.
          context: { features: { feature: { x2: floats(2) } } },
          examples: [
            { features: { feature: { x1: floats(2) } } },
            { features: { feature: { x1: floats(-2), x2: floats(-2) } } },
          ],
        },
      },
    });
    expect(classified.model_spec).toMatchObject({ name: 'weather', version: { value: '3' } });
    const rows = classified.result!.classifications;
    expect(rows.map((c) => c.classes.map((k) => k.label))).toEqual([classNames(), classNames()]);
    const best = (classes: { label: string; score: number }[]) =>
      classes.reduce((a, b) => (b.score > a.score ? b : a)).label;
    expect(rows.map((c) => best(c.classes))).toEqual(['hot', 'cold']);

    const infer = await call(inference.ModelInfer.bind(inference), {
      model_name: 'weather',
      inputs: [
        { name: 'input', datatype: 'FP32', shape: [2, 2], contents: { fp32_contents: [2, 2, -2, -2] } },
      ],
      outputs: [{ name: 'label' }],
    });
    expect(infer.outputs).toMatchObject([{ name: 'label', datatype: 'BYTES', shape: ['2'] }]);
    expect(infer.outputs[0]!.contents!.bytes_contents.map(String)).toEqual(['hot', 'cold']);

    const predicted = await call(prediction.Predict.bind(prediction), {
      model_spec: { name: 'weather' },
      inputs: {
        input: {
          ...floatTensor([2, 2, -2, -2], [2, 2]),
        },
      },
      output_filter: ['label'],
    });
    expect(Object.keys(predicted.outputs)).toEqual(['label']);
    expect(predicted.outputs.label!.dtype).toBe('DT_STRING');
    expect(predicted.outputs.label!.string_val.map(String)).toEqual(['hot', 'cold']);
  });

  it('counts classify calls as their own endpoint over both transports', async () => {
    const m = parseMetrics((await weather.app.inject({ method: 'GET', url: '/metrics' })).body);
    for (const transport of ['http', 'grpc']) {
      expect(
        total(m, 'k2k_requests_total', { protocol: 'tfserving', transport, endpoint: 'classify' }),
        transport,
      ).toBeGreaterThan(0);
    }
  });
});
