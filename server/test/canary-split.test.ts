// The split as it runs in a stable pod: a real stable server process forwards to a real canary
// server process on loopback, clients keep their connections alive (REST) or send every call over
// one HTTP/2 channel (gRPC), so kube-proxy-style connection balancing could never produce the
// share, and the counts come from both servers' /metrics.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURI, joinURI, openStore } from '../../lib/storage/index.ts';
import { eventually } from '../../test/harness/eventually.ts';
import { call, grpcClients } from '../grpc/client.ts';
import { initBackend } from '../model/backend.ts';
import { parseMetrics, tabularRows, total, writeTabularArtifact } from './fixtures.ts';
import { type ServerProcess, spawnServer } from './process.ts';

let dir: string;
let stableURI: string;
let canaryURI: string;
let trafficFile: string;
const started: ServerProcess[] = [];

beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-canary-'));
  stableURI = await writeTabularArtifact(openStore(), fileURI(dir), 'tiny', '1');
  canaryURI = await writeTabularArtifact(openStore(), fileURI(dir), 'tiny', '2');
  trafficFile = path.join(dir, 'traffic.json');
});
afterAll(async () => {
  for (const s of started) if (s.child.exitCode === null) s.child.kill('SIGTERM');
  await Promise.all(started.map((s) => s.exit));
  await rm(dir, { recursive: true, force: true });
});

async function start(
  env: Record<string, string>,
): Promise<{ url: string; grpc: string; server: ServerProcess }> {
  const server = spawnServer({ K2K_MODEL_NAME: 'tiny', K2K_BACKEND: 'wasm', ...env });
  started.push(server);
  const url = await server.listening();
  let grpc = '';
  await eventually(
    () => {
      grpc = /gRPC listening at (127\.0\.0\.1:\d+)/.exec(server.logs.join(''))?.[1] ?? '';
      return grpc !== '';
    },
    { what: `${url}'s gRPC port` },
  );
  return { url, grpc, server };
}

/** A real canary server whose model never loads: it answers every prediction 503 / UNAVAILABLE ModelNotReady. */
const startBrokenCanary = () =>
  start({
    K2K_MODEL_URI: joinURI(fileURI(path.join(dir, 'missing')), 'tiny', '9'),
    K2K_TRACK: 'canary',
    K2K_LOAD_ATTEMPTS: '100',
    K2K_LOAD_RETRY_SECONDS: '60',
  });

async function ready(url: string) {
  await eventually(async () => (await fetch(`${url}/readyz`)).ok, {
    what: `${url} ready`,
    timeoutMs: 60_000,
  });
}

async function metrics(url: string) {
  return parseMetrics(await (await fetch(`${url}/metrics`)).text());
}

/** Runs `one` `n` times, `lanes` at a time (one lane per connection or call in flight). */
async function inParallel<T>(n: number, lanes: number, one: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < n) {
        next++;
        results.push(await one());
      }
    }),
  );
  return results;
}

/** `n` predictions over `connections` keep-alive connections; the status codes and bodies answered. */
async function predictMany(url: string, n: number, connections = 8) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const body = JSON.stringify({ instances: tabularRows(1, 1) });
  const target = new URL('/v1/models/tiny:predict', url);
  const one = () =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        target,
        { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const answers = await inParallel(n, connections, one);
  agent.destroy();
  return answers;
}

const inferenceOf = (samples: ReturnType<typeof parseMetrics>, code?: string) =>
  total(samples, 'k2k_requests_total', {
    protocol: 'tfserving',
    endpoint: 'predict',
    ...(code ? { code } : {}),
  });

describe('the canary split in a stable server', () => {
  it('sends exactly 10% of 10,000 keep-alive requests to a real canary process, and the rest nowhere else', async () => {
    const canary = await start({ K2K_MODEL_URI: joinURI(canaryURI), K2K_TRACK: 'canary' });
    await writeFile(trafficFile, JSON.stringify({ canaryURL: canary.url, weight: 10 }));
    const stable = await start({ K2K_MODEL_URI: joinURI(stableURI), K2K_TRAFFIC_FILE: trafficFile });
    await Promise.all([ready(canary.url), ready(stable.url)]);
    await eventually(async () => total(await metrics(stable.url), 'k2k_canary_weight_percent') === 10, {
      what: 'the stable server to read weight 10',
    });

    const answers = await predictMany(stable.url, 10_000);

    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    const [s, c] = await Promise.all([metrics(stable.url), metrics(canary.url)]);
    const atCanary = inferenceOf(c);
    process.stdout.write(`canary share: ${atCanary} of 10000 (${(atCanary / 100).toFixed(2)}%)\n`);
    expect(atCanary).toBe(1_000); // exact: one stable pod, the counter rule
    expect(total(s, 'k2k_canary_forwarded_total', { code: '200' })).toBe(1_000);
    expect(inferenceOf(s)).toBe(9_000); // the stable track counts only what it answered itself
    expect(total(c, 'k2k_requests_total', { track: 'canary', protocol: 'tfserving' })).toBe(1_000);
    expect(total(s, 'k2k_canary_fallback_total')).toBe(0);

    // The canary goes away: the stable pod answers everything itself, no request fails.
    canary.server.child.kill('SIGTERM');
    await canary.server.exit;
    const alone = await predictMany(stable.url, 500, 4);
    expect(alone.filter((a) => a.status !== 200)).toEqual([]);
    const after = await metrics(stable.url);
    expect(inferenceOf(after)).toBe(9_500);
    expect(total(after, 'k2k_canary_fallback_total')).toBe(50);
    expect(total(after, 'k2k_canary_forwarded_total')).toBe(1_000);
  }, 180_000);

  it('hands a canary 5xx to the client as the canary gave it and does not retry it on stable', async () => {
    const broken = await startBrokenCanary();
    const file = path.join(dir, 'traffic-broken.json');
    await writeFile(file, JSON.stringify({ canaryURL: broken.url, weight: 50 }));
    const stable = await start({ K2K_MODEL_URI: joinURI(stableURI), K2K_TRAFFIC_FILE: file });
    await ready(stable.url);
    await eventually(async () => total(await metrics(stable.url), 'k2k_canary_weight_percent') === 50, {
      what: 'the stable server to read weight 50',
    });

    const answers = await predictMany(stable.url, 100, 2);

    const failed = answers.filter((a) => a.status !== 200);
    expect(failed).toHaveLength(50);
    expect(new Set(failed.map((a) => a.status))).toEqual(new Set([503]));
    expect(JSON.parse(failed[0]!.body)).toMatchObject({ code: 'ModelNotReady' });
    const s = await metrics(stable.url);
    expect(inferenceOf(s)).toBe(50); // never answered here as well
    expect(total(s, 'k2k_canary_forwarded_total', { code: '503' })).toBe(50);
    expect(inferenceOf(await metrics(broken.url), '503')).toBe(50);
  }, 120_000);
});

type Outcome =
  | { ok: true; version: string }
  | { ok: false; code: number; details: string; errorCode: string };

/**
 * `n` inference calls over one gRPC channel (one HTTP/2 connection), `concurrency` in flight:
 * TF Serving Predict, or Open Inference ModelInfer. The version that answered, or the status.
 */
async function grpcMany(address: string, n: number, api: 'predict' | 'infer' = 'predict', concurrency = 16) {
  const clients = grpcClients(address);
  const [row] = tabularRows(1, 1);
  const one = async (): Promise<Outcome> => {
    try {
      if (api === 'predict') {
        const res = await call(clients.prediction.Predict.bind(clients.prediction), {
          model_spec: { name: 'tiny' },
          inputs: {
            input: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: 1 }, { size: 4 }] }, float_val: row },
          },
        });
        return { ok: true, version: String(res?.model_spec?.version?.value) };
      }
      const res = await call(clients.inference.ModelInfer.bind(clients.inference), {
        model_name: 'tiny',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: row } }],
      });
      return { ok: true, version: String(res?.model_version) };
    } catch (err) {
      const e = err as ServiceError;
      return {
        ok: false,
        code: e.code,
        details: e.details,
        errorCode: String(e.metadata?.get('k2k-error-code')[0]),
      };
    }
  };
  const outcomes = await inParallel(n, concurrency, one);
  clients.close();
  return outcomes;
}

const grpcInference = (samples: ReturnType<typeof parseMetrics>, labels: Record<string, string> = {}) =>
  total(samples, 'k2k_requests_total', { transport: 'grpc', endpoint: 'predict', ...labels }) +
  total(samples, 'k2k_requests_total', { transport: 'grpc', endpoint: 'infer', ...labels });

/**
 * A stable server whose traffic file sends `weight` % of both transports to `canary`, ready and
 * applying that weight (the canary is waited for too unless it is meant never to be ready).
 */
async function stableSplittingTo(canary: { url: string; grpc: string }, weight: number, canaryReady = true) {
  const file = path.join(dir, `traffic-${canary.grpc.replace(/\W/g, '-')}.json`);
  await writeFile(file, JSON.stringify({ canaryURL: canary.url, canaryGrpcAddress: canary.grpc, weight }));
  const stable = await start({ K2K_MODEL_URI: joinURI(stableURI), K2K_TRAFFIC_FILE: file });
  await Promise.all([ready(stable.url), ...(canaryReady ? [ready(canary.url)] : [])]);
  await eventually(async () => total(await metrics(stable.url), 'k2k_canary_weight_percent') === weight, {
    what: `the stable server to read weight ${weight}`,
  });
  return stable;
}

describe('the canary split of gRPC calls in a stable server', () => {
  it('sends exactly 10% of 10,000 calls on one HTTP/2 connection to a real canary, and exactly 10% of REST requests sent meanwhile', async () => {
    const canary = await start({ K2K_MODEL_URI: joinURI(canaryURI), K2K_TRACK: 'canary' });
    const stable = await stableSplittingTo(canary, 10);

    // REST at the same time: each transport has its own counter, so each share is exact.
    const [outcomes, rest] = await Promise.all([
      grpcMany(stable.grpc, 10_000),
      predictMany(stable.url, 2_000, 4),
    ]);

    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    // The canary's answers reach the client intact (the stable pod passes their bytes on).
    const byVersion = (v: string) => outcomes.filter((o) => o.ok && o.version === v).length;
    expect([byVersion('2'), byVersion('1')]).toEqual([1_000, 9_000]);
    expect(rest.filter((a) => a.status !== 200)).toEqual([]);
    const [s, c] = await Promise.all([metrics(stable.url), metrics(canary.url)]);
    process.stdout.write(`gRPC canary share: ${grpcInference(c)} of 10000\n`);
    expect(grpcInference(c, { track: 'canary', code: 'OK' })).toBe(1_000);
    expect(
      total(c, 'k2k_requests_total', { transport: 'http', protocol: 'tfserving', track: 'canary' }),
    ).toBe(200);
    expect(total(s, 'k2k_canary_forwarded_total', { transport: 'grpc', code: 'OK' })).toBe(1_000);
    expect(total(s, 'k2k_canary_forwarded_total', { transport: 'http', code: '200' })).toBe(200);
    expect(grpcInference(s)).toBe(9_000); // the stable track counts only what it answered itself
    expect(total(s, 'k2k_canary_fallback_total')).toBe(0);

    // The canary goes away: the stable pod answers every call itself, none fails.
    canary.server.child.kill('SIGTERM');
    await canary.server.exit;
    const alone = await grpcMany(stable.grpc, 500, 'infer', 4);
    expect(alone.filter((o) => !o.ok)).toEqual([]);
    const after = await metrics(stable.url);
    expect(grpcInference(after)).toBe(9_500);
    expect(total(after, 'k2k_canary_fallback_total', { transport: 'grpc' })).toBe(50);
    expect(total(after, 'k2k_canary_forwarded_total', { transport: 'grpc' })).toBe(1_000);
  }, 240_000);

  it('hands a canary error status to the client as the canary gave it and does not retry it on stable', async () => {
    const broken = await startBrokenCanary();
    const stable = await stableSplittingTo(broken, 50, false);

    const outcomes = await grpcMany(stable.grpc, 100, 'infer', 2);

    const failed = outcomes.filter((o) => !o.ok);
    expect(failed).toHaveLength(50);
    for (const f of failed) {
      expect(f).toMatchObject({ code: status.UNAVAILABLE, errorCode: 'ModelNotReady' });
    }
    const s = await metrics(stable.url);
    expect(grpcInference(s)).toBe(50); // never answered here as well
    expect(total(s, 'k2k_canary_forwarded_total', { transport: 'grpc', code: 'UNAVAILABLE' })).toBe(50);
    expect(grpcInference(await metrics(broken.url), { code: 'UNAVAILABLE' })).toBe(50);
  }, 120_000);

  it('never forwards a call that was forwarded already', async () => {
    const canary = await start({ K2K_MODEL_URI: joinURI(canaryURI), K2K_TRACK: 'canary' });
    const stable = await stableSplittingTo(canary, 100);
    const clients = grpcClients(stable.grpc);
    const metadata = new Metadata();
    metadata.set('k2k-forwarded-from', 'another-stable-pod');
    const answer = await new Promise<{ model_version?: string }>((resolve, reject) =>
      clients.inference.ModelInfer(
        {
          model_name: 'tiny',
          inputs: [
            {
              name: 'input',
              datatype: 'FP32',
              shape: [1, 4],
              contents: { fp32_contents: tabularRows(1, 1)[0] },
            },
          ],
        },
        metadata,
        (err, res) => (err ? reject(err) : resolve(res ?? {})),
      ),
    );
    clients.close();
    expect(answer.model_version).toBe('1'); // answered here, at weight 100
    expect(total(await metrics(stable.url), 'k2k_canary_forwarded_total')).toBe(0);
  }, 180_000);
});
