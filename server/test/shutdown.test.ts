// Graceful shutdown of the real process: SIGTERM while requests are in flight; every one of them
// is answered, the listener closes, and the process exits 0.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURI, joinURI, openStore } from '../../lib/storage/index.ts';
import { eventually } from '../../test/harness/eventually.ts';
import { initBackend } from '../model/backend.ts';
import { parseMetrics, sample, tabularRows, writeTabularArtifact } from './fixtures.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let dir: string;
let uri: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-shutdown-'));
  uri = await writeTabularArtifact(openStore(), fileURI(dir), 'tiny', '1');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

interface Server {
  child: ChildProcess;
  address: string;
  logs: string[];
  exit: Promise<number | null>;
}

/** Starts server/main.ts and resolves with its address once it listens. */
async function startServer(env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: REPO,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, K2K_HOST: '127.0.0.1', K2K_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not listen:\n${logs.join('')}`)), 60_000);
    const onData = (chunk: Buffer) => {
      logs.push(chunk.toString());
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(logs.join(''));
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => logs.push(c.toString()));
    void exit.then((code) => reject(new Error(`server exited with ${code}:\n${logs.join('')}`)));
  });
  return { child, address, logs, exit };
}

describe('graceful shutdown', () => {
  it('answers every in-flight request after SIGTERM, then exits 0', async () => {
    // Requests wait in the batcher (no batch fills, the wait is long) so they are surely in flight.
    const server = await startServer({
      K2K_MODEL_URI: joinURI(uri),
      K2K_MODEL_NAME: 'tiny',
      K2K_BATCHING_MAX_BATCH_SIZE: '1000',
      K2K_BATCHING_MAX_DELAY_MS: '10000',
      K2K_LOG_LEVEL: 'info',
    });
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

  it('exits with status 2 and names the variable on bad configuration', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'server/main.ts', '--batching-max-batch-size=zero'],
      {
        cwd: REPO,
        env: { PATH: process.env.PATH, K2K_MODEL_URI: uri },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('K2K_BATCHING_MAX_BATCH_SIZE="zero"');
  });
});
