// The alert rules and the Grafana dashboard must only reference series this server exports:
// a renamed metric would otherwise leave an alert that can never fire. And what the server
// exports must follow Prometheus's naming rules, checked by Prometheus's own linter.
import { execFile } from 'node:child_process';
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
let exposition: string;
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
    exposition = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    exported = new Set(parseMetrics(exposition).map((s) => s.name));
  } finally {
    await app.close();
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** `promtool check metrics` on `text`: its findings (one per line), or nothing when clean. */
function promtoolCheckMetrics(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) => {
      // Exit code 3 means "lint problems found", which the caller asserts on; others are failures.
      if (err && err.code !== 3) reject(err);
      else resolve(`${stdout}${stderr}`.trim());
    });
    child.stdin?.end(text);
  });
}

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

  it('exports series that pass promtool check metrics, drift histograms and default Node.js series included', async () => {
    // The series that once broke the naming rules are present, so the check covers them.
    for (const name of [
      'k2k_drift_feature_window_rows',
      'k2k_drift_feature_reference_ratio',
      'k2k_drift_prediction_window_rows',
      'k2k_request_duration_seconds_bucket',
      'nodejs_active_handles',
    ])
      expect(exported, name).toContain(name);
    expect(await promtoolCheckMetrics(exposition)).toBe('');
  });
});
