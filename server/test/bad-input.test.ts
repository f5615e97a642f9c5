// Property-based bad input: thousands of malformed bodies, each must get a 4xx with a JSON error,
// and the server must stay healthy (ready, still predicting, no unhandled rejection).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURI, openStore } from '../../lib/storage/index.ts';
import { buildApp } from '../app.ts';
import { initBackend } from '../model/backend.ts';
import { testSettings, waitReady, writeTabularArtifact } from './fixtures.ts';

const store = openStore();
let dir: string;
let app: FastifyInstance;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onRejection);
  await initBackend('wasm');
  dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-fuzz-'));
  const uri = await writeTabularArtifact(store, fileURI(dir), 'tiny', '1');
  app = await buildApp({ settings: testSettings(uri, { bodyLimitBytes: 64 * 1024 }), store });
  await waitReady(app);
});

afterAll(async () => {
  process.off('unhandledRejection', onRejection);
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

const RUNS = 600;
const TF = '/v1/models/tiny:predict';
const V2 = '/v2/models/tiny/infer';

async function expectClientError(
  url: string,
  payload: string,
  contentType = 'application/json',
): Promise<void> {
  const r = await app.inject({ method: 'POST', url, headers: { 'content-type': contentType }, payload });
  if (r.statusCode < 400 || r.statusCode >= 500) {
    throw new Error(`${url} answered ${r.statusCode} to ${payload.slice(0, 200)}: ${r.body.slice(0, 200)}`);
  }
  const body = JSON.parse(r.body) as { error?: unknown; code?: unknown };
  if (typeof body.error !== 'string' || body.error === '' || typeof body.code !== 'string') {
    throw new Error(`${url} answered ${r.statusCode} without a JSON error: ${r.body.slice(0, 200)}`);
  }
}

/** Anything but a finite number: what a float tensor element must never be. */
const notANumber = fc.oneof(
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
);
const row = fc.array(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), {
  minLength: 4,
  maxLength: 4,
});
const rows = fc.array(row, { minLength: 1, maxLength: 8 });
/** Tokens JSON.stringify cannot produce but a careless client might send. */
const badLiteral = fc.constantFrom('NaN', 'Infinity', '-Infinity', 'undefined', '1e999', "'1'");

describe('malformed bodies', () => {
  it('answers arbitrary JSON without instances/inputs with 4xx on both protocols', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .jsonValue()
          .filter((v) => !(typeof v === 'object' && v !== null && ('instances' in v || 'inputs' in v))),
        async (v) => {
          await expectClientError(TF, JSON.stringify(v));
          await expectClientError(V2, JSON.stringify(v));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('answers bytes that are not JSON with 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1 }).filter((s) => {
          try {
            JSON.parse(s);
            return false;
          } catch {
            return true;
          }
        }),
        fc.constantFrom(TF, V2),
        async (s, url) => expectClientError(url, s),
      ),
      { numRuns: RUNS },
    );
  });

  it('answers a valid request with one element corrupted with 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(rows, fc.nat(), notANumber, fc.boolean(), async (rs, pick, bad, useV2) => {
        const flat: unknown[] = rs.flat();
        flat[pick % flat.length] = bad;
        if (useV2) {
          await expectClientError(
            V2,
            JSON.stringify({
              inputs: [{ name: 'input', shape: [rs.length, 4], datatype: 'FP32', data: flat }],
            }),
          );
        } else {
          const nested = rs.map((_, i) => flat.slice(i * 4, i * 4 + 4));
          await expectClientError(TF, JSON.stringify({ instances: nested }));
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('answers non-finite literals in the data with 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(rows, fc.nat(), badLiteral, async (rs, pick, literal) => {
        const flat = rs.flat().map(String);
        flat[pick % flat.length] = literal;
        await expectClientError(
          V2,
          `{"inputs":[{"name":"input","shape":[${rs.length},4],"datatype":"FP32","data":[${flat.join(',')}]}]}`,
        );
        await expectClientError(TF, `{"instances":[[${flat.join(',')}]]}`);
      }),
      { numRuns: RUNS / 2 },
    );
  });

  it('answers shapes, datatypes and names that do not fit the model with 4xx', async () => {
    const shape = fc.array(fc.integer({ min: -2, max: 9 }), { maxLength: 4 });
    const datatype = fc.oneof(
      fc.constantFrom('BYTES', 'BOOL', 'FLOAT', 'fp32', '', 'STRING'),
      fc.string({ maxLength: 6 }),
    );
    await fc.assert(
      fc.asyncProperty(
        rows,
        shape,
        datatype,
        fc.string({ maxLength: 8 }),
        fc.nat(3),
        async (rs, s, dt, name, which) => {
          const data = rs.flat();
          const input = { name: 'input', shape: [rs.length, 4], datatype: 'FP32', data } as Record<
            string,
            unknown
          >;
          // Change exactly one thing, and only to something wrong.
          if (which === 0) {
            if (s.length === 2 && s[0] === rs.length && s[1] === 4) s.push(1);
            if (s.length === 2 && s[0]! > 0 && s[0]! * s[1]! === data.length && s[1] === 4) s.push(2);
            input.shape = s;
          } else if (which === 1) {
            input.datatype = ['FP32', 'FP64', 'FP16'].includes(dt) ? 'BYTES' : dt;
          } else if (which === 2) {
            input.name = name === 'input' ? 'inputs' : name;
          } else {
            delete input[['name', 'shape', 'datatype', 'data'][rs.length % 4]!];
          }
          // A datatype string the enum accepts (INT8, UINT8, ...) may still fit the values; skip those.
          if (which === 1 && /^(U?INT(8|16|32|64))$/.test(input.datatype as string)) return;
          await expectClientError(V2, JSON.stringify({ inputs: [input] }));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('answers bodies over the size limit with 413', async () => {
    const r = await app.inject({
      method: 'POST',
      url: V2,
      headers: { 'content-type': 'application/json' },
      payload: `{"inputs":[${' '.repeat(70 * 1024)}]}`,
    });
    expect([r.statusCode, r.json().code]).toEqual([413, 'BodyTooLarge']);
    const form = await app.inject({
      method: 'POST',
      url: TF,
      headers: { 'content-type': 'multipart/form-data' },
      payload: 'x',
    });
    expect([form.statusCode, form.json().code]).toEqual([415, 'UnsupportedMediaType']);
  });

  it('stays healthy afterwards', async () => {
    expect((await app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode).toBe(200);
    const ok = await app.inject({ method: 'POST', url: TF, payload: { instances: [[0, 5, -3, 100]] } });
    expect(ok.statusCode).toBe(200);
    expect(rejections).toEqual([]);
    // Failed requests were counted by status code, and nothing is left in flight.
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(
      /k2k_requests_total\{protocol="v2",transport="http",endpoint="infer",code="400"[^}]*\} \d{3,}/,
    );
    expect(metrics).toMatch(/k2k_requests_in_flight\{protocol="v2",transport="http"[^}]*\} 0/);
  });
});
