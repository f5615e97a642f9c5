// The alert rules and the Grafana dashboard must only reference series this server exports:
// a renamed metric would otherwise leave an alert that can never fire.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURI, openStore } from '../../lib/storage/index.ts';
import { buildApp } from '../app.ts';
import { initBackend } from '../model/backend.ts';
import { parseMetrics, tabularRows, testSettings, waitReady, writeTabularArtifact } from './fixtures.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let dir: string;
let exported: Set<string>;

beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-obs-'));
  const store = openStore();
  const uri = await writeTabularArtifact(store, fileURI(dir), 'tiny', '1');
  const app = await buildApp({ settings: testSettings(uri), store });
  try {
    await waitReady(app);
    await app.inject({
      method: 'POST',
      url: '/v1/models/tiny:predict',
      payload: { instances: tabularRows(5, 1) },
    });
    await app.inject({ method: 'POST', url: '/v1/models/tiny:predict', payload: { instances: [[1]] } });
    exported = new Set(
      parseMetrics((await app.inject({ method: 'GET', url: '/metrics' })).body).map((s) => s.name),
    );
  } finally {
    await app.close();
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function referencedMetrics(text: string): string[] {
  return [...new Set(text.match(/\bk2k_[a-z0-9_]+/g) ?? [])];
}

describe('observability configuration', () => {
  it.each([
    ['the Prometheus alert rules', 'config/prometheus/k2k-alerts.yaml'],
    ['the Grafana dashboard', 'config/grafana/k2k-model-server.json'],
  ])('%s reference only exported series', async (_name, file) => {
    const names = referencedMetrics(await readFile(path.join(REPO, file), 'utf8'));
    expect(names.length).toBeGreaterThan(5);
    // A histogram's base name (in prose) counts as exported when its _bucket series is.
    expect(names.filter((n) => !exported.has(n) && !exported.has(`${n}_bucket`))).toEqual([]);
  });
});
