// The local cluster's Prometheus (config/monitoring, installed by test/e2e/global-setup.ts) as an
// SRE running kube-prometheus-stack would use it: it runs the build from Prometheus's module, it
// scrapes k2k's operator through the ServiceMonitor config/monitoring ships and loads the
// operator's own alerts from the PrometheusRule beside it, it picks up the ServiceMonitor k2k's
// operator makes in a model's own namespace (labelled MONITORING_SELECTOR_LABELS) and stores that
// model server's k2k_ series, and it loads the model's alert rules from the PrometheusRule the
// operator makes beside it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_PROMETHEUS, MONITORING_SELECTOR_LABELS } from '../../api/monitoring.ts';
import { monitoringKustomization, PROMETHEUS_NAME } from '../../hack/cluster/monitoring.ts';
import { writeTabularArtifact } from '../../server/test/fixtures.ts';
import { eventually } from '../harness/eventually.ts';
import { apply, clusterPace, kubectl, kubectlJson, OPERATOR_NAMESPACE } from './kube.ts';
import { localPrometheus, type PrometheusAPI } from './prometheus.ts';
import { type TestStorage, testStorage } from './storage.ts';

const namespace = `e2e-monitoring-${Date.now().toString(36)}`;
const MODEL = 'monitored';
const alertRulesFile = 'config/prometheus/k2k-alerts.yaml';
const operatorAlertsFile = 'config/prometheus/k2k-operator-alerts.yaml';
/** Scrapes every 5 s, and a new ServiceMonitor reaches Prometheus's configuration within seconds. */
const prometheusPace = { ...clusterPace, timeoutMs: 120_000, intervalMs: 2_000 };

interface Target {
  scrapePool: string;
  scrapeUrl: string;
  health: string;
  lastError: string;
  labels: Record<string, string>;
}

interface RuleGroup {
  name: string;
  file: string;
  rules: Array<{ name: string; type: string; health: string }>;
}

describe('Prometheus in the local cluster', () => {
  let storage: TestStorage | undefined;

  // Set by beforeAll (localPrometheus); until then every question fails saying so.
  const notSetUp = () => Promise.reject(new Error('Prometheus is not set up'));
  let api: PrometheusAPI['api'] = notSetUp;
  let query: PrometheusAPI['query'] = notSetUp;
  const targetsOf = async (scrapePool: string) =>
    (await api<{ activeTargets: Target[] }>('targets?state=active')).activeTargets.filter(
      (t) => t.scrapePool === scrapePool,
    );

  /** When a wait fails: what the operator made of the monitors, and Prometheus's own view. */
  async function diagnose(err: unknown): Promise<never> {
    const ns = LOCAL_PROMETHEUS.namespace;
    const out = await Promise.all([
      kubectl(['get', 'prometheus,servicemonitors,prometheusrules,pods', '-A', '-o', 'wide']).catch(String),
      kubectl(['logs', '-n', ns, 'deployment/prometheus-operator', '--tail=40']).catch(String),
      kubectl(['logs', '-n', ns, `prometheus-${PROMETHEUS_NAME}-0`, '-c', 'prometheus', '--tail=40']).catch(
        String,
      ),
      api<unknown>('targets').then((t) => JSON.stringify(t).slice(0, 4000), String),
    ]);
    throw new Error(`${(err as Error).message}\n${out.join('\n---\n')}`);
  }

  beforeAll(async () => {
    ({ api, query } = await localPrometheus());

    storage = await testStorage(namespace, 'k2k-e2e-monitoring');
    const { bucket, store } = storage;
    const artifactURI = await writeTabularArtifact(store, `s3://${bucket}/models`, MODEL, '1');
    await apply([
      {
        apiVersion: 'k2k.dev/v1alpha1',
        kind: 'ModelDeployment',
        metadata: { name: MODEL, namespace },
        spec: {
          model: { artifactURI },
          storage: storage.spec,
          replicas: { min: 1, max: 1 },
          resources: { cpu: '100m', memory: '512Mi' },
          // The operator makes the ServiceMonitor; a short interval keeps the wait short.
          monitoring: { interval: '5s' },
        },
      },
    ]);
  });

  afterAll(() => storage?.stop());

  it('runs Prometheus built from its Go module, Available as the operator reports it', async () => {
    const prom = await kubectlJson<{
      status?: { conditions?: Array<{ type: string; status: string }> };
    }>(['get', 'prometheus', '-n', LOCAL_PROMETHEUS.namespace, PROMETHEUS_NAME]);
    expect(prom.status?.conditions?.find((c) => c.type === 'Available')?.status).toBe('True');
    // The version the operator was told it runs (config/monitoring, checked against versions.sh).
    const declared = yaml
      .loadAll(await readFile(join(monitoringKustomization, 'prometheus.yaml'), 'utf8'))
      .find((d) => (d as { kind?: string }).kind === 'Prometheus') as { spec: { version: string } };
    const build = await api<{ version: string }>('status/buildinfo');
    expect(`v${build.version}`).toBe(declared.spec.version);
  });

  it('scrapes the k2k operator’s metrics through the ServiceMonitor config/monitoring ships', async () => {
    const pool = `serviceMonitor/${LOCAL_PROMETHEUS.namespace}/k2k-operator/0`;
    const up = await eventually(
      async () => {
        const targets = await targetsOf(pool);
        return targets.find((t) => t.health === 'up');
      },
      { what: `a target of ${pool} to be up`, ...prometheusPace },
    ).catch(diagnose);
    expect(up.labels.namespace).toBe(OPERATOR_NAMESPACE);
    const series = await eventually(
      async () => {
        const got = await query(`up{namespace="${OPERATOR_NAMESPACE}", service="k2k-operator-metrics"}`);
        return got.some((s) => s.value[1] === '1') ? got : undefined;
      },
      { what: 'up == 1 for the k2k operator', ...prometheusPace },
    ).catch(diagnose);
    expect(series.length).toBeGreaterThanOrEqual(1);
  });

  it('loads the operator’s own alerts from the PrometheusRule config/monitoring ships, healthy', async () => {
    const file = yaml.load(await readFile(operatorAlertsFile, 'utf8')) as {
      groups: Array<{ name: string; rules: Array<{ alert?: string }> }>;
    };
    const want = file.groups.flatMap((g) => g.rules.map((r) => r.alert)).sort();
    // The rule file in Prometheus is named <namespace>-<PrometheusRule>-<uid>.yaml.
    const groups = await eventually(
      async () => {
        const got = (await api<{ groups: RuleGroup[] }>('rules')).groups.filter((g) =>
          g.file.includes(`/${LOCAL_PROMETHEUS.namespace}-k2k-operator-`),
        );
        return got.length === file.groups.length ? got : undefined;
      },
      { what: 'the PrometheusRule k2k-operator in Prometheus’s rules API', ...prometheusPace },
    ).catch(diagnose);
    const loaded = groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name).sort()).toEqual(want);
    expect(loaded.filter((r) => r.health !== 'ok')).toEqual([]);
  });

  it('scrapes a model server through the ServiceMonitor the operator made for it: its k2k_ series arrive', async () => {
    const monitor = await eventually(
      () =>
        kubectlJson<{
          metadata: {
            labels?: Record<string, string>;
            ownerReferences?: Array<{ kind: string; name: string }>;
          };
        }>(['get', 'servicemonitor', '-n', namespace, MODEL]),
      { what: `the operator's ServiceMonitor ${namespace}/${MODEL}`, ...clusterPace },
    ).catch(diagnose);
    expect(monitor.metadata.labels).toMatchObject(MONITORING_SELECTOR_LABELS);
    expect(monitor.metadata.ownerReferences?.map((o) => `${o.kind}/${o.name}`)).toEqual([
      `ModelDeployment/${MODEL}`,
    ]);
    const pool = `serviceMonitor/${namespace}/${MODEL}/0`;
    await eventually(async () => (await targetsOf(pool)).find((t) => t.health === 'up'), {
      what: `the model server's target (${pool}) to be up`,
      ...prometheusPace,
      timeoutMs: 240_000,
    }).catch(diagnose);
    const ready = await eventually(
      async () => {
        const got = await query(`k2k_model_ready{namespace="${namespace}", service="${MODEL}"}`);
        return got.length > 0 && got.every((s) => s.value[1] === '1') ? got : undefined;
      },
      { what: 'k2k_model_ready == 1 for the model in Prometheus', ...prometheusPace },
    ).catch(diagnose);
    expect(ready[0]?.metric.model).toBe(MODEL);
    const names = new Set(
      (await query(`count by (__name__) ({__name__=~"k2k_.+", namespace="${namespace}"})`)).map(
        (s) => s.metric.__name__,
      ),
    );
    expect([...names]).toEqual(expect.arrayContaining(['k2k_model_ready', 'k2k_model_info']));
  });

  it('loads the model’s PrometheusRule the operator made: every rule of config/prometheus/k2k-alerts.yaml, healthy', async () => {
    const file = yaml.load(await readFile(alertRulesFile, 'utf8')) as {
      groups: Array<{ name: string; rules: Array<{ alert?: string; record?: string }> }>;
    };
    const want = file.groups.flatMap((g) => g.rules.map((r) => r.alert ?? r.record)).sort();
    // The operator's rule file in Prometheus is named <namespace>-<PrometheusRule>-<uid>.yaml.
    const groups = await eventually(
      async () => {
        const got = (await api<{ groups: RuleGroup[] }>('rules')).groups.filter((g) =>
          g.file.includes(`/${namespace}-${MODEL}-`),
        );
        return got.length === file.groups.length ? got : undefined;
      },
      { what: `the PrometheusRule ${namespace}/${MODEL} in Prometheus's rules API`, ...prometheusPace },
    ).catch(diagnose);
    expect(groups.map((g) => g.name).sort()).toEqual(file.groups.map((g) => g.name).sort());
    const loaded = groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name).sort()).toEqual(want);
    expect(loaded.filter((r) => r.health === 'err')).toEqual([]);
  });
});
