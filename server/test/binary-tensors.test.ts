// The Open Inference Protocol's binary tensor extension over REST: binary inputs and outputs give
// the same numbers as JSON, and every disagreement between Inference-Header-Content-Length, the
// body and binary_data_size is a 400 that names the numbers.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURI, openStore } from '../../lib/storage/index.ts';
import { buildApp } from '../app.ts';
import { initBackend } from '../model/backend.ts';
import {
  float32LE,
  readFloat32LE,
  tabularRows,
  testSettings,
  waitReady,
  writeTabularArtifact,
} from './fixtures.ts';

const store = openStore();
let dir: string;
let app: FastifyInstance;

beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-binary-'));
  const uri = await writeTabularArtifact(store, fileURI(dir), 'tiny', '1');
  app = await buildApp({ settings: testSettings(uri), store });
  await waitReady(app);
});

afterAll(async () => {
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

const flat = tabularRows(2, 5).flat();

/** A binary-extension request: the JSON header, then `binary`; the header length as given. */
function binaryRequest(json: object, binary: Buffer, headerLength?: string) {
  const head = Buffer.from(JSON.stringify(json));
  return app.inject({
    method: 'POST',
    url: '/v2/models/tiny/infer',
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': headerLength ?? String(head.length),
    },
    payload: Buffer.concat([head, binary]),
  });
}

const binaryInput = (size: number) => ({
  inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: size } }],
});

async function jsonOutputs(): Promise<number[]> {
  const r = await app.inject({
    method: 'POST',
    url: '/v2/models/tiny/infer',
    payload: { inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: flat }] },
  });
  expect(r.statusCode).toBe(200);
  return r.json().outputs[0].data;
}

describe('the binary tensor extension', () => {
  it('takes a binary input and answers in JSON with what a JSON request gets', async () => {
    const r = await binaryRequest(binaryInput(32), float32LE(flat));
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.json().outputs[0].data).toEqual(await jsonOutputs());
  });

  it.each([
    ['for all outputs (binary_data_output)', { parameters: { binary_data_output: true } }],
    ['for one output (binary_data)', { outputs: [{ name: 'output', parameters: { binary_data: true } }] }],
  ])('answers binary outputs when asked %s', async (_name, ask) => {
    const r = await binaryRequest({ ...binaryInput(32), ...ask }, float32LE(flat));
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    const headerLength = Number(r.headers['inference-header-content-length']);
    const body = r.rawPayload;
    const header = JSON.parse(body.subarray(0, headerLength).toString('utf8'));
    expect(header.outputs).toEqual([
      { name: 'output', shape: [2, 3], datatype: 'FP32', parameters: { binary_data_size: 24 } },
    ]);
    expect(readFloat32LE(body.subarray(headerLength))).toEqual(await jsonOutputs());
  });

  it('answers binary outputs to a JSON request that asks for them', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/v2/models/tiny/infer',
      payload: {
        inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: flat }],
        parameters: { binary_data_output: true },
      },
    });
    expect(r.statusCode).toBe(200);
    const n = Number(r.headers['inference-header-content-length']);
    expect(readFloat32LE(r.rawPayload.subarray(n))).toEqual(await jsonOutputs());
  });

  it.each([
    [
      'a header length past the end of the body',
      () => binaryRequest(binaryInput(32), float32LE(flat), '100000'),
      'InvalidRequest',
      'Inference-Header-Content-Length is 100000 but the body has only',
    ],
    [
      'a header length that is not a number',
      () => binaryRequest(binaryInput(32), float32LE(flat), '12abc'),
      'InvalidRequest',
      'must be a non-negative integer, got "12abc"',
    ],
    [
      'a header length that cuts the JSON short',
      () => binaryRequest(binaryInput(32), float32LE(flat), '20'),
      'InvalidJSON',
      'the first 20 bytes of the body (Inference-Header-Content-Length) are not valid JSON',
    ],
    [
      'binary_data_size below the binary part',
      () => binaryRequest(binaryInput(28), float32LE(flat)),
      'InvalidRequest',
      "has 32 bytes, but the inputs' binary_data_size add up to 28",
    ],
    [
      'binary_data_size past the binary part',
      () => binaryRequest(binaryInput(36), float32LE(flat)),
      'InvalidRequest',
      'binary_data_size is 36 at byte 0 of the binary part, which has only 32 bytes',
    ],
    [
      'a binary size that disagrees with the shape',
      () => binaryRequest(binaryInput(28), float32LE(flat).subarray(0, 28)),
      'InvalidShape',
      '28 bytes of FP32 data, but shape [2, 4] needs 8 × 4 = 32 bytes',
    ],
    [
      'binary_data_size without a binary part',
      () => app.inject({ method: 'POST', url: '/v2/models/tiny/infer', payload: binaryInput(32) }),
      'InvalidRequest',
      'the request has no binary part',
    ],
    [
      'an octet-stream body without the header',
      () =>
        app.inject({
          method: 'POST',
          url: '/v2/models/tiny/infer',
          headers: { 'content-type': 'application/octet-stream' },
          payload: float32LE(flat),
        }),
      'InvalidRequest',
      'needs the Inference-Header-Content-Length header',
    ],
    [
      'a negative binary_data_size',
      () => binaryRequest(binaryInput(-4), float32LE(flat)),
      'InvalidRequest',
      'binary_data_size must be a non-negative integer, got -4',
    ],
    [
      'binary tensors sent to TensorFlow Serving',
      () =>
        app.inject({
          method: 'POST',
          url: '/v1/models/tiny:predict',
          headers: { 'content-type': 'application/json', 'inference-header-content-length': '27' },
          payload: Buffer.concat([Buffer.from('{"instances":[[1,2,3,4.5]]}'), float32LE(flat)]),
        }),
      'InvalidRequest',
      'Open Inference Protocol extension',
    ],
  ] as const)('answers %s with 400', async (_name, send, code, mentions) => {
    const r = await send();
    expect(r.statusCode, r.body).toBe(400);
    expect(r.json().code).toBe(code);
    expect(r.json().error).toContain(mentions);
  });

  it('stays healthy after the bad requests', async () => {
    const r = await binaryRequest(binaryInput(32), float32LE(flat));
    expect(r.statusCode).toBe(200);
  });
});
