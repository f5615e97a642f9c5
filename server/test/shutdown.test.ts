// Graceful shutdown of the real process: SIGTERM while requests are in flight; every one of them
// is answered, the listener closes, and the process exits 0.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURI, joinURI, openStore } from '../../lib/storage/index.ts';
import { eventually } from '../../test/harness/eventually.ts';
import { call, type GrpcClients, grpcClients } from '../grpc/client.ts';
import { initBackend } from '../model/backend.ts';
import { parseMetrics, sample, tabularRows, writeTabularArtifact } from './fixtures.ts';
import { spawnServer } from './process.ts';

let dir: string;
let uri: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-shutdown-'));
  uri = await writeTabularArtifact(openStore(), fileURI(dir), 'tiny', '1');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Starts server/main.ts and resolves with its address once it listens. */
async function startServer(env: Record<string, string>) {
  const server = spawnServer(env);
  return { ...server, address: await server.listening() };
}

/** A server whose requests wait in the batcher (no batch fills, the wait is long): surely in flight. */
const startHoldingServer = () =>
  startServer({
    K2K_MODEL_URI: joinURI(uri),
    K2K_MODEL_NAME: 'tiny',
    K2K_BATCHING_MAX_BATCH_SIZE: '1000',
    K2K_BATCHING_MAX_DELAY_MS: '10000',
    K2K_LOG_LEVEL: 'info',
  });

describe('graceful shutdown', () => {
  it('answers every in-flight request after SIGTERM, then exits 0', async () => {
    const server = await startHoldingServer();
    try {
      await eventually(async () => (await fetch(`${server.address}/readyz`)).ok, {
        what: 'ready',
        intervalMs: 50,
      });
      const requests = Array.from({ length: 8 }, (_, i) =>
        fetch(`${server.address}/v1/models/tiny:predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ instances: tabularRows(3, 700 + i) }),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as { predictions?: number[][] } })),
      );
      await eventually(
        async () => {
          const m = parseMetrics(await (await fetch(`${server.address}/metrics`)).text());
          return sample(m, 'k2k_requests_in_flight', { protocol: 'tfserving' }) === 8;
        },
        { what: '8 requests in flight', intervalMs: 50 },
      );

      server.child.kill('SIGTERM');
      const answers = await Promise.all(requests);
      for (const a of answers) {
        expect(a.status).toBe(200);
        expect(a.body.predictions).toHaveLength(3);
      }
      const code = await server.exit;
      expect(code, server.logs.join('')).toBe(0);
      expect(server.logs.join('')).toContain('drained; exiting');
      await expect(fetch(`${server.address}/healthz`)).rejects.toThrow();
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  it('answers every in-flight gRPC call after SIGTERM, then exits 0', async () => {
    const server = await startHoldingServer();
    let clients: GrpcClients | undefined;
    try {
      const port = await eventually(
        () => /gRPC listening at 127\.0\.0\.1:(\d+)/.exec(server.logs.join(''))?.[1],
        {
          what: 'the gRPC listener',
          intervalMs: 50,
        },
      );
      await eventually(async () => (await fetch(`${server.address}/readyz`)).ok, {
        what: 'ready',
        intervalMs: 50,
      });
      const c = grpcClients(`127.0.0.1:${port}`);
      clients = c;
      const calls = Array.from({ length: 8 }, (_, i) =>
        call(c.inference.ModelInfer.bind(c.inference), {
          model_name: 'tiny',
          inputs: [
            {
              name: 'input',
              datatype: 'FP64',
              shape: [3, 4],
              contents: { fp64_contents: tabularRows(3, 800 + i).flat() },
            },
          ],
        }),
      );
      await eventually(
        async () => {
          const m = parseMetrics(await (await fetch(`${server.address}/metrics`)).text());
          return sample(m, 'k2k_requests_in_flight', { protocol: 'v2', transport: 'grpc' }) === 8;
        },
        { what: '8 gRPC calls in flight', intervalMs: 50 },
      );

      server.child.kill('SIGTERM');
      for (const answer of await Promise.all(calls)) {
        expect(answer.outputs[0]!.contents!.fp32_contents).toHaveLength(9);
      }
      expect(await server.exit, server.logs.join('')).toBe(0);
      expect(server.logs.join('')).toContain('drained; exiting');
    } finally {
      clients?.close();
      server.child.kill('SIGKILL');
    }
  });

  it('exits with status 2 and names the variable on bad configuration', async () => {
    const server = spawnServer({ K2K_MODEL_URI: uri }, ['--batching-max-batch-size=zero']);
    expect(await server.exit).toBe(2);
    expect(server.logs.join('')).toContain('K2K_BATCHING_MAX_BATCH_SIZE="zero"');
  });
});
