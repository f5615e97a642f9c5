// The server under hostile or excessive traffic, on real loopback sockets: slow clients are cut
// off, bodies too deep or too large are refused before parsing, an overload burst gets 503 with
// Retry-After and never 500, the reload trigger is not on the serving port — and afterwards the
// server is ready and answers a normal request.
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURI, openStore } from '../../lib/storage/index.ts';
import { buildApp } from '../app.ts';
import type { LoadedSettings } from '../config.ts';
import { initBackend } from '../model/backend.ts';
import { tabularRows, testSettings, waitReady, writeTabularArtifact } from './fixtures.ts';

const store = openStore();
let dir: string;
let uri: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-hardening-'));
  uri = await writeTabularArtifact(store, fileURI(dir), 'tiny', '1');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A ready server listening on a loopback port; closed by the caller. */
async function listening(
  overrides: Partial<LoadedSettings> = {},
): Promise<{ app: FastifyInstance; base: string }> {
  const app = await buildApp({ settings: testSettings(uri, overrides), store });
  await waitReady(app);
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base };
}

const tfBody = (rows: number[][]) => JSON.stringify({ instances: rows });
const v2Body = (rows: number[][]) =>
  JSON.stringify({
    inputs: [{ name: 'input', shape: [rows.length, 4], datatype: 'FP64', data: rows.flat() }],
  });

async function post(base: string, url: string, body: string) {
  const r = await fetch(`${base}${url}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return {
    status: r.status,
    retryAfter: r.headers.get('retry-after'),
    body: (await r.json()) as Record<string, unknown>,
  };
}

/** The server is ready and predicts: what must hold after every attack. */
async function expectHealthy(base: string): Promise<void> {
  expect((await fetch(`${base}/readyz`)).status).toBe(200);
  const r = await post(base, '/v1/models/tiny:predict', tfBody(tabularRows(2, 1)));
  expect(r.status).toBe(200);
  expect(r.body.predictions).toHaveLength(2);
}

interface Trickle {
  socket: Socket;
  /** What the server sent back before it closed the socket. */
  closed: Promise<{ answer: string; afterMs: number }>;
  stop(): void;
}

/** A client that sends `head` then one more byte of `tail` every `everyMs`, never finishing. */
function trickle(base: string, head: string, tail: string, everyMs: number): Trickle {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  const started = Date.now();
  let answer = '';
  socket.setEncoding('utf8').on('data', (d: string) => {
    answer += d;
  });
  socket.on('error', () => undefined); // a reset is one way of being cut off
  socket.write(head);
  let i = 0;
  const timer = setInterval(() => {
    if (!socket.destroyed && !socket.writableEnded) socket.write(tail[i++ % tail.length] as string);
  }, everyMs);
  const closed = new Promise<{ answer: string; afterMs: number }>((resolve) =>
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ answer, afterMs: Date.now() - started });
    }),
  );
  return { socket, closed, stop: () => socket.destroy() };
}

describe('slow clients (slowloris)', () => {
  it('cuts off clients that trickle headers or a body, and answers others meanwhile', async () => {
    const { app, base } = await listening({
      headersTimeoutSeconds: 1,
      requestTimeoutSeconds: 2,
      idleTimeoutSeconds: 60,
    });
    const body = tfBody(tabularRows(1, 3));
    const clients = [
      // Headers that never end: one more header byte every 100 ms keeps the socket busy.
      ...Array.from({ length: 5 }, () =>
        trickle(base, 'POST /v1/models/tiny:predict HTTP/1.1\r\nHost: x\r\n', 'X-Slow: aaaaaaaa\r\n', 100),
      ),
      // Complete headers, then a body that never ends.
      ...Array.from({ length: 5 }, () =>
        trickle(
          base,
          `POST /v1/models/tiny:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length + 1000}\r\n\r\n`,
          body,
          100,
        ),
      ),
    ];
    try {
      // While they trickle, others are served.
      await new Promise((r) => setTimeout(r, 300));
      expect(clients.every((c) => !c.socket.destroyed)).toBe(true);
      await expectHealthy(base);
      const results = await Promise.all(clients.map((c) => c.closed));
      for (const r of results) {
        // 408 from Node's timeout checker (whose precision is 1 s), never an answer to the request.
        expect(r.answer).toMatch(/^HTTP\/1\.1 408 /);
        expect(r.afterMs).toBeLessThan(5000);
      }
      await expectHealthy(base);
    } finally {
      for (const c of clients) c.stop();
      await app.close();
    }
  });
});

describe('bodies too deep or too large', () => {
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    ({ app, base } = await listening({
      bodyLimitBytes: 1024 * 1024,
      maxJsonDepth: 32,
      maxJsonElements: 10_000,
      maxRequestRows: 100,
    }));
  });
  afterAll(() => app?.close());

  // About 40 KB of nesting: enough to overflow a recursive parser or walker.
  const deepArray = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
  const deepObject = `${'{"a":'.repeat(8_000)}1${'}'.repeat(8_000)}`;
  const TF = '/v1/models/tiny:predict';
  const V2 = '/v2/models/tiny/infer';
  it.each([
    {
      name: 'refuses deeply nested arrays as instances (TF Serving)',
      url: TF,
      body: `{"instances":${deepArray}}`,
      status: 400,
      code: 'NestingTooDeep',
      says: 'deeper than 32 levels (K2K_MAX_JSON_DEPTH)',
    },
    {
      name: 'refuses deeply nested objects (TF Serving)',
      url: TF,
      body: `{"instances":[${deepObject}]}`,
      status: 400,
      code: 'NestingTooDeep',
      says: 'K2K_MAX_JSON_DEPTH',
    },
    {
      name: 'refuses deeply nested arrays as data (Open Inference Protocol)',
      url: V2,
      body: `{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":${deepArray}}]}`,
      status: 400,
      code: 'NestingTooDeep',
      says: 'K2K_MAX_JSON_DEPTH',
    },
    {
      name: 'refuses deeply nested objects as parameters (Open Inference Protocol)',
      url: V2,
      body: `{"inputs":[],"parameters":${deepObject}}`,
      status: 400,
      code: 'NestingTooDeep',
      says: 'K2K_MAX_JSON_DEPTH',
    },
    {
      name: 'ignores brackets inside strings when measuring depth',
      url: TF,
      body: JSON.stringify({ instances: [{ input: [1, 2, 3, 4] }], signature_name: '['.repeat(100) }),
      status: 400,
      code: 'InvalidRequest',
      says: '',
    },
    {
      name: 'refuses more values than allowed (TF Serving)',
      url: TF,
      body: tfBody(tabularRows(3000, 5)),
      status: 413,
      code: 'TooManyElements',
      says: 'more than 10000 values (K2K_MAX_JSON_ELEMENTS)',
    },
    {
      name: 'refuses more values than allowed (Open Inference Protocol)',
      url: V2,
      body: v2Body(tabularRows(3000, 5)),
      status: 413,
      code: 'TooManyElements',
      says: 'K2K_MAX_JSON_ELEMENTS',
    },
    {
      name: 'refuses more rows than allowed (TF Serving)',
      url: TF,
      body: tfBody(tabularRows(101, 6)),
      status: 413,
      code: 'TooManyRows',
      says: 'the request has 101 rows; at most 100 are allowed (K2K_MAX_REQUEST_ROWS)',
    },
    {
      name: 'refuses more rows than allowed (Open Inference Protocol)',
      url: V2,
      body: v2Body(tabularRows(101, 6)),
      status: 413,
      code: 'TooManyRows',
      says: 'K2K_MAX_REQUEST_ROWS',
    },
    {
      name: 'serves a request at the row limit',
      url: V2,
      body: v2Body(tabularRows(100, 6)),
      status: 200,
      code: undefined,
      says: '',
    },
  ])('$name', async ({ url, body, status, code, says }) => {
    const r = await post(base, url, body);
    expect([r.status, r.body.code]).toEqual([status, code]);
    if (says) expect(r.body.error).toContain(says);
    await expectHealthy(base);
  });
});

describe('an overload burst', () => {
  it('answers the excess with 503 and Retry-After, never 500, and serves normally afterwards', async () => {
    const { app, base } = await listening({
      maxEventLoopDelayMs: 50,
      batching: { maxBatchSize: 16, maxDelayMs: 0, maxQueuedRows: 64 },
    });
    try {
      // The tiny model is fast enough that a quiet machine keeps up with any burst, so the test makes
      // the overload certain: as soon as the first request reaches the server, the event loop is
      // held for 300 ms with the rest of the burst in flight, which is what a slow synchronous
      // batch does to it. (Holding it in the test before the burst reached the server proved
      // nothing: the client shares the loop, so the requests were only sent after it.)
      app.server.once('request', () => {
        const holdUntil = performance.now() + 300;
        while (performance.now() < holdUntil) {
          // busy: the event loop falls behind, as under a real overload
        }
      });
      const sent = Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          post(base, '/v2/models/tiny/infer', v2Body(tabularRows(16, 100 + i))),
        ),
      );
      const burst = await sent;
      const statuses = burst.map((r) => r.status);
      const overloaded = burst.filter((r) => r.status === 503);
      expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
      expect(overloaded.length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
      for (const r of overloaded) {
        expect(r.body.code).toBe('Overloaded');
        expect(r.retryAfter).toBe('1');
      }
      // Afterwards, as a client honouring Retry-After would: ready at once, and predicting again
      // as soon as the loop caught up (on a busy machine that may take a moment).
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      let after = await post(base, '/v1/models/tiny:predict', tfBody(tabularRows(2, 1)));
      for (let i = 0; i < 20 && after.status === 503; i++) {
        await new Promise((r) => setTimeout(r, 250));
        after = await post(base, '/v1/models/tiny:predict', tfBody(tabularRows(2, 1)));
      }
      expect([after.status, after.body.predictions]).toEqual([200, expect.any(Array)]);
    } finally {
      await app.close();
    }
  });
});

describe('the reload trigger', () => {
  it('is only on the admin listener, which binds loopback, never on the serving port', async () => {
    const { app, base } = await listening();
    try {
      const onServing = await fetch(`${base}/admin/reload`, { method: 'POST' });
      expect([onServing.status, ((await onServing.json()) as { code: string }).code]).toEqual([
        404,
        'RouteNotFound',
      ]);
      const admin = await app.admin.listen({ host: testSettings(uri).admin.host, port: 0 });
      expect(new URL(admin).hostname).toBe('127.0.0.1');
      const reload = await fetch(`${admin}/admin/reload`, { method: 'POST' });
      expect(await reload.json()).toEqual({ model: 'tiny', changed: false, version: '1' });
    } finally {
      await app.close();
    }
    // Closing the app closed the admin listener with it.
    expect(app.admin.server.listening).toBe(false);
  });
});
