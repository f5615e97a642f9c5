// The gRPC listener end to end over a real socket: every method of TensorFlow Serving's
// PredictionService and ModelService, the Open Inference Protocol's GRPCInferenceService and the
// standard health service against the sample tabular artifact; the same predictions as REST;
// status codes for bad requests, unknown models, a server without a model and an overloaded one;
// and fuzzed bytes and tensors that leave the server healthy.
import { mkdtemp, rm } from 'node:fs/promises';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { Client, status } from '@grpc/grpc-js';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURI, openStore } from '../../lib/storage/index.ts';
import { buildApp } from '../app.ts';
import { call, type GrpcClients, grpcClients } from '../grpc/client.ts';
import { CONNECTION_WINDOW_BYTES, STREAM_WINDOW_BYTES } from '../grpc/flow-control.ts';
import type { ModelInferRequest } from '../grpc/generated/inference/ModelInferRequest.ts';
import type { PredictRequest } from '../grpc/generated/tensorflow/serving/PredictRequest.ts';
import { initBackend } from '../model/backend.ts';
import {
  float32LE,
  parseMetrics,
  readFloat32LE,
  referencePredictions,
  tabularRows,
  testSettings,
  total,
  waitReady,
  writeTabularArtifact,
} from './fixtures.ts';

const store = openStore();
const VERSION = '1700000000';
let dir: string;
let uri: string;
let app: FastifyInstance;
let address: string;
let grpc: GrpcClients;

beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-grpc-'));
  uri = await writeTabularArtifact(store, fileURI(dir), 'tiny', VERSION);
  app = await buildApp({ settings: testSettings(uri), store });
  await waitReady(app);
  address = `127.0.0.1:${await app.grpc.listen('127.0.0.1', 0)}`;
  grpc = grpcClients(address);
});

afterAll(async () => {
  grpc?.close();
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

const rows = tabularRows(3, 11);
const flat = rows.flat();

/** The status a call fails with (and its details); throws if it succeeds. */
async function failure(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { code: number; details: string };
    return { code: e.code, details: e.details };
  }
  throw new Error('expected the call to fail');
}

const predict = (r: PredictRequest) => call(grpc.prediction.Predict.bind(grpc.prediction), r);
const modelInfer = (r: ModelInferRequest) => call(grpc.inference.ModelInfer.bind(grpc.inference), r);

const floatTensor = (values: number[], shape: number[]) => ({
  dtype: 'DT_FLOAT' as const,
  tensor_shape: { dim: shape.map((size) => ({ size })) },
  float_val: values,
});
const predictRequest = (overrides: Partial<PredictRequest> = {}): PredictRequest => ({
  model_spec: { name: 'tiny' },
  inputs: { input: floatTensor(flat, [3, 4]) },
  ...overrides,
});
const inferRequest = (overrides: Partial<ModelInferRequest> = {}): ModelInferRequest => ({
  model_name: 'tiny',
  inputs: [{ name: 'input', datatype: 'FP32', shape: [3, 4], contents: { fp32_contents: flat } }],
  ...overrides,
});

describe('TensorFlow Serving over gRPC', () => {
  it('predicts what REST predicts, from float_val and from tensor_content', async () => {
    const rest = await app.inject({
      method: 'POST',
      url: '/v1/models/tiny:predict',
      payload: { instances: rows },
    });
    const want = (rest.json().predictions as number[][]).flat();
    const reference = (await referencePredictions(store, uri, rows)).flat();
    for (const input of [
      floatTensor(flat, [3, 4]),
      {
        dtype: 'DT_FLOAT' as const,
        tensor_shape: { dim: [{ size: 3 }, { size: 4 }] },
        tensor_content: float32LE(flat),
      },
      { dtype: 'DT_DOUBLE' as const, tensor_shape: { dim: [{ size: 3 }, { size: 4 }] }, double_val: flat },
    ]) {
      const r = await predict(predictRequest({ inputs: { input } }));
      expect(r.model_spec).toMatchObject({
        name: 'tiny',
        version: { value: VERSION },
        signature_name: 'serving_default',
      });
      const out = r.outputs.output!;
      expect(out.dtype).toBe('DT_FLOAT');
      expect(out.tensor_shape!.dim.map((d) => d.size)).toEqual(['3', '3']);
      expect(out.float_val).toEqual(want);
      expect(out.float_val).toEqual(reference.map((v) => expect.closeTo(v, 5)));
    }
  });

  it('answers the version asked for and filters outputs', async () => {
    const r = await predict(
      predictRequest({
        model_spec: { name: 'tiny', version: { value: VERSION } },
        output_filter: ['output'],
      }),
    );
    expect(Object.keys(r.outputs)).toEqual(['output']);
  });

  it('describes the serving_default signature in GetModelMetadata', async () => {
    const r = await call(grpc.prediction.GetModelMetadata.bind(grpc.prediction), {
      model_spec: { name: 'tiny' },
      metadata_field: ['signature_def'],
    });
    expect(r.model_spec).toMatchObject({ name: 'tiny', version: { value: VERSION } });
    const map = r.metadata.signature_def as unknown as {
      '@type': string;
      signature_def: Record<
        string,
        {
          method_name: string;
          inputs: Record<string, { dtype: string; tensor_shape: { dim: { size: string }[] } }>;
        }
      >;
    };
    expect(map['@type']).toBe('type.googleapis.com/tensorflow.serving.SignatureDefMap');
    const sig = map.signature_def.serving_default!;
    expect(sig.method_name).toBe('tensorflow/serving/predict');
    expect(sig.inputs.input!.dtype).toBe('DT_FLOAT');
    expect(sig.inputs.input!.tensor_shape.dim.map((d) => d.size)).toEqual(['-1', '4']);
  });

  it('reports the loaded version AVAILABLE in GetModelStatus', async () => {
    const r = await call(grpc.model.GetModelStatus.bind(grpc.model), { model_spec: { name: 'tiny' } });
    expect(r.model_version_status).toEqual([
      { version: VERSION, state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
    ]);
  });

  it.each([
    ['an unknown model', predictRequest({ model_spec: { name: 'other' } }), status.NOT_FOUND, '"other"'],
    [
      'an unknown version',
      predictRequest({ model_spec: { name: 'tiny', version: { value: 7 } } }),
      status.NOT_FOUND,
      '"7"',
    ],
    [
      'a version label',
      predictRequest({ model_spec: { name: 'tiny', version_label: 'stable' } }),
      status.NOT_FOUND,
      'version_label',
    ],
    ['no model_spec', predictRequest({ model_spec: null }), status.INVALID_ARGUMENT, 'model_spec'],
    [
      'a row of the wrong width',
      predictRequest({ inputs: { input: floatTensor([1, 2, 3], [1, 3]) } }),
      status.INVALID_ARGUMENT,
      'dimension 1',
    ],
    [
      'values that do not fill the shape',
      predictRequest({ inputs: { input: floatTensor([1, 2, 3], [1, 4]) } }),
      status.INVALID_ARGUMENT,
      'needs 4',
    ],
    [
      'strings for a float input',
      predictRequest({
        inputs: {
          input: {
            dtype: 'DT_STRING',
            tensor_shape: { dim: [{ size: 1 }, { size: 4 }] },
            string_val: ['a', 'b', 'c', 'd'].map((v) => Buffer.from(v)),
          },
        },
      }),
      status.INVALID_ARGUMENT,
      'BYTES',
    ],
    [
      'tensor_content of the wrong length',
      predictRequest({
        inputs: {
          input: {
            dtype: 'DT_FLOAT',
            tensor_shape: { dim: [{ size: 1 }, { size: 4 }] },
            tensor_content: Buffer.alloc(15),
          },
        },
      }),
      status.INVALID_ARGUMENT,
      '15 bytes',
    ],
    [
      'a NaN',
      predictRequest({ inputs: { input: floatTensor([1, Number.NaN, 3, 4], [1, 4]) } }),
      status.INVALID_ARGUMENT,
      'finite',
    ],
    [
      'an unknown input name',
      predictRequest({ inputs: { pixels: floatTensor(flat, [3, 4]) } }),
      status.INVALID_ARGUMENT,
      '"pixels"',
    ],
    ['an unknown output', predictRequest({ output_filter: ['logits'] }), status.INVALID_ARGUMENT, '"logits"'],
    [
      'an unknown signature',
      predictRequest({ model_spec: { name: 'tiny', signature_name: 'classify' } }),
      status.INVALID_ARGUMENT,
      'signature_name',
    ],
  ] as const)('answers Predict with %s', async (_name, request, code, mentions) => {
    const e = await failure(predict(request));
    expect(e.code).toBe(code);
    expect(e.details).toContain(mentions);
  });

  it('refuses GetModelMetadata without a metadata field, and GetModelStatus of another model', async () => {
    const m = await failure(
      call(grpc.prediction.GetModelMetadata.bind(grpc.prediction), { model_spec: { name: 'tiny' } }),
    );
    expect(m).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining('signature_def'),
    });
    const s = await failure(call(grpc.model.GetModelStatus.bind(grpc.model), { model_spec: { name: 'x' } }));
    expect(s.code).toBe(status.NOT_FOUND);
    const unknown = await failure(
      call(grpc.prediction.GetModelMetadata.bind(grpc.prediction), {
        model_spec: { name: 'tiny' },
        metadata_field: ['signature_def', 'graph'],
      }),
    );
    expect(unknown).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining('"graph" is not supported'),
    });
  });

  it('reports the backend the model runs on as the metadata field "backend", only when asked', async () => {
    const ask = (metadata_field: string[]) =>
      call(grpc.prediction.GetModelMetadata.bind(grpc.prediction), {
        model_spec: { name: 'tiny' },
        metadata_field,
      });
    const both = await ask(['signature_def', 'backend']);
    expect(both.metadata.backend).toEqual({
      '@type': 'type.googleapis.com/google.protobuf.Struct',
      fields: {
        backend: { stringValue: 'wasm', kind: 'stringValue' },
        backend_requested: { stringValue: 'wasm', kind: 'stringValue' },
      },
    });
    expect(Object.keys(both.metadata).sort()).toEqual(['backend', 'signature_def']);
    expect(Object.keys((await ask(['signature_def'])).metadata)).toEqual(['signature_def']);
  });
});

describe('the Open Inference Protocol over gRPC', () => {
  it('answers liveness, readiness and metadata', async () => {
    const c = grpc.inference;
    expect(await call(c.ServerLive.bind(c), {})).toEqual({ live: true });
    expect(await call(c.ServerReady.bind(c), {})).toEqual({ ready: true });
    expect(await call(c.ModelReady.bind(c), { name: 'tiny' })).toEqual({ ready: true });
    expect(await call(c.ModelReady.bind(c), { name: 'tiny', version: VERSION })).toEqual({ ready: true });
    expect(await call(c.ModelReady.bind(c), { name: 'tiny', version: '7' })).toEqual({ ready: false });
    expect((await failure(call(c.ModelReady.bind(c), { name: 'other' }))).code).toBe(status.NOT_FOUND);
    expect(await call(c.ServerMetadata.bind(c), {})).toEqual({
      name: 'k2k-model-server',
      version: expect.any(String),
      extensions: ['binary_tensor_data'],
    });
    expect(await call(c.ModelMetadata.bind(c), { name: 'tiny' })).toEqual({
      name: 'tiny',
      versions: [VERSION],
      platform: 'tensorflowjs_layers',
      inputs: [{ name: 'input', datatype: 'FP32', shape: ['-1', '4'] }],
      outputs: [
        { name: 'output', datatype: 'FP32', shape: ['-1', '3'] },
        { name: 'label', datatype: 'BYTES', shape: ['-1'] },
      ],
      // The backend choice, as REST's metadata parameters (server/test/backend-choice.test.ts).
      properties: { backend: 'wasm', backend_requested: 'wasm' },
    });
  });

  it('infers what REST infers, from typed contents and from raw_input_contents', async () => {
    const rest = await app.inject({
      method: 'POST',
      url: '/v2/models/tiny/infer',
      payload: { inputs: [{ name: 'input', shape: [3, 4], datatype: 'FP32', data: flat }] },
    });
    const want = rest.json().outputs[0].data as number[];

    const typed = await modelInfer(inferRequest({ id: 'typed' }));
    expect(typed).toMatchObject({
      model_name: 'tiny',
      model_version: VERSION,
      id: 'typed',
      raw_output_contents: [],
    });
    expect(typed.outputs).toEqual([
      { name: 'output', datatype: 'FP32', shape: ['3', '3'], parameters: {}, contents: expect.anything() },
    ]);
    expect(typed.outputs[0]!.contents!.fp32_contents).toEqual(want);

    const raw = await modelInfer(
      inferRequest({
        inputs: [{ name: 'input', datatype: 'FP32', shape: [3, 4] }],
        raw_input_contents: [float32LE(flat)],
      }),
    );
    expect(raw.outputs[0]).toMatchObject({ name: 'output', shape: ['3', '3'], contents: null });
    const bytes = raw.raw_output_contents[0]!;
    expect(readFloat32LE(bytes)).toEqual(want);
  });

  it.each([
    ['an unknown model', inferRequest({ model_name: 'other' }), status.NOT_FOUND, '"other"'],
    ['an unknown version', inferRequest({ model_version: '7' }), status.NOT_FOUND, '"7"'],
    [
      'a shape its data does not fill',
      inferRequest({
        inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], contents: { fp32_contents: flat } }],
      }),
      status.INVALID_ARGUMENT,
      'needs 8',
    ],
    [
      'a row of the wrong width',
      inferRequest({
        inputs: [{ name: 'input', datatype: 'FP32', shape: [4, 3], contents: { fp32_contents: flat } }],
      }),
      status.INVALID_ARGUMENT,
      'dimension 1',
    ],
    [
      'an unknown datatype',
      inferRequest({
        inputs: [{ name: 'input', datatype: 'FP128', shape: [3, 4], contents: { fp32_contents: flat } }],
      }),
      status.INVALID_ARGUMENT,
      'FP128',
    ],
    [
      'data in the wrong contents field',
      inferRequest({
        inputs: [{ name: 'input', datatype: 'FP32', shape: [3, 4], contents: { fp64_contents: flat } }],
      }),
      status.INVALID_ARGUMENT,
      'fp32_contents',
    ],
    [
      'raw bytes of the wrong length',
      inferRequest({
        inputs: [{ name: 'input', datatype: 'FP32', shape: [3, 4] }],
        raw_input_contents: [Buffer.alloc(47)],
      }),
      status.INVALID_ARGUMENT,
      '47 bytes',
    ],
    [
      'raw bytes for only some inputs',
      inferRequest({ raw_input_contents: [float32LE(flat), float32LE(flat)] }),
      status.INVALID_ARGUMENT,
      'raw_input_contents',
    ],
    [
      'an unknown input',
      inferRequest({
        inputs: [{ name: 'x', datatype: 'FP32', shape: [3, 4], contents: { fp32_contents: flat } }],
      }),
      status.INVALID_ARGUMENT,
      '"x"',
    ],
    ['no inputs', inferRequest({ inputs: [] }), status.INVALID_ARGUMENT, 'missing input'],
    [
      'an unknown output',
      inferRequest({ outputs: [{ name: 'logits' }] }),
      status.INVALID_ARGUMENT,
      '"logits"',
    ],
  ] as const)('answers ModelInfer with %s', async (_name, request, code, mentions) => {
    const e = await failure(modelInfer(request));
    expect(e.code).toBe(code);
    expect(e.details).toContain(mentions);
  });
});

describe('gRPC health, metrics and robustness', () => {
  // A client's concurrent calls share one connection; with HTTP/2's 64 KB default windows the
  // batcher could only ever see ~20 small calls of it at once (server/grpc/flow-control.ts).
  it('opens wide HTTP/2 flow-control windows to every connection, so concurrent calls can be batched', async () => {
    const session = http2.connect(`http://${address}`);
    try {
      // The server's first SETTINGS carry HTTP/2's defaults; the wide ones and the connection's
      // WINDOW_UPDATE follow as soon as its session exists.
      const widened = () =>
        session.remoteSettings?.initialWindowSize === STREAM_WINDOW_BYTES &&
        session.state.remoteWindowSize === CONNECTION_WINDOW_BYTES;
      for (let i = 0; i < 200 && !widened(); i++) await new Promise((r) => setTimeout(r, 10));
      expect(session.remoteSettings.initialWindowSize).toBe(STREAM_WINDOW_BYTES);
      expect(session.state.remoteWindowSize).toBe(CONNECTION_WINDOW_BYTES);
    } finally {
      session.close();
    }
  });

  it('answers the standard health check for the server and each service', async () => {
    const h = grpc.health;
    for (const service of ['', 'inference.GRPCInferenceService', 'tensorflow.serving.PredictionService']) {
      expect(await call(h.Check.bind(h), { service })).toEqual({ status: 'SERVING' });
    }
    expect((await failure(call(h.Check.bind(h), { service: 'nope' }))).code).toBe(status.NOT_FOUND);
  });

  it('counts gRPC requests by protocol, transport and status name', async () => {
    await modelInfer(inferRequest());
    await failure(modelInfer(inferRequest({ model_name: 'other' })));
    const m = parseMetrics((await app.inject({ method: 'GET', url: '/metrics' })).body);
    const labels = { protocol: 'v2', transport: 'grpc', endpoint: 'infer' };
    expect(total(m, 'k2k_requests_total', { ...labels, code: 'OK', version: VERSION })).toBeGreaterThan(0);
    expect(total(m, 'k2k_requests_total', { ...labels, code: 'NOT_FOUND' })).toBeGreaterThan(0);
    expect(total(m, 'k2k_requests_in_flight', { transport: 'grpc' })).toBe(0);
  });

  /** Sends `bytes` as the request message of `method`, past any client-side encoding. */
  function rawCall(client: Client, method: string, bytes: Buffer): Promise<number> {
    return new Promise((resolve) => {
      client.makeUnaryRequest(
        method,
        (b: Buffer) => b,
        (b: Buffer) => b,
        bytes,
        (err) => resolve(err ? err.code : status.OK),
      );
    });
  }

  it('answers undecodable protobuf bytes with INVALID_ARGUMENT and stays healthy (fuzzed)', async () => {
    const client = new Client(address, (await import('@grpc/grpc-js')).credentials.createInsecure());
    const methods = [
      '/tensorflow.serving.PredictionService/Predict',
      '/tensorflow.serving.PredictionService/GetModelMetadata',
      '/tensorflow.serving.ModelService/GetModelStatus',
      '/inference.GRPCInferenceService/ModelInfer',
      '/inference.GRPCInferenceService/ModelMetadata',
    ];
    // A truncated length-delimited field can never decode.
    expect(await rawCall(client, methods[0]!, Buffer.from([0x0a, 0x05, 0x01]))).toBe(status.INVALID_ARGUMENT);
    const allowed = new Set([
      status.OK,
      status.INVALID_ARGUMENT,
      status.NOT_FOUND,
      status.RESOURCE_EXHAUSTED,
    ]);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...methods),
        fc.uint8Array({ maxLength: 256 }),
        async (method, bytes) => {
          const code = await rawCall(client, method, Buffer.from(bytes));
          expect(allowed, `${method} ${Buffer.from(bytes).toString('hex')} → ${status[code]}`).toContain(
            code,
          );
        },
      ),
      { numRuns: 300 },
    );
    client.close();
    expect((await predict(predictRequest())).outputs.output!.float_val).toHaveLength(9);
  });

  it('answers fuzzed tensors with OK or INVALID_ARGUMENT and stays healthy', async () => {
    const datatypes = ['FP32', 'FP64', 'INT32', 'INT64', 'UINT8', 'BOOL', 'BYTES', 'FP16', 'XX'];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...datatypes),
        fc.array(fc.nat({ max: 6 }), { maxLength: 4 }),
        fc.oneof(fc.array(fc.float(), { maxLength: 30 }), fc.uint8Array({ maxLength: 120 })),
        async (datatype, shape, data) => {
          const input = { name: 'input', datatype, shape };
          const request =
            data instanceof Uint8Array
              ? inferRequest({ inputs: [input], raw_input_contents: [Buffer.from(data)] })
              : inferRequest({ inputs: [{ ...input, contents: { fp32_contents: data } }] });
          try {
            await modelInfer(request);
          } catch (err) {
            expect((err as { code: number }).code, (err as Error).message).toBe(status.INVALID_ARGUMENT);
          }
        },
      ),
      { numRuns: 300 },
    );
    expect((await modelInfer(inferRequest())).outputs).toHaveLength(1);
  });
});

describe('gRPC without a model, and overloaded', () => {
  it('answers UNAVAILABLE and NOT_SERVING while no model is loaded', async () => {
    const idle = await buildApp({ settings: testSettings(uri), store, autoLoad: false });
    const port = await idle.grpc.listen('127.0.0.1', 0);
    const c = grpcClients(`127.0.0.1:${port}`);
    try {
      expect(await call(c.inference.ServerReady.bind(c.inference), {})).toEqual({ ready: false });
      expect(await call(c.health.Check.bind(c.health), { service: '' })).toEqual({ status: 'NOT_SERVING' });
      const e = await failure(call(c.inference.ModelInfer.bind(c.inference), inferRequest()));
      expect(e).toMatchObject({ code: status.UNAVAILABLE, details: expect.stringContaining('loading') });
      const p = await failure(call(c.prediction.Predict.bind(c.prediction), predictRequest()));
      expect(p.code).toBe(status.UNAVAILABLE);
    } finally {
      c.close();
      await idle.close();
    }
  });

  it('answers RESOURCE_EXHAUSTED past the batch queue bound, and serves the queued request', async () => {
    const busy = await buildApp({
      settings: testSettings(uri, { batching: { maxBatchSize: 100, maxDelayMs: 300, maxQueuedRows: 3 } }),
      store,
    });
    await waitReady(busy);
    const c = grpcClients(`127.0.0.1:${await busy.grpc.listen('127.0.0.1', 0)}`);
    try {
      const first = call(c.inference.ModelInfer.bind(c.inference), inferRequest());
      await new Promise((r) => setTimeout(r, 50));
      const e = await failure(call(c.inference.ModelInfer.bind(c.inference), inferRequest()));
      expect(e).toMatchObject({
        code: status.RESOURCE_EXHAUSTED,
        details: expect.stringContaining('overloaded'),
      });
      expect((await first).outputs).toHaveLength(1);
    } finally {
      c.close();
      await busy.close();
    }
  });
});
