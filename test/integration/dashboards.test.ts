// Every query of every generated Grafana dashboard, executed: a real Prometheus scrapes a real
// model server (normal, then shifted inputs, with some malformed requests) and a real operator
// reconciling a TrainingJob, and each panel's and variable's query, its template variables filled
// in as Grafana would, must return data. A failure names the dashboard, panel and query.
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failingQueries, problemOf } from '../../dashboards/check.ts';
import { DASHBOARDS, panelQueries, substitute } from '../../dashboards/index.ts';
import { modelServerDashboard } from '../../dashboards/model-server.ts';
import { eventually } from '../harness/eventually.ts';
import { freshNamespace, testKubeConfig } from '../harness/kube.ts';
import { type ModelServer, startTabularModelServer, TABULAR_MODEL } from '../harness/model-server.ts';
import {
  installOperatorRBAC,
  OPERATOR_ACCOUNT,
  OPERATOR_NAMESPACE,
  type OperatorProcess,
  probeUrl,
  serviceAccountKubeconfig,
  startOperator,
  waitForLog,
} from '../harness/operator.ts';
import { newestPrometheus, type PrometheusProcess, startPrometheus } from '../harness/prometheus.ts';
import { suspendedTrainingJob } from '../harness/suspended-trainingjob.ts';
import { SHIFT, sendTraffic } from '../harness/traffic.ts';

const kc = testKubeConfig();
const MODEL_NAMESPACE = 'k2k-demo';
/** The model server's default track. */
const TRACK = 'stable';
const OPERATOR_POD = 'k2k-operator-0';

// What a user would pick in the variable drop-downs, and Grafana's own intervals for a 1 s scrape.
const INTERVALS = { __rate_interval: '15s', __range: '5m' };
const VALUES: Record<string, Record<string, string>> = {
  'k2k-model-server.json': {
    ...INTERVALS,
    namespace: MODEL_NAMESPACE,
    model: TABULAR_MODEL,
    track: TRACK,
    feature: 'f0',
  },
  'k2k-operator.json': { ...INTERVALS, namespace: OPERATOR_NAMESPACE, pod: OPERATOR_POD },
};

/**
 * Creates a suspended TrainingJob every second for `seconds`, so the operator reconciles, applies
 * children and queues keys inside the windows the rate queries read. No pod needs to run.
 */
async function keepReconciling(ns: string, seconds: number): Promise<void> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  for (let i = 0; i < seconds; i++) {
    await custom.createNamespacedCustomObject({
      group: 'k2k.dev',
      version: 'v1alpha1',
      plural: 'trainingjobs',
      namespace: ns,
      body: suspendedTrainingJob(`dashboards-${i}`),
    });
    await new Promise((r) => setTimeout(r, 1000));
  }
}

let served: ModelServer | undefined;
let operator: OperatorProcess | undefined;
let prometheus: PrometheusProcess | undefined;
/** When the traffic ended: every query is evaluated here, with the traffic inside its windows. */
let at: number;

beforeAll(async () => {
  served = await startTabularModelServer({ windowSize: 1000, minSamples: 200 });
  await installOperatorRBAC();
  const ns = await freshNamespace(kc);
  operator = startOperator({
    kubeconfig: await serviceAccountKubeconfig(
      process.env.K2K_TEST_KUBECONFIG!,
      OPERATOR_NAMESPACE,
      OPERATOR_ACCOUNT,
    ),
    identity: 'dashboards',
    namespace: ns,
    leaderElect: true,
  });
  const operatorAddress = new URL(await probeUrl(operator)).host;
  prometheus = await startPrometheus({
    binary: newestPrometheus(),
    targets: [
      {
        job: 'k2k-model-server',
        address: served.address,
        labels: { namespace: MODEL_NAMESPACE, service: TABULAR_MODEL, pod: `${TABULAR_MODEL}-0` },
      },
      {
        job: 'k2k-operator',
        address: operatorAddress,
        labels: { namespace: OPERATOR_NAMESPACE, pod: OPERATOR_POD },
      },
    ],
  });
  await waitForLog(operator, /became leader/, 60_000);
  await sendTraffic(served.url, { seconds: 6 });
  const [shifted] = await Promise.all([
    sendTraffic(served.url, { seconds: 8, shift: SHIFT, seed: 2 }),
    keepReconciling(ns, 8),
  ]);
  expect(shifted.serverErrors).toBe(0);
  at = Date.now() / 1000;
  await prometheus.scrapedSince(at);
  // The shifted inputs must have made the monitor call drift, or the drift panels prove little.
  await eventually(
    async () =>
      (await prometheus!.query(`sum(k2k_drift_feature_drifted{model="${TABULAR_MODEL}"})`, at))[0]
        ?.value[1] === '2' || undefined,
    { what: 'two drifting features' },
  );
}, 300_000);

afterAll(async () => {
  await prometheus?.stop();
  await operator?.stop();
  await served?.stop();
});

describe('every generated dashboard query against a live Prometheus', () => {
  it.each(DASHBOARDS.map((d) => [d.file, d]))(
    '%s: every panel and variable query returns data',
    async (file, d) => {
      const failures = await failingQueries(d.build(), VALUES[file]!, prometheus!.query, at);
      expect(failures).toEqual([]);
    },
  );

  it('names the panel whose query reads a series nobody exports (the check can fail)', async () => {
    const broken = modelServerDashboard();
    const [first] = panelQueries(broken);
    // Break one metric name in the generated dashboard, as a rename in server/metrics.ts would.
    const panels = JSON.parse(
      JSON.stringify(broken.panels).replace('k2k_requests_total', 'k2k_request_total'),
    );
    const failures = await failingQueries(
      { ...broken, panels },
      VALUES['k2k-model-server.json']!,
      prometheus!.query,
      at,
    );
    expect(failures.map((f) => [f.where, f.problem])).toEqual([
      [`k2k model server / ${first!.panel} / A`, 'no data'],
    ]);
  });

  it('reports a query Prometheus rejects with its error', async () => {
    const expr = substitute(
      'sum(rate(k2k_requests_total{model="$model"}))',
      VALUES['k2k-model-server.json']!,
    );
    expect(await problemOf(prometheus!.query, expr, at)).toMatch(/^error: bad_data: .*range vector/);
  });
});
