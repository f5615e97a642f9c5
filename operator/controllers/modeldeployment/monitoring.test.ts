import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { type ModelDeployment, ModelDeploymentSpec } from '../../../api/index.ts';
import { featureDriftExpr, modelScope } from '../../monitoring/rules.ts';
import { selectorLabels } from './desired.ts';
import {
  desiredPrometheusRule,
  desiredServiceMonitor,
  type MonitoringAPI,
  monitoringPlan,
  type PrometheusRule,
} from './monitoring.ts';

function modelDeployment(spec: Partial<ModelDeployment['spec']> = {}): ModelDeployment {
  return {
    apiVersion: 'k2k.dev/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name: 'mnist', namespace: 'ml', uid: 'uid-1', generation: 1 },
    spec: Value.Default(ModelDeploymentSpec, {
      model: { artifactURI: 's3://models/mnist/1/' },
      ...spec,
    }) as ModelDeployment['spec'],
  };
}

describe('desiredServiceMonitor', () => {
  it('scrapes /metrics on the Service port of this model only, every 30s by default', () => {
    const sm = desiredServiceMonitor(modelDeployment());
    expect(sm.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(sm.metadata).toMatchObject({ name: 'mnist', namespace: 'ml' });
    expect(sm.spec).toEqual({
      selector: { matchLabels: selectorLabels(modelDeployment()) },
      namespaceSelector: { matchNames: ['ml'] },
      endpoints: [
        {
          port: 'http',
          path: '/metrics',
          interval: '30s',
          scheme: 'http',
          // The server's own `endpoint` label, not the Prometheus Operator's port name.
          metricRelabelings: [
            {
              sourceLabels: ['exported_endpoint'],
              regex: '(.+)',
              targetLabel: 'endpoint',
              action: 'replace',
            },
            { regex: 'exported_endpoint', action: 'labeldrop' },
          ],
        },
      ],
    });
  });

  it.each<{ name: string; spec: Partial<ModelDeployment['spec']>; want: Record<string, string> }>([
    {
      name: 'carries the label the Prometheus selects on and the child labels',
      spec: {},
      want: {
        release: 'k2k',
        'app.kubernetes.io/managed-by': 'k2k',
        'k2k.dev/modeldeployment': 'mnist',
      },
    },
    {
      name: "lets spec.monitoring.labels replace the default release label for the user's own Prometheus",
      spec: { monitoring: { enabled: true, interval: '30s', labels: { release: 'kube-prometheus-stack' } } },
      want: { release: 'kube-prometheus-stack' },
    },
    {
      name: 'never lets spec.monitoring.labels replace a label k2k relies on',
      spec: {
        monitoring: {
          enabled: true,
          interval: '30s',
          labels: { 'k2k.dev/modeldeployment': 'other', 'app.kubernetes.io/managed-by': 'someone' },
        },
      },
      want: { 'k2k.dev/modeldeployment': 'mnist', 'app.kubernetes.io/managed-by': 'k2k' },
    },
  ])('$name', ({ spec, want }) => {
    const md = modelDeployment(spec);
    expect(desiredServiceMonitor(md).metadata!.labels).toMatchObject(want);
    expect(desiredPrometheusRule(md).metadata!.labels).toMatchObject(want);
  });

  it('scrapes at spec.monitoring.interval', () => {
    const md = modelDeployment({ monitoring: { enabled: true, interval: '10s' } });
    expect(desiredServiceMonitor(md).spec.endpoints[0]!.interval).toBe('10s');
  });
});

describe('desiredPrometheusRule', () => {
  const rule = desiredPrometheusRule(modelDeployment());
  const exprs = rule.spec.groups.flatMap((g) => g.rules.map((r) => r.expr));

  it('holds every alert of config/prometheus/k2k-alerts.yaml', () => {
    const alerts = rule.spec.groups.flatMap((g) => g.rules.flatMap((r) => ('alert' in r ? [r.alert] : [])));
    expect(alerts).toEqual([
      'K2KFeatureDrift',
      'K2KManyFeaturesDrift',
      'K2KPredictionDrift',
      'K2KErrorBudgetFastBurn',
      'K2KErrorBudgetSlowBurn',
      'K2KLatencySLOBurn',
      'K2KModelNotReady',
      'K2KModelLoadFailing',
    ]);
  });

  it("selects only this model's series in every selector (namespace and Service)", () => {
    for (const expr of exprs) {
      const selectors = expr.match(/\b(k2k[_:][a-z0-9_:]+)(\{[^}]*\})?/g) ?? [];
      expect(selectors.length, expr).toBeGreaterThan(0);
      for (const s of selectors) expect(s, expr).toMatch(/namespace="ml", service="mnist"\}$/);
    }
  });

  it('asks the same drift question as the Drifting condition', () => {
    expect(exprs[0]).toBe(featureDriftExpr(modelScope('ml', 'mnist')));
  });

  it('keeps the Service in recorded ratios, so two models of one name in a namespace never collide', () => {
    const recorded = rule.spec.groups.flatMap((g) => g.rules.filter((r) => 'record' in r));
    expect(recorded.length).toBeGreaterThan(0);
    for (const r of recorded) expect(r.expr).toContain('sum by (namespace, service, model, track)');
  });

  const forOf = (r: PrometheusRule) =>
    Object.fromEntries(
      r.spec.groups.flatMap((g) => g.rules.flatMap((x) => ('alert' in x ? [[x.alert, x.for]] : []))),
    );

  it.each([
    { name: 'waits 15m before the drift alerts fire by default', alerts: undefined, want: '15m' },
    {
      name: 'waits spec.monitoring.alerts.driftFor before the drift alerts fire',
      alerts: { driftFor: '20s' },
      want: '20s',
    },
  ])('$name', ({ alerts, want }) => {
    const r = desiredPrometheusRule(
      modelDeployment({ monitoring: { enabled: true, interval: '30s', alerts } }),
    );
    expect(forOf(r)).toMatchObject({ K2KFeatureDrift: want, K2KManyFeaturesDrift: want });
    // The other alerts keep their own timing: driftFor is about drift only.
    expect(forOf(r)).toMatchObject({ K2KPredictionDrift: '30m', K2KModelNotReady: '10m' });
  });

  it('carries no comments (the file has them; Prometheus would refuse the field)', () => {
    expect(JSON.stringify(rule)).not.toContain('"why"');
  });
});

describe('monitoringPlan', () => {
  const served: MonitoringAPI = { state: 'served' };
  it.each([
    {
      name: 'applies both objects when wanted and the API server serves their kinds',
      spec: {},
      api: served,
      kinds: ['ServiceMonitor', 'PrometheusRule'],
      condition: { status: 'True', reason: 'MonitoringApplied' },
    },
    {
      name: 'applies none and says so when the Prometheus Operator CRDs are missing',
      spec: {},
      api: { state: 'missing' } as MonitoringAPI,
      kinds: [],
      condition: { status: 'False', reason: 'PrometheusOperatorMissing' },
    },
    {
      name: 'applies none and says it cannot tell when discovery failed',
      spec: {},
      api: { state: 'unknown', error: 'connection refused' } as MonitoringAPI,
      kinds: [],
      condition: { status: 'Unknown', reason: 'DiscoveryFailed' },
    },
    {
      name: 'applies none when spec.monitoring.enabled is false, even where the CRDs exist',
      spec: { monitoring: { enabled: false, interval: '30s' } },
      api: served,
      kinds: [],
      condition: { status: 'False', reason: 'MonitoringDisabled' },
    },
  ])('$name', ({ spec, api, kinds, condition }) => {
    const plan = monitoringPlan(modelDeployment(spec), api);
    expect(plan.children.map((c) => c.kind)).toEqual(kinds);
    expect(plan.condition).toMatchObject({ type: 'Monitoring', ...condition });
  });

  it('names what to install when the CRDs are missing', () => {
    expect(monitoringPlan(modelDeployment(), { state: 'missing' }).condition.message).toMatch(
      /serves no monitoring.coreos.com\/v1 ServiceMonitor and PrometheusRule: install the Prometheus Operator's CRDs/,
    );
  });
});
