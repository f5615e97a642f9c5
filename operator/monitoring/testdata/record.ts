// Records the Prometheus HTTP API answers that drift.test.ts replays: a real model server
// (server/main.ts) fed rows from its training distribution, then shifted ones, scraped by a real
// Prometheus (/usr/bin/prometheus); for each state, the raw answers to the queries queryDrift asks.
// Run again when those queries change: `npx tsx operator/monitoring/testdata/record.ts`.
import { writeFile } from 'node:fs/promises';
import { startTabularModelServer, tabularRows } from '../../../test/harness/model-server.ts';
import { startPrometheus, waitForSample } from '../../../test/harness/prometheus.ts';
import { driftQueries } from '../drift.ts';
import { modelScope } from '../rules.ts';

const DRIFT = { windowSize: 600, minSamples: 200 };
/** The labels the Prometheus Operator would give the target of ModelDeployment ml/tiny's ServiceMonitor. */
const LABELS = { namespace: 'ml', service: 'tiny', pod: 'tiny-7d9f8-abcde' };
const scope = modelScope(LABELS.namespace, LABELS.service);
const out = new URL('./', import.meta.url);

const server = await startTabularModelServer(DRIFT);
const prometheus = await startPrometheus({ targets: [{ address: server.address, labels: LABELS }] });
try {
  const samples = (n: number) =>
    waitForSample(prometheus, `k2k_drift_window_samples{service="tiny"}`, (v) => v === n);
  /** The raw answer of every query queryDrift asks, keyed by the query itself. */
  const record = async (name: string, queries: Record<string, string>) => {
    const answers: Record<string, unknown> = {};
    for (const query of Object.values(queries)) {
      const r = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(query)}`);
      answers[query] = { status: r.status, body: await r.json() };
    }
    await writeFile(new URL(`${name}.json`, out), `${JSON.stringify(answers, null, 2)}\n`);
    console.log(`recorded ${name}`);
  };

  await samples(0);
  await record('too-few-samples', driftQueries(scope));
  await record('no-samples', driftQueries(modelScope('ml', 'not-scraped')));
  await record('bad-query', { broken: 'k2k_drift_feature_psi{' });

  await server.send(tabularRows(DRIFT.windowSize, 1234));
  await samples(DRIFT.windowSize);
  await record('stable', driftQueries(scope));

  // f0 three standard deviations up, f2 one: both drift; f1 and f3 do not.
  await server.send(tabularRows(DRIFT.windowSize, 99, [3, 0, 0.5, 0]));
  await waitForSample(prometheus, `count(${driftQueries(scope).drifting})`, (v) => v === 2);
  await record('drifting', driftQueries(scope));
} finally {
  await prometheus.stop();
  await server.stop();
}
