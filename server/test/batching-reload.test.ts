// Micro-batching over HTTP (each caller gets exactly its own rows) and hot reload (a new version
// takes over while requests queued on the old one finish on the old one).
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
  parseMetrics,
  sample,
  tabularRows,
  testSettings,
  total,
  waitReady,
  writeTabularArtifact,
} from './fixtures.ts';

const store = openStore();
let dir: string;
let root: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-batch-'));
  root = fileURI(dir);
  await writeTabularArtifact(store, root, 'tiny', '1');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function infer(app: FastifyInstance, rows: number[][]) {
  return app.inject({
    method: 'POST',
    url: '/v2/models/tiny/infer',
    payload: { inputs: [{ name: 'input', shape: [rows.length, 4], datatype: 'FP64', data: rows.flat() }] },
  });
}

describe('micro-batching', () => {
  it('gathers concurrent requests into one model call and answers each with exactly its own rows', async () => {
    // The batch closes when 36 rows are queued; the wait is long enough never to matter.
    const sizes = [1, 2, 3, 4, 5, 6, 7, 8];
    const total = sizes.reduce((s, n) => s + n, 0);
    const app = await buildApp({
      settings: testSettings(joinURI(root, 'tiny', '1/'), {
        batching: { maxBatchSize: total, maxDelayMs: 60_000 },
      }),
      store,
    });
    try {
      await waitReady(app);
      const inputs = sizes.map((n, i) => tabularRows(n, 100 + i));
      const batched = await Promise.all(inputs.map((rows) => infer(app, rows)));
      // The same rows one request at a time, from an app that does not batch.
      const single = await buildApp({
        settings: testSettings(joinURI(root, 'tiny', '1/'), { batching: { maxBatchSize: 1, maxDelayMs: 0 } }),
        store,
      });
      try {
        await waitReady(single);
        for (let i = 0; i < inputs.length; i++) {
          expect(batched[i]!.statusCode).toBe(200);
          const got = batched[i]!.json().outputs[0];
          const want = (await infer(single, inputs[i]!)).json().outputs[0];
          expect(got.shape).toEqual([sizes[i], 3]);
          expect(got.data).toEqual((want.data as number[]).map((v) => expect.closeTo(v, 5)));
        }
      } finally {
        await single.close();
      }
      const m = parseMetrics((await app.inject({ method: 'GET', url: '/metrics' })).body);
      // Warm-up runs outside the batcher: one batch of all 8 requests and 36 rows.
      expect(sample(m, 'k2k_batch_requests_count', { version: '1' })).toBe(1);
      expect(sample(m, 'k2k_batch_requests_sum', { version: '1' })).toBe(sizes.length);
      expect(sample(m, 'k2k_batch_size_rows_sum', { version: '1' })).toBe(total);
    } finally {
      await app.close();
    }
  });

  it('splits a burst larger than the maximum batch into several calls', async () => {
    const app = await buildApp({
      settings: testSettings(joinURI(root, 'tiny', '1/'), {
        batching: { maxBatchSize: 4, maxDelayMs: 60_000 },
      }),
      store,
    });
    try {
      await waitReady(app);
      const inputs = Array.from({ length: 12 }, (_, i) => tabularRows(1, 300 + i));
      const answers = await Promise.all(inputs.map((rows) => infer(app, rows)));
      expect(answers.map((a) => a.statusCode)).toEqual(new Array(12).fill(200));
      const m = parseMetrics((await app.inject({ method: 'GET', url: '/metrics' })).body);
      expect(sample(m, 'k2k_batch_size_rows_count', { version: '1' })).toBe(3);
      expect(sample(m, 'k2k_batch_size_rows_bucket', { version: '1', le: '4' })).toBe(3);
    } finally {
      await app.close();
    }
  });
});

describe('hot reload', () => {
  it('switches to a newer version while queued requests finish on the old one', async () => {
    const modelURI = joinURI(root, 'tiny/');
    // Requests wait in the batcher until the batch is full (100 rows) or the version is retired.
    const app = await buildApp({
      settings: testSettings(modelURI, { batching: { maxBatchSize: 100, maxDelayMs: 60_000 } }),
      store,
    });
    try {
      await waitReady(app);
      expect(app.models.current?.version).toBe('1');
      let finished = 0;
      const inFlight = Array.from({ length: 5 }, (_, i) =>
        infer(app, tabularRows(2, 500 + i)).then((r) => {
          finished++;
          return r;
        }),
      );
      // All five wait in the batcher (the batch never fills), none answered.
      await eventually(
        async () =>
          total(
            parseMetrics((await app.inject({ method: 'GET', url: '/metrics' })).body),
            'k2k_requests_in_flight',
            {
              protocol: 'v2',
            },
          ) === 5,
        { what: 'five requests in flight', intervalMs: 10 },
      );
      expect(finished).toBe(0);

      await writeTabularArtifact(store, root, 'tiny', '2');
      const reload = await app.admin.inject({ method: 'POST', url: '/admin/reload' });
      expect(reload.json()).toEqual({ model: 'tiny', changed: true, version: '2' });

      const old = await Promise.all(inFlight);
      for (const r of old) expect([r.statusCode, r.json().model_version]).toEqual([200, '1']);
      const again = await app.admin.inject({ method: 'POST', url: '/admin/reload' });
      expect(again.json()).toEqual({ model: 'tiny', changed: false, version: '2' });
      const fresh = infer(app, tabularRows(1, 9));
      app.models.current?.retire(); // do not wait for the batch to fill
      expect((await fresh).json().model_version).toBe('2');

      const m = parseMetrics((await app.inject({ method: 'GET', url: '/metrics' })).body);
      expect(
        sample(m, 'k2k_requests_total', { protocol: 'v2', endpoint: 'infer', code: '200', version: '1' }),
      ).toBe(5);
      expect(
        sample(m, 'k2k_requests_total', { protocol: 'v2', endpoint: 'infer', code: '200', version: '2' }),
      ).toBe(1);
      expect(sample(m, 'k2k_model_load_duration_seconds_count', { version: '2', result: 'success' })).toBe(1);
      expect(sample(m, 'k2k_model_ready')).toBe(1);
      expect(m.find((s) => s.name === 'k2k_model_ready')?.labels.version).toBe('2');
    } finally {
      await app.close();
    }
  });

  it('keeps serving the current version when a reload fails', async () => {
    const modelURI = joinURI(root, 'tiny/');
    const app = await buildApp({ settings: testSettings(modelURI), store });
    try {
      await waitReady(app);
      const before = app.models.current!.version;
      // A newer version whose manifest lists a file that is not there.
      const next = String(Number(before) + 1);
      await store.put(
        joinURI(root, 'tiny', next, 'manifest.json'),
        JSON.stringify({
          ...JSON.parse((await store.get(joinURI(root, 'tiny', before, 'manifest.json'))).toString()),
          version: next,
        }),
      );
      const r = await app.admin.inject({ method: 'POST', url: '/admin/reload' });
      expect([r.statusCode, r.json().code]).toEqual([500, 'ReloadFailed']);
      expect(r.json().error).toContain(`tiny/${next}/`);
      expect((await app.inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({
        ready: true,
        version: before,
      });
      expect((await infer(app, tabularRows(1, 1))).json().model_version).toBe(before);
    } finally {
      await app.close();
    }
  });

  it('polls a model URI for a newer version and loads it', async () => {
    const modelURI = joinURI(root, 'polled/');
    await writeTabularArtifact(store, root, 'polled', '10');
    const app = await buildApp({
      settings: testSettings(modelURI, { modelName: 'polled' }),
      store,
      autoLoad: false,
    });
    try {
      await app.models.load();
      app.models.startPolling(50);
      await writeTabularArtifact(store, root, 'polled', '11');
      await eventually(() => app.models.current?.version === '11', {
        what: 'the poll to load version 11',
        timeoutMs: 10_000,
        intervalMs: 25,
      });
      expect(app.models.current?.version).toBe('11');
      const m = parseMetrics((await app.inject({ method: 'GET', url: '/metrics' })).body);
      const info = m.filter((x) => x.name === 'k2k_model_info');
      expect(info).toHaveLength(1);
      expect(info[0]!.labels).toMatchObject({
        version: '11',
        uri: joinURI(root, 'polled', '11/'),
        task: 'classification',
      });
      expect(info[0]!.labels.artifact_sha256).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await app.close();
    }
  });

  it('does not download a broken version again on every poll, but retries it on request', async () => {
    const modelURI = joinURI(root, 'broken/');
    await writeTabularArtifact(store, root, 'broken', '1');
    await writeTabularArtifact(store, root, 'broken', '2');
    // Version 2 is complete but its preprocessing.json no longer matches the manifest.
    await store.put(joinURI(root, 'broken', '2', 'preprocessing.json'), '{}');
    const app = await buildApp({
      settings: testSettings(modelURI, { modelName: 'broken' }),
      store,
      autoLoad: false,
    });
    const failures = async () =>
      total(
        parseMetrics((await app.inject({ method: 'GET', url: '/metrics' })).body),
        'k2k_model_load_duration_seconds_count',
        {
          result: 'failure',
        },
      );
    try {
      await expect(app.models.load({ poll: true })).rejects.toThrow(/preprocessing\.json/);
      expect(await failures()).toBe(1);
      // The next poll skips it: still not ready, with the original reason, and no new attempt.
      await expect(app.models.load({ poll: true })).resolves.toEqual({ changed: false, version: 'none' });
      expect(await failures()).toBe(1);
      expect((await app.inject({ method: 'GET', url: '/readyz' })).json().error).toContain(
        'preprocessing.json',
      );
      // An explicit reload tries again.
      expect((await app.admin.inject({ method: 'POST', url: '/admin/reload' })).statusCode).toBe(503);
      expect(await failures()).toBe(2);
    } finally {
      await app.close();
    }
  });
});
