// Both REST protocols end to end through fastify (inject), plus one pass over a real socket:
// shapes, datatypes, errors, metadata, and readiness before and after the model loads.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURI, joinURI, openStore } from '../../lib/storage/index.ts';
import { eventually } from '../../test/harness/eventually.ts';
import { buildApp } from '../app.ts';
import { initBackend } from '../model/backend.ts';
import {
  IMAGE_SIZE,
  images,
  parseMetrics,
  referencePredictions,
  sample,
  tabularRows,
  testSettings,
  total,
  waitReady,
  writeImageArtifact,
  writeTabularArtifact,
  writeTextArtifact,
} from './fixtures.ts';

const store = openStore();
let dir: string;
let root: string;
let tabularURI: string;
let imageURI: string;
let textURI: string;
let app: FastifyInstance;

/** The model's own answer for raw rows, computed without the server. */
const reference = (uri: string, rows: number[][]) => referencePredictions(store, uri, rows);

beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-server-'));
  root = fileURI(dir);
  tabularURI = await writeTabularArtifact(store, root, 'tiny', '1700000000');
  imageURI = await writeImageArtifact(store, root, 'digits', '5');
  textURI = await writeTextArtifact(store, root, 'reviews', '3');
  app = await buildApp({ settings: testSettings(tabularURI), store });
  await waitReady(app);
});

afterAll(async () => {
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

const rows = tabularRows(3, 1);

describe('TensorFlow Serving REST API', () => {
  it('reports the loaded version as AVAILABLE', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/models/tiny' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({
      model_version_status: [
        { version: '1700000000', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
      ],
    });
    const v = await app.inject({ method: 'GET', url: '/v1/models/tiny/versions/1700000000' });
    expect(v.json().model_version_status[0].state).toBe('AVAILABLE');
  });

  it('describes the serving_default signature in the metadata', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/models/tiny/metadata' });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.model_spec).toEqual({ name: 'tiny', signature_name: '', version: '1700000000' });
    const sig = body.metadata.signature_def.signature_def.serving_default;
    expect(sig.method_name).toBe('tensorflow/serving/predict');
    expect(sig.inputs.input.dtype).toBe('DT_FLOAT');
    expect(sig.inputs.input.tensor_shape.dim.map((d: { size: string }) => d.size)).toEqual(['-1', '4']);
    // The probabilities, and the class name the server derives from them (answered when asked for).
    expect(Object.keys(sig.outputs)).toEqual(['output', 'label']);
    expect(sig.outputs.label.dtype).toBe('DT_STRING');
  });

  it('answers row-format instances with one prediction per row, normalised as in training', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/models/tiny:predict',
      payload: { instances: rows },
    });
    expect(r.statusCode).toBe(200);
    const got = r.json().predictions as number[][];
    const want = await reference(tabularURI, rows);
    expect(got).toHaveLength(3);
    expect(got).toEqual(want.map((p) => p.map((v) => expect.closeTo(v, 5))));
  });

  it('answers columnar inputs with outputs, also by input name and on the versioned path', async () => {
    const want = await reference(tabularURI, rows);
    for (const [url, payload] of [
      ['/v1/models/tiny:predict', { inputs: rows }],
      ['/v1/models/tiny:predict', { inputs: { input: rows }, signature_name: 'serving_default' }],
      ['/v1/models/tiny/versions/1700000000:predict', { inputs: rows }],
    ] as const) {
      const r = await app.inject({ method: 'POST', url, payload });
      expect(r.statusCode, `${url} ${JSON.stringify(payload).slice(0, 60)}`).toBe(200);
      expect(r.json().outputs).toEqual(want.map((p) => p.map((v) => expect.closeTo(v, 5))));
    }
  });

  it('accepts JSON sent as curl -d sends it (x-www-form-urlencoded)', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/models/tiny:predict',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: JSON.stringify({ instances: [rows[0]] }),
    });
    expect(r.statusCode).toBe(200);
    expect(r.json().predictions).toHaveLength(1);
  });

  it.each([
    ['a row with too few features', { instances: [[1, 2, 3]] }, 400, 'InvalidShape', 'instances'],
    [
      'ragged rows',
      {
        instances: [
          [1, 2, 3, 4],
          [1, 2, 3],
        ],
      },
      400,
      'InvalidShape',
      'ragged',
    ],
    [
      'a string where a number belongs',
      { instances: [[1, 2, 'x', 4]] },
      400,
      'InvalidValue',
      'instances: element 2',
    ],
    ['a null feature', { instances: [[1, null, 3, 4]] }, 400, 'InvalidValue', 'null'],
    [
      'both instances and inputs',
      { instances: [[1, 2, 3, 4]], inputs: [[1, 2, 3, 4]] },
      400,
      'InvalidRequest',
      'exactly one',
    ],
    [
      'neither instances nor inputs',
      { signature_name: 'serving_default' },
      400,
      'InvalidRequest',
      'exactly one',
    ],
    [
      'an unknown signature',
      { signature_name: 'predict_images', instances: [[1, 2, 3, 4]] },
      400,
      'InvalidRequest',
      'signature_name',
    ],
    ['an unknown named input', { instances: [{ pixels: [1, 2, 3, 4] }] }, 400, 'InvalidInput', '"pixels"'],
    ['an unknown top-level field', { instances: [[1, 2, 3, 4]], extra: 1 }, 400, 'InvalidRequest', 'body'],
    ['an empty instances list', { instances: [] }, 400, 'InvalidRequest', 'instances'],
  ])('rejects %s with %i %s', async (_name, payload, status, code, mentions) => {
    const r = await app.inject({ method: 'POST', url: '/v1/models/tiny:predict', payload });
    expect(r.statusCode).toBe(status);
    expect(r.json().code).toBe(code);
    expect(r.json().error).toContain(mentions);
  });

  it.each([
    ['an unknown model', 'POST', '/v1/models/other:predict', 404, 'ModelNotFound'],
    ['an unknown version', 'POST', '/v1/models/tiny/versions/7:predict', 404, 'VersionNotFound'],
    ['an unknown model status', 'GET', '/v1/models/other', 404, 'ModelNotFound'],
    ['the unsupported regress API', 'POST', '/v1/models/tiny:regress', 400, 'Unsupported'],
    ['an unknown verb', 'POST', '/v1/models/tiny:explode', 404, 'RouteNotFound'],
    ['an unknown path', 'GET', '/v1/nothing', 404, 'RouteNotFound'],
  ] as const)('answers %s with %i %s', async (_name, method, url, status, code) => {
    const r = await app.inject({
      method,
      url,
      ...(method === 'POST' ? { payload: { instances: [[1, 2, 3, 4]] } } : {}),
    });
    expect(r.statusCode).toBe(status);
    expect(r.json()).toMatchObject({ code, error: expect.any(String) });
  });

  it('answers malformed JSON and NaN-bearing bodies with 400', async () => {
    for (const payload of ['{"instances": [[1,2,3,4]', '{"instances": [[NaN, 1, 2, 3]]}', '']) {
      const r = await app.inject({
        method: 'POST',
        url: '/v1/models/tiny:predict',
        headers: { 'content-type': 'application/json' },
        payload,
      });
      expect(r.statusCode, payload).toBe(400);
      expect(r.json().error).toEqual(expect.any(String));
    }
  });
});

describe('Open Inference Protocol v2', () => {
  it('serves server metadata, liveness and readiness', async () => {
    expect((await app.inject({ method: 'GET', url: '/v2' })).json()).toEqual({
      name: 'k2k-model-server',
      version: expect.any(String),
      extensions: ['binary_tensor_data'],
    });
    expect((await app.inject({ method: 'GET', url: '/v2/health/live' })).json()).toEqual({ live: true });
    const ready = await app.inject({ method: 'GET', url: '/v2/health/ready' });
    expect([ready.statusCode, ready.json()]).toEqual([200, { ready: true }]);
    const model = await app.inject({ method: 'GET', url: '/v2/models/tiny/ready' });
    expect([model.statusCode, model.json()]).toEqual([200, { name: 'tiny', ready: true }]);
    const version = await app.inject({ method: 'GET', url: '/v2/models/tiny/versions/1700000000/ready' });
    expect(version.statusCode).toBe(200);
    const wrong = await app.inject({ method: 'GET', url: '/v2/models/tiny/versions/1/ready' });
    expect([wrong.statusCode, wrong.json().ready]).toEqual([400, false]);
  });

  it('describes the model tensors in the metadata', async () => {
    const r = await app.inject({ method: 'GET', url: '/v2/models/tiny' });
    expect(r.json()).toEqual({
      name: 'tiny',
      versions: ['1700000000'],
      platform: 'tensorflowjs_layers',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [
        { name: 'output', datatype: 'FP32', shape: [-1, 3] },
        { name: 'label', datatype: 'BYTES', shape: [-1] },
      ],
      parameters: { backend: 'wasm', backend_requested: 'wasm' },
    });
    expect((await app.inject({ method: 'GET', url: '/v2/models/tiny/versions/1700000000' })).statusCode).toBe(
      200,
    );
  });

  it('infers on flat and nested data and echoes the request id', async () => {
    const want = await reference(tabularURI, rows);
    for (const data of [rows.flat(), rows]) {
      const r = await app.inject({
        method: 'POST',
        url: '/v2/models/tiny/infer',
        payload: { id: 'req-1', inputs: [{ name: 'input', shape: [3, 4], datatype: 'FP32', data }] },
      });
      expect(r.statusCode).toBe(200);
      const body = r.json();
      expect(body).toMatchObject({ model_name: 'tiny', model_version: '1700000000', id: 'req-1' });
      expect(body.outputs).toHaveLength(1);
      expect(body.outputs[0]).toMatchObject({ name: 'output', shape: [3, 3], datatype: 'FP32' });
      expect(body.outputs[0].data).toHaveLength(9);
      expect(body.outputs[0].data).toEqual(want.flat().map((v) => expect.closeTo(v, 5)));
    }
  });

  it('accepts integer datatypes for a float input and filters requested outputs', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/v2/models/tiny/versions/1700000000/infer',
      payload: {
        inputs: [{ name: 'input', shape: [1, 4], datatype: 'INT32', data: [1, 5, -3, 100] }],
        outputs: [{ name: 'output' }],
      },
    });
    expect(r.statusCode).toBe(200);
    expect(r.json().outputs[0].shape).toEqual([1, 3]);
  });

  const input = (over: Record<string, unknown>) => ({
    inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4], ...over }],
  });
  it.each([
    ['a shape that disagrees with the data', input({ shape: [2, 4] }), 400, 'InvalidShape', 'needs 8'],
    ['a shape of the wrong rank', input({ shape: [4], data: [1, 2, 3, 4] }), 400, 'InvalidShape', 'rank'],
    [
      'a feature dimension the model lacks',
      input({ shape: [1, 5], data: [1, 2, 3, 4, 5] }),
      400,
      'InvalidShape',
      'dimension 1',
    ],
    [
      'nested data that disagrees with the shape',
      input({
        shape: [1, 4],
        data: [
          [1, 2],
          [3, 4],
        ],
      }),
      400,
      'InvalidShape',
      'nested',
    ],
    ['an unknown datatype', input({ datatype: 'FLOAT' }), 400, 'InvalidRequest', 'datatype'],
    [
      'BYTES for a numeric input',
      input({ datatype: 'BYTES', data: ['a', 'b', 'c', 'd'] }),
      400,
      'InvalidDatatype',
      'BYTES',
    ],
    [
      'a fraction in an INT32 tensor',
      input({ datatype: 'INT32', data: [1, 2.5, 3, 4] }),
      400,
      'InvalidValue',
      'not an integer',
    ],
    [
      'a negative UINT8',
      input({ datatype: 'UINT8', data: [1, -2, 3, 4] }),
      400,
      'InvalidValue',
      'out of range',
    ],
    [
      'a boolean in an FP32 tensor',
      input({ data: [1, true, 3, 4] }),
      400,
      'InvalidValue',
      'expected a number',
    ],
    [
      'a missing data field',
      { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32' }] },
      400,
      'InvalidRequest',
      'data',
    ],
    ['a missing inputs field', { id: 'x' }, 400, 'InvalidRequest', 'inputs'],
    ['a negative dimension', input({ shape: [-1, 4] }), 400, 'InvalidRequest', 'shape'],
    ['an unknown input name', input({ name: 'pixels' }), 400, 'InvalidInput', '"pixels"'],
    [
      'the input given twice',
      { inputs: [input({}).inputs[0], input({}).inputs[0]] },
      400,
      'InvalidInput',
      '2 times',
    ],
    [
      'an unknown requested output',
      { ...input({}), outputs: [{ name: 'logits' }] },
      400,
      'InvalidOutput',
      '"logits"',
    ],
    ['an empty batch', input({ shape: [0, 4], data: [] }), 400, 'InvalidShape', 'empty'],
  ])('rejects %s with %i %s', async (_name, payload, status, code, mentions) => {
    const r = await app.inject({ method: 'POST', url: '/v2/models/tiny/infer', payload });
    expect(r.statusCode).toBe(status);
    expect(r.json().code).toBe(code);
    expect(r.json().error).toContain(mentions);
  });

  it('answers an unknown model with 404 and an oversized body with 413', async () => {
    const unknown = await app.inject({ method: 'POST', url: '/v2/models/nope/infer', payload: input({}) });
    expect([unknown.statusCode, unknown.json().code]).toEqual([404, 'ModelNotFound']);
    const huge = {
      inputs: [{ name: 'input', shape: [70000, 4], datatype: 'FP32', data: new Array(280000).fill(1.5) }],
    };
    const big = await app.inject({ method: 'POST', url: '/v2/models/tiny/infer', payload: huge });
    expect([big.statusCode, big.json().code]).toEqual([413, 'BodyTooLarge']);
  });
});

describe('image and text models', () => {
  it('scales raw pixels and answers per image over both protocols', async () => {
    const img = await buildApp({ settings: testSettings(imageURI, { modelName: 'digits' }), store });
    try {
      await waitReady(img);
      const batch = images(2, 3);
      const tfs = await img.inject({
        method: 'POST',
        url: '/v1/models/digits:predict',
        payload: { instances: batch },
      });
      expect(tfs.statusCode).toBe(200);
      const preds = tfs.json().predictions as number[][];
      expect(preds).toHaveLength(2);
      for (const p of preds) expect(p[0]! + p[1]!).toBeCloseTo(1, 5);
      const v2 = await img.inject({
        method: 'POST',
        url: '/v2/models/digits/infer',
        payload: {
          inputs: [
            { name: 'image', shape: [2, IMAGE_SIZE, IMAGE_SIZE, 1], datatype: 'UINT8', data: batch.flat(3) },
          ],
        },
      });
      expect(v2.statusCode).toBe(200);
      expect(v2.json().outputs[0]).toMatchObject({ name: 'probabilities', shape: [2, 2] });
      expect(v2.json().outputs[0].data).toEqual(preds.flat().map((v) => expect.closeTo(v, 5)));
      const wrong = await img.inject({
        method: 'POST',
        url: '/v1/models/digits:predict',
        payload: { instances: [[[1, 2]]] },
      });
      expect([wrong.statusCode, wrong.json().code]).toEqual([400, 'InvalidShape']);
    } finally {
      await img.close();
    }
  });

  it('tokenises raw text with the artifact vocabulary', async () => {
    const txt = await buildApp({ settings: testSettings(textURI, { modelName: 'reviews' }), store });
    try {
      await waitReady(txt);
      const r = await txt.inject({
        method: 'POST',
        url: '/v2/models/reviews/infer',
        payload: {
          inputs: [{ name: 'text', shape: [2], datatype: 'BYTES', data: ['Good movie!', 'awful plot'] }],
        },
      });
      expect(r.statusCode).toBe(200);
      expect(r.json().outputs[0].shape).toEqual([2, 1]);
      // Case and punctuation do not matter after tokenising; unknown words map to <unk>.
      const same = await txt.inject({
        method: 'POST',
        url: '/v1/models/reviews:predict',
        payload: { instances: ['good MOVIE', 'awful, plot.'] },
      });
      expect((same.json().predictions as number[][]).flat()).toEqual(
        (r.json().outputs[0].data as number[]).map((v) => expect.closeTo(v, 6)),
      );
      const numbers = await txt.inject({
        method: 'POST',
        url: '/v2/models/reviews/infer',
        payload: { inputs: [{ name: 'text', shape: [1], datatype: 'FP32', data: [1] }] },
      });
      expect([numbers.statusCode, numbers.json().code]).toEqual([400, 'InvalidDatatype']);
    } finally {
      await txt.close();
    }
  });
});

describe('readiness', () => {
  it('is false while loading, true after the warm-up prediction', async () => {
    const fresh = await buildApp({ settings: testSettings(tabularURI), store, autoLoad: false });
    try {
      for (const url of ['/readyz', '/v2/health/ready', '/v2/models/tiny/ready']) {
        const r = await fresh.inject({ method: 'GET', url });
        expect(r.statusCode, url).toBeGreaterThanOrEqual(400);
        expect(r.json().ready).toBe(false);
      }
      expect(
        (await fresh.inject({ method: 'GET', url: '/v1/models/tiny' })).json().model_version_status[0].state,
      ).toBe('LOADING');
      const predict = await fresh.inject({
        method: 'POST',
        url: '/v1/models/tiny:predict',
        payload: { instances: [[1, 2, 3, 4]] },
      });
      expect([predict.statusCode, predict.json().code]).toEqual([503, 'ModelNotReady']);
      expect((await fresh.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      await fresh.models.load();
      expect((await fresh.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({
        ready: true,
        model: 'tiny',
        version: '1700000000',
      });
      expect((await fresh.inject({ method: 'GET', url: '/metrics' })).body).toMatch(
        /k2k_model_load_duration_seconds_count\{[^}]*result="success"[^}]*\} 1/,
      );
    } finally {
      await fresh.close();
    }
  });

  it.each([
    ['a version without a manifest', (r: string) => joinURI(r, 'tiny', '99/'), 'no manifest.json'],
    ['a model URI with no complete version', (r: string) => joinURI(r, 'ghost/'), 'no complete version'],
  ])('reports a failed load of %s with the reason', async (_name, uriOf, reason) => {
    const failing = await buildApp({ settings: testSettings(uriOf(root)), store, autoLoad: false });
    try {
      await expect(failing.models.load()).rejects.toThrow(reason);
      for (const url of ['/readyz', '/v2/health/ready']) {
        const r = await failing.inject({ method: 'GET', url });
        expect(r.statusCode).toBeGreaterThanOrEqual(400);
        expect(r.json().error).toContain(reason);
      }
      const status = (await failing.inject({ method: 'GET', url: '/v1/models/tiny' })).json()
        .model_version_status[0];
      expect(status.state).toBe('END');
      expect(status.status.error_message).toContain(reason);
    } finally {
      await failing.close();
    }
  });

  it('refuses a tampered artifact and names the file', async () => {
    const { writeFile } = await import('node:fs/promises');
    const uri = await writeTabularArtifact(store, root, 'tampered', '2');
    await writeFile(
      path.join(dir, 'tampered', '2', 'preprocessing.json'),
      '{"input": {"kind": "tabular", "features": ["x"]}, "output": {}}\n',
    );
    const failing = await buildApp({
      settings: testSettings(uri, { modelName: 'tampered' }),
      store,
      autoLoad: false,
    });
    try {
      await expect(failing.models.load()).rejects.toThrow(/preprocessing\.json.*(size|sha256)/);
      expect((await failing.inject({ method: 'GET', url: '/readyz' })).json().error).toContain(
        'preprocessing.json',
      );
    } finally {
      await failing.close();
    }
  });
});

describe('over a real socket', () => {
  it('serves both protocols and the metrics on one port', async () => {
    const live = await buildApp({ settings: testSettings(tabularURI), store });
    try {
      await waitReady(live);
      const address = await live.listen({ host: '127.0.0.1', port: 0 });
      const tfs = await fetch(`${address}/v1/models/tiny:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: rows }),
      });
      expect(tfs.status).toBe(200);
      expect(((await tfs.json()) as { predictions: unknown[] }).predictions).toHaveLength(3);
      const v2 = await fetch(`${address}/v2/models/tiny/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP64', data: rows[0] }] }),
      });
      expect(v2.status).toBe(200);
      const bad = await fetch(`${address}/v2/models/tiny/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{',
      });
      expect(bad.status).toBe(400);
      const metrics = await (await fetch(`${address}/metrics`)).text();
      for (const series of [
        'k2k_requests_total{protocol="tfserving",transport="http",endpoint="predict",code="200",version="1700000000",model="tiny",track="stable"} 1',
        'k2k_requests_total{protocol="v2",transport="http",endpoint="infer",code="200",version="1700000000",model="tiny",track="stable"} 1',
        'k2k_requests_total{protocol="v2",transport="http",endpoint="infer",code="400",version="1700000000",model="tiny",track="stable"} 1',
      ]) {
        expect(metrics).toContain(series);
      }
      expect(metrics).toMatch(/k2k_request_duration_seconds_bucket\{le="0.1",[^}]*protocol="tfserving"/);
      // Every k2k series carries model, version and track.
      for (const line of metrics.split('\n').filter((l) => l.startsWith('k2k_'))) {
        expect(line).toMatch(/model="tiny"/);
        expect(line).toMatch(/version="/);
        expect(line).toMatch(/track="stable"/);
      }
    } finally {
      await live.close();
    }
  });
});

describe('a client that hangs up', () => {
  it('is counted as 499 and leaves no request in flight', async () => {
    // The request waits in the batcher (the batch never fills) until the client gives up.
    const live = await buildApp({
      settings: testSettings(tabularURI, { batching: { maxBatchSize: 1000, maxDelayMs: 60_000 } }),
      store,
    });
    try {
      await waitReady(live);
      const address = await live.listen({ host: '127.0.0.1', port: 0 });
      const abort = new AbortController();
      const pending = fetch(`${address}/v1/models/tiny:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: rows }),
        signal: abort.signal,
      });
      const inFlight = async () =>
        total(
          parseMetrics((await live.inject({ method: 'GET', url: '/metrics' })).body),
          'k2k_requests_in_flight',
          {
            protocol: 'tfserving',
          },
        );
      await eventually(async () => (await inFlight()) === 1, {
        what: 'the request in flight',
        intervalMs: 20,
      });
      abort.abort();
      await expect(pending).rejects.toThrow();
      await eventually(async () => (await inFlight()) === 0, {
        what: 'no request in flight',
        intervalMs: 20,
      });
      const m = parseMetrics((await live.inject({ method: 'GET', url: '/metrics' })).body);
      expect(sample(m, 'k2k_requests_total', { protocol: 'tfserving', code: '499' })).toBe(1);
      live.models.current?.retire(); // the abandoned rows still run; nothing must break
      const ok = await live.inject({
        method: 'POST',
        url: '/v1/models/tiny:predict',
        payload: { instances: rows },
      });
      expect(ok.statusCode).toBe(200);
    } finally {
      await live.close();
    }
  });
});
