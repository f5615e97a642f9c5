// A real model server process (server/main.ts) serving the tabular test model of
// server/test/fixtures.ts from a file:// artifact, for tests that need its /metrics scraped: feed
// it rows from the training distribution or shifted ones and its drift series follow.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURI, joinURI, openStore } from '../../lib/storage/index.ts';
import { initBackend } from '../../server/model/backend.ts';
import { writeTabularArtifact } from '../../server/test/fixtures.ts';
import { spawnServer } from '../../server/test/process.ts';
import { eventually } from './eventually.ts';

export { tabularRows } from '../../server/test/fixtures.ts';

export const TABULAR_MODEL = 'tiny';

export interface ModelServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** 127.0.0.1:<port>, a scrape target. */
  address: string;
  /** Predicts `rows` in batches of 50 (each row enters the drift window). */
  send(rows: number[][]): Promise<void>;
  logs(): string;
  stop(): Promise<void>;
}

export async function startTabularModelServer(
  drift: { windowSize: number; minSamples: number },
  /** More settings, for instance K2K_TRACK=canary. */
  env: Record<string, string> = {},
): Promise<ModelServer> {
  await initBackend('wasm');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-model-server-'));
  const uri = await writeTabularArtifact(openStore(), fileURI(dir), TABULAR_MODEL, '1');
  const server = spawnServer({
    K2K_MODEL_URI: joinURI(uri),
    K2K_MODEL_NAME: TABULAR_MODEL,
    K2K_BACKEND: 'wasm',
    K2K_DRIFT_WINDOW_SIZE: String(drift.windowSize),
    K2K_DRIFT_MIN_SAMPLES: String(drift.minSamples),
    ...env,
  });
  const stop = async () => {
    if (server.child.exitCode === null) server.child.kill('SIGTERM');
    await server.exit;
    await rm(dir, { recursive: true, force: true });
  };
  let url: string;
  try {
    url = await server.listening();
    // Predictions are refused (503) until the model is loaded and warmed up.
    await eventually(async () => (await fetch(`${url}/readyz`)).ok, {
      what: 'the model server to be ready',
      timeoutMs: 60_000,
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    address: new URL(url).host,
    logs: () => server.logs.join(''),
    stop,
    async send(rows) {
      for (let i = 0; i < rows.length; i += 50) {
        const r = await fetch(`${url}/v1/models/${TABULAR_MODEL}:predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ instances: rows.slice(i, i + 50) }),
        });
        if (!r.ok) throw new Error(`predict answered ${r.status}: ${await r.text()}`);
      }
    },
  };
}
