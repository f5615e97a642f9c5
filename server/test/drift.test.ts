// Drift metrics against the artifact's training profile, asserted on the /metrics text an alert
// would read: in-distribution traffic stays under the thresholds, shifted traffic crosses them,
// and too few samples never count as drift.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURI, openStore } from '../../lib/storage/index.ts';
import { buildApp } from '../app.ts';
import { initBackend } from '../model/backend.ts';
import {
  images,
  parseMetrics,
  type Sample,
  sample,
  TABULAR,
  tabularRows,
  testSettings,
  waitReady,
  writeImageArtifact,
  writeScoringArtifact,
  writeTabularArtifact,
} from './fixtures.ts';

const store = openStore();
let dir: string;
let tabularURI: string;
let imageURI: string;
const WINDOW = 600;
const drift = { windowSize: WINDOW, minSamples: 200, psiThreshold: 0.2, ksPValueThreshold: 0.05 };

beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-drift-'));
  tabularURI = await writeTabularArtifact(store, fileURI(dir), 'tiny', '1');
  imageURI = await writeImageArtifact(store, fileURI(dir), 'digits', '1');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function send(app: FastifyInstance, rows: number[][]): Promise<void> {
  for (let i = 0; i < rows.length; i += 50) {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/models/tiny:predict',
      payload: { instances: rows.slice(i, i + 50) },
    });
    expect(r.statusCode).toBe(200);
  }
}

async function scrape(app: FastifyInstance): Promise<Sample[]> {
  const r = await app.inject({ method: 'GET', url: '/metrics' });
  expect(r.statusCode).toBe(200);
  return parseMetrics(r.body);
}

describe('drift of tabular inputs', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildApp({ settings: testSettings(tabularURI, { drift }), store });
    await waitReady(app);
  });
  afterAll(() => app.close());

  it('exports the thresholds, including the Bonferroni-corrected KS level, before any traffic', async () => {
    const m = await scrape(app);
    expect(sample(m, 'k2k_drift_threshold', { threshold: 'psi' })).toBe(0.2);
    expect(sample(m, 'k2k_drift_threshold', { threshold: 'ks_pvalue' })).toBe(0.05);
    expect(sample(m, 'k2k_drift_threshold', { threshold: 'ks_pvalue_bonferroni' })).toBeCloseTo(0.05 / 4, 10);
    expect(sample(m, 'k2k_drift_threshold', { threshold: 'min_samples' })).toBe(200);
    expect(sample(m, 'k2k_drift_features')).toBe(4);
    expect(sample(m, 'k2k_drift_window_samples')).toBe(0);
  });

  it('raises no drift for inputs drawn from the training distribution', async () => {
    const before = Date.now() / 1000;
    await send(app, tabularRows(WINDOW, 1234));
    const m = await scrape(app);
    const bonferroni = sample(m, 'k2k_drift_threshold', { threshold: 'ks_pvalue_bonferroni' });
    expect(sample(m, 'k2k_drift_window_samples')).toBe(WINDOW);
    expect(sample(m, 'k2k_drift_last_evaluation_timestamp_seconds')).toBeGreaterThanOrEqual(
      Math.floor(before),
    );
    for (const feature of TABULAR.features) {
      expect(sample(m, 'k2k_drift_feature_samples', { feature })).toBe(WINDOW);
      expect(sample(m, 'k2k_drift_feature_psi', { feature }), feature).toBeLessThan(0.2);
      expect(sample(m, 'k2k_drift_feature_ks_pvalue', { feature }), feature).toBeGreaterThan(bonferroni);
      expect(sample(m, 'k2k_drift_feature_drifted', { feature })).toBe(0);
      // The live histogram on the profile's bins holds every window row.
      expect(sample(m, 'k2k_drift_feature_window_rows', { feature, upper_edge: '+Inf' })).toBe(WINDOW);
      expect(sample(m, 'k2k_drift_feature_reference_ratio', { feature, upper_edge: '+Inf' })).toBe(1);
    }
    expect(sample(m, 'k2k_drift_prediction_psi')).toBeLessThan(0.2);
    expect(sample(m, 'k2k_drift_prediction_chi2_pvalue')).toBeGreaterThan(0.01);
  });

  it('pushes PSI over and the KS p-value under their thresholds for the shifted features only', async () => {
    // f0 moves by one standard deviation, f3 by 1.5; f1 and f2 keep their distribution.
    await send(app, tabularRows(WINDOW, 99, [1, 0, 0, 30]));
    const m = await scrape(app);
    const bonferroni = sample(m, 'k2k_drift_threshold', { threshold: 'ks_pvalue_bonferroni' });
    expect(sample(m, 'k2k_drift_window_samples')).toBe(WINDOW);
    for (const feature of ['f0', 'f3']) {
      expect(sample(m, 'k2k_drift_feature_samples', { feature })).toBe(WINDOW);
      expect(sample(m, 'k2k_drift_feature_psi', { feature }), feature).toBeGreaterThan(0.2);
      expect(sample(m, 'k2k_drift_feature_ks_pvalue', { feature }), feature).toBeLessThan(bonferroni);
      expect(sample(m, 'k2k_drift_feature_drifted', { feature })).toBe(1);
    }
    for (const feature of ['f1', 'f2']) {
      expect(sample(m, 'k2k_drift_feature_psi', { feature }), feature).toBeLessThan(0.2);
      expect(sample(m, 'k2k_drift_feature_drifted', { feature })).toBe(0);
    }
  });
});

describe('drift with few samples', () => {
  it('reports the sample count and never flags drift below min_samples', async () => {
    const app = await buildApp({ settings: testSettings(tabularURI, { drift }), store });
    try {
      await waitReady(app);
      await send(app, tabularRows(50, 5, [5, 0, 0, 0]));
      const m = await scrape(app);
      expect(sample(m, 'k2k_drift_feature_samples', { feature: 'f0' })).toBe(50);
      expect(sample(m, 'k2k_drift_feature_psi', { feature: 'f0' })).toBeGreaterThan(0.2);
      expect(sample(m, 'k2k_drift_feature_drifted', { feature: 'f0' })).toBe(0);
    } finally {
      await app.close();
    }
  });
});

describe('drift of image inputs', () => {
  it('watches summary features: brighter images drift in mean intensity', async () => {
    const app = await buildApp({ settings: testSettings(imageURI, { modelName: 'digits', drift }), store });
    try {
      await waitReady(app);
      const post = async (batch: number[][][][]) => {
        for (let i = 0; i < batch.length; i += 100) {
          const r = await app.inject({
            method: 'POST',
            url: '/v1/models/digits:predict',
            payload: { instances: batch.slice(i, i + 100) },
          });
          expect(r.statusCode).toBe(200);
        }
      };
      await post(images(WINDOW, 21));
      let m = await scrape(app);
      expect(sample(m, 'k2k_drift_feature_psi', { feature: 'mean_intensity' })).toBeLessThan(0.2);
      await post(images(WINDOW, 22, 25));
      m = await scrape(app);
      expect(sample(m, 'k2k_drift_feature_psi', { feature: 'mean_intensity' })).toBeGreaterThan(0.2);
      expect(sample(m, 'k2k_drift_feature_ks_pvalue', { feature: 'mean_intensity' })).toBeLessThan(
        sample(m, 'k2k_drift_threshold', { threshold: 'ks_pvalue_bonferroni' }),
      );
    } finally {
      await app.close();
    }
  });
});

describe('drift of predictions', () => {
  it.each(['regression', 'anomaly'] as const)(
    'bins %s scores on the validation edges: stable in distribution, shifted when the inputs shift',
    async (task) => {
      const uri = await writeScoringArtifact(store, fileURI(dir), task, '1', task);
      const app = await buildApp({ settings: testSettings(uri, { modelName: task, drift }), store });
      try {
        await waitReady(app);
        const post = async (rows: number[][]) => {
          for (let i = 0; i < rows.length; i += 100) {
            const r = await app.inject({
              method: 'POST',
              url: `/v1/models/${task}:predict`,
              payload: { instances: rows.slice(i, i + 100) },
            });
            expect(r.statusCode).toBe(200);
            const first = r.json().predictions[0];
            // An autoencoder answers its score beside the reconstruction (ADR 0035).
            if (task === 'regression') expect(first).toHaveLength(1);
            else
              expect(first).toMatchObject({
                anomaly_score: expect.any(Number),
                reconstruction: [0, 0, 0, 0].map(() => expect.any(Number)),
              });
          }
        };
        await post(tabularRows(WINDOW, 4321));
        let m = await scrape(app);
        expect(sample(m, 'k2k_drift_prediction_psi')).toBeLessThan(0.2);
        expect(sample(m, 'k2k_drift_prediction_window_rows', { bin: '+Inf' })).toBeGreaterThan(0);
        // Every feature three standard deviations off: outputs and reconstruction errors move.
        await post(
          tabularRows(
            WINDOW,
            8765,
            TABULAR.std.map((s) => 3 * s),
          ),
        );
        m = await scrape(app);
        expect(sample(m, 'k2k_drift_prediction_psi')).toBeGreaterThan(0.2);
      } finally {
        await app.close();
      }
    },
  );
});
