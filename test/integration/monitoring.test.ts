// A ModelDeployment's ServiceMonitor and PrometheusRule against a real kube-apiserver (and its
// garbage collector), with the Prometheus Operator's CRDs from its Go module installed and removed
// by the tests, and the Drifting condition from a real Prometheus (/usr/bin/prometheus) scraping a
// real model server. The operator runs as its own process and ServiceAccount (config/rbac) and
// watches only each test's namespace.
//
// The tests run in order: the first removes the CRDs, sees the operator say so, then installs them;
// the others need them. They stay installed afterwards: removing them under other files' operators
// would fail their applies until those operators discover it.
import { AppsV1Api, CustomObjectsApi, EventsV1Api } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import type { ModelDeployment } from '../../api/index.ts';
import { queryDrift } from '../../operator/monitoring/drift.ts';
import { modelScope } from '../../operator/monitoring/rules.ts';
import { eventually } from '../harness/eventually.ts';
import { freshNamespace, testKubeConfig } from '../harness/kube.ts';
import { type ModelServer, startTabularModelServer, tabularRows } from '../harness/model-server.ts';
import { eventuallyModelDeploymentCondition } from '../harness/modeldeployments.ts';
import { installMonitoringCRDs, removeMonitoringCRDs } from '../harness/monitoring-crds.ts';
import { operatorsPerTest } from '../harness/operator.ts';
import { type PrometheusProcess, startPrometheus } from '../harness/prometheus.ts';

const kc = testKubeConfig();
const custom = kc.makeApiClient(CustomObjectsApi);
const apps = kc.makeApiClient(AppsV1Api);
const eventsApi = kc.makeApiClient(EventsV1Api);
const mds = { group: 'k2k.dev', version: 'v1alpha1', plural: 'modeldeployments' };
const monitoring = { group: 'monitoring.coreos.com', version: 'v1' };
const URI = 's3://models/tiny/1/';
const startOperator = operatorsPerTest();

/** A fresh namespace with an operator that watches only it and checks discovery every second. */
async function namespaceWithOperator(args: string[] = []): Promise<string> {
  const ns = await freshNamespace(kc, 'k2k-mon-');
  startOperator({
    identity: `mon-${ns}`,
    namespace: ns,
    args: ['--monitoring-discovery-seconds=1', ...args],
  });
  return ns;
}

const createModelDeployment = (namespace: string, name: string, spec: Record<string, unknown> = {}) =>
  custom.createNamespacedCustomObject({
    ...mds,
    namespace,
    body: {
      apiVersion: 'k2k.dev/v1alpha1',
      kind: 'ModelDeployment',
      metadata: { name },
      spec: { model: { artifactURI: URI }, ...spec },
    },
  });

const getModelDeployment = async (namespace: string, name: string) =>
  (await custom.getNamespacedCustomObject({ ...mds, namespace, name })) as ModelDeployment;

const eventuallyCondition = (namespace: string, name: string, type: string, reason: string) =>
  eventuallyModelDeploymentCondition(custom, namespace, name, type, reason);

/** The ServiceMonitor or PrometheusRule `name`, or undefined when there is none. */
const monitoringObject = (plural: 'servicemonitors' | 'prometheusrules', namespace: string, name: string) =>
  custom
    .getNamespacedCustomObject({ ...monitoring, plural, namespace, name })
    .then(
      (o) =>
        o as {
          metadata: {
            ownerReferences?: Array<{ uid: string; controller?: boolean }>;
            resourceVersion: string;
            labels?: Record<string, string>;
          };
          spec: Record<string, unknown>;
        },
    )
    .catch((err: { code?: number }) => {
      if (err.code === 404) return undefined;
      throw err;
    });

const warnings = async (namespace: string, reason: string) =>
  (await eventsApi.listNamespacedEvent({ namespace })).items.filter(
    (e) => e.type === 'Warning' && e.reason === reason,
  );

describe('per-ModelDeployment ServiceMonitor and PrometheusRule', () => {
  it('makes none without the CRDs and says so, without failing Ready; makes both once the CRDs are installed', async () => {
    await removeMonitoringCRDs();
    const ns = await namespaceWithOperator();
    await createModelDeployment(ns, 'm');
    const { condition } = await eventuallyCondition(ns, 'm', 'Monitoring', 'PrometheusOperatorMissing');
    expect(condition.status).toBe('False');
    expect(condition.message).toMatch(/install the Prometheus Operator's CRDs/);
    await eventually(async () => (await warnings(ns, 'PrometheusOperatorMissing')).length > 0, {
      what: 'a PrometheusOperatorMissing Warning event',
    });
    // The model is served all the same: its Deployment exists and Ready speaks of it, not of monitoring.
    await eventually(
      async () => (await apps.listNamespacedDeployment({ namespace: ns })).items.length === 1,
      {
        what: 'the Deployment',
      },
    );
    const md = await getModelDeployment(ns, 'm');
    const ready = md.status!.conditions!.find((c) => c.type === 'Ready')!;
    // (No node here: its pods stay Pending.)
    expect(['DeploymentCreated', 'ModelLoading', 'RolloutInProgress', 'Unschedulable']).toContain(
      ready.reason,
    );
    expect(md.status!.conditions!.find((c) => c.type === 'Drifting')).toMatchObject({
      status: 'Unknown',
      reason: 'PrometheusNotConfigured',
    });

    await installMonitoringCRDs();
    await eventuallyCondition(ns, 'm', 'Monitoring', 'MonitoringApplied');
    for (const plural of ['servicemonitors', 'prometheusrules'] as const) {
      const obj = await monitoringObject(plural, ns, 'm');
      expect(obj, plural).toBeDefined();
      expect(obj!.metadata.ownerReferences).toEqual([
        expect.objectContaining({ uid: md.metadata.uid, controller: true }),
      ]);
      expect(obj!.metadata.labels).toMatchObject({ release: 'k2k' });
    }
    const sm = await monitoringObject('servicemonitors', ns, 'm');
    expect(sm!.spec).toMatchObject({ endpoints: [{ port: 'http', path: '/metrics', interval: '30s' }] });
  });

  it('follows spec.monitoring: its interval and labels, and none of either object when it is off', async () => {
    const ns = await namespaceWithOperator();
    await createModelDeployment(ns, 'off', { monitoring: { enabled: false } });
    await createModelDeployment(ns, 'm', { monitoring: { interval: '15s', labels: { release: 'prom' } } });
    const sm = await eventually(
      async () => {
        const o = await monitoringObject('servicemonitors', ns, 'm');
        return o?.metadata.labels?.release === 'prom' ? o : undefined;
      },
      { what: 'the ServiceMonitor with the label' },
    );
    expect(sm.spec).toMatchObject({ endpoints: [{ interval: '15s' }] });
    const { condition } = await eventuallyCondition(ns, 'off', 'Monitoring', 'MonitoringDisabled');
    expect(condition.status).toBe('False');
    expect(await monitoringObject('servicemonitors', ns, 'off')).toBeUndefined();
    expect(await monitoringObject('prometheusrules', ns, 'off')).toBeUndefined();
  });

  it('leaves both to garbage collection with the ModelDeployment', async () => {
    const ns = await namespaceWithOperator();
    await createModelDeployment(ns, 'gone');
    await eventuallyCondition(ns, 'gone', 'Monitoring', 'MonitoringApplied');
    await custom.deleteNamespacedCustomObject({ ...mds, namespace: ns, name: 'gone' });
    await eventually(
      async () =>
        (await monitoringObject('servicemonitors', ns, 'gone')) === undefined &&
        (await monitoringObject('prometheusrules', ns, 'gone')) === undefined,
      { what: 'garbage collection of the ServiceMonitor and PrometheusRule', timeoutMs: 60_000 },
    );
  });

  it('never takes over a ServiceMonitor it did not make: Conflict, and that one stays as it was', async () => {
    const ns = await namespaceWithOperator();
    const foreign = (await custom.createNamespacedCustomObject({
      ...monitoring,
      plural: 'servicemonitors',
      namespace: ns,
      body: {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'ServiceMonitor',
        metadata: { name: 'taken' },
        spec: { selector: { matchLabels: { app: 'other' } }, endpoints: [{ port: 'web' }] },
      },
    })) as { metadata: { resourceVersion: string } };
    await createModelDeployment(ns, 'taken');
    const { condition } = await eventuallyCondition(ns, 'taken', 'Ready', 'Conflict');
    expect(condition.message).toMatch(
      /ServiceMonitor taken already exists and is not managed by this ModelDeployment/,
    );
    await eventually(async () => (await warnings(ns, 'Conflict')).length > 0, {
      what: 'a Conflict Warning event',
    });
    const after = await monitoringObject('servicemonitors', ns, 'taken');
    expect(after!.metadata.resourceVersion).toBe(foreign.metadata.resourceVersion);
    expect(after!.metadata.ownerReferences).toBeUndefined();
    expect(await monitoringObject('prometheusrules', ns, 'taken')).toBeUndefined();
    expect((await apps.listNamespacedDeployment({ namespace: ns })).items).toEqual([]);
  });
});

describe('the Drifting condition from a real Prometheus', () => {
  let server: ModelServer | undefined;
  let prometheus: PrometheusProcess | undefined;
  afterAll(async () => {
    await prometheus?.stop();
    await server?.stop();
  });

  it('is Unknown until the window is full, False on training-like inputs and True on shifted ones, naming the features', async () => {
    const drift = { windowSize: 400, minSamples: 200 };
    server = await startTabularModelServer(drift);
    const ns = await freshNamespace(kc, 'k2k-mon-');
    // The labels the Prometheus Operator gives the targets of ModelDeployment ns/drifty's ServiceMonitor.
    prometheus = await startPrometheus({
      targets: [{ address: server.address, labels: { namespace: ns, service: 'drifty', pod: 'drifty-0' } }],
    });
    startOperator({
      identity: `drift-${ns}`,
      namespace: ns,
      args: [`--prometheus-url=${prometheus.url}`, '--drift-interval-seconds=1'],
    });
    await createModelDeployment(ns, 'drifty', { drift });
    const few = await eventuallyCondition(ns, 'drifty', 'Drifting', 'TooFewSamples');
    expect(few.condition.status).toBe('Unknown');

    await server.send(tabularRows(drift.windowSize, 1234));
    const stable = await eventuallyCondition(ns, 'drifty', 'Drifting', 'NoDrift');
    expect(stable.condition).toMatchObject({ status: 'False' });
    expect(stable.condition.message).toMatch(/\d+ rows in the window, at least 200/);

    // f0 three standard deviations up, f2 one: both drift.
    await server.send(tabularRows(drift.windowSize, 99, [3, 0, 0.5, 0]));
    await eventuallyCondition(ns, 'drifty', 'Drifting', 'FeatureDrift');
    // A scrape may land while the 400 shifted rows are still arriving, when only f0 (the larger
    // shift) has crossed the threshold; the condition follows the window until both have.
    const drifting = await eventually(
      async () => {
        const c = (await getModelDeployment(ns, 'drifty')).status?.conditions?.find(
          (x) => x.type === 'Drifting',
        );
        return c?.reason === 'FeatureDrift' && c.message.startsWith('2 ') ? { condition: c } : undefined;
      },
      { what: 'Drifting naming both shifted features' },
    );
    expect(drifting.condition.status).toBe('True');
    expect(drifting.condition.message).toMatch(
      /2 input feature\(s\) drift since .*: f0 \(PSI \d+\.\d{3}\), f2 \(PSI/,
    );
    await eventually(async () => (await warnings(ns, 'FeatureDrift')).length > 0, {
      what: 'a FeatureDrift Warning event',
    });
    // The same module answers a direct question, as a canary analysis would ask it.
    const answer = await queryDrift({ url: prometheus.url }, modelScope(ns, 'drifty'));
    expect(answer).toMatchObject({ state: 'drifting', features: [{ feature: 'f0' }, { feature: 'f2' }] });
  });

  it('is Unknown with PrometheusUnreachable when Prometheus does not answer', async () => {
    const ns = await namespaceWithOperator([
      '--prometheus-url=http://127.0.0.1:9',
      '--drift-interval-seconds=1',
    ]);
    await createModelDeployment(ns, 'lonely');
    const { condition } = await eventuallyCondition(ns, 'lonely', 'Drifting', 'PrometheusUnreachable');
    expect(condition.status).toBe('Unknown');
    expect(condition.message).toMatch(/Prometheus at http:\/\/127.0.0.1:9 is unreachable/);
  });
});
