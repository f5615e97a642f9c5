// Monitoring contracts: the labels the local cluster's Prometheus selects ServiceMonitors and
// PrometheusRules by, the Prometheus Operator kinds the operator creates per ModelDeployment, the
// spec.monitoring schema and the reasons of the Monitoring and Drifting conditions
// (docs/decisions/0022-monitoring-objects-and-drifting.md).
import Type, { type Static } from 'typebox';
import { LabelValue, labelKeysRule, rules, StringMap } from './schema.ts';

/**
 * Labels on every ServiceMonitor and PrometheusRule k2k makes unless spec.monitoring.labels sets
 * the same keys; the local cluster's Prometheus selects on them, the way kube-prometheus-stack's
 * selects on its Helm release's `release` label (a null selector in a Prometheus CR matches
 * nothing, so they must be explicit).
 */
export const MONITORING_SELECTOR_LABELS = { release: 'k2k' } as const;

export const MONITORING_API_VERSION = 'monitoring.coreos.com/v1';
export const SERVICEMONITOR_KIND = 'ServiceMonitor';
export const SERVICEMONITOR_PLURAL = 'servicemonitors';
export const PROMETHEUSRULE_KIND = 'PrometheusRule';
export const PROMETHEUSRULE_PLURAL = 'prometheusrules';

/** A Prometheus duration, as the ServiceMonitor CRD validates it (30s, 1m, 1h30m). */
const PROMETHEUS_DURATION =
  '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$';

/** How long K2KFeatureDrift and K2KManyFeaturesDrift hold before they fire unless spec says otherwise. */
export const DEFAULT_DRIFT_FOR = '15m';

export const MonitoringAlerts = Type.Object(
  {
    driftFor: Type.String({
      description:
        'How long a feature must keep drifting before the K2KFeatureDrift and K2KManyFeaturesDrift alerts fire (their `for`; until then Prometheus lists them as pending). The Drifting condition does not wait for it. Hours, minutes and seconds, at most 24h: 15m, 1h30m, 30s.',
      // Go's duration syntax, a subset of Prometheus's, so the CEL rule below can read it.
      pattern: '^([0-9]+h)?([0-9]+m)?([0-9]+s)?$',
      minLength: 2,
      maxLength: 16,
      default: DEFAULT_DRIFT_FOR,
      ...rules({
        rule: "duration(self) <= duration('24h')",
        message: 'monitoring.alerts.driftFor must be at most 24h (for example 15m or 1h30m)',
      }),
    }),
  },
  { description: 'Timing of the alerts in this model’s PrometheusRule.', default: {} },
);
export type MonitoringAlerts = Static<typeof MonitoringAlerts>;

export const Monitoring = Type.Object(
  {
    enabled: Type.Boolean({
      description:
        'Create a ServiceMonitor and a PrometheusRule for this model when the cluster has the Prometheus Operator’s CRDs (monitoring.coreos.com/v1). false removes none of the server’s metrics, only these two objects.',
      default: true,
    }),
    interval: Type.String({
      description: 'How often Prometheus scrapes the model server (the ServiceMonitor’s interval).',
      pattern: PROMETHEUS_DURATION,
      maxLength: 32,
      default: '30s',
    }),
    labels: Type.Optional(
      StringMap(LabelValue('A label value.'), {
        description:
          'Labels on the ServiceMonitor and PrometheusRule for the Prometheus that should pick them up: its serviceMonitorSelector and ruleSelector (kube-prometheus-stack: release: <its Helm release>). They replace the default release: k2k (the local cluster’s Prometheus); k2k’s own labels cannot be replaced.',
        maxProperties: 32,
        ...labelKeysRule(),
      }),
    ),
    alerts: Type.Optional(MonitoringAlerts),
  },
  {
    description:
      'Prometheus Operator objects for this model: a ServiceMonitor and a PrometheusRule with its alerts.',
    default: {},
  },
);
export type Monitoring = Static<typeof Monitoring>;

/** Reasons of the Monitoring condition: whether this model's ServiceMonitor and PrometheusRule exist. */
export const MonitoringReason = {
  /** True: both objects are applied as the spec asks. */
  MonitoringApplied: 'MonitoringApplied',
  /** False: spec.monitoring.enabled is false. */
  MonitoringDisabled: 'MonitoringDisabled',
  /** False: monitoring is wanted but the API server serves no monitoring.coreos.com/v1 kinds. */
  PrometheusOperatorMissing: 'PrometheusOperatorMissing',
  /** Unknown: the operator could not ask the API server which kinds it serves. */
  DiscoveryFailed: 'DiscoveryFailed',
  /** False: nothing to monitor yet (no artifact resolved, or the children were refused). */
  WaitingForServer: 'WaitingForServer',
} as const;

/** Reasons of the Drifting condition, from the operator's query of Prometheus (operator/monitoring). */
export const DriftingReason = {
  /** True: at least one input feature drifts by the rule of the K2KFeatureDrift alert. */
  FeatureDrift: 'FeatureDrift',
  /** False: enough samples and no feature drifts. */
  NoDrift: 'NoDrift',
  /** Unknown: the operator runs without --prometheus-url. */
  PrometheusNotConfigured: 'PrometheusNotConfigured',
  /** Unknown: Prometheus did not answer (or answered with an error). */
  PrometheusUnreachable: 'PrometheusUnreachable',
  /** Unknown: Prometheus has no drift series of this model (not scraped yet, or not at all). */
  NoSamples: 'NoSamples',
  /** Unknown: the drift window holds fewer rows than spec.drift.minSamples. */
  TooFewSamples: 'TooFewSamples',
} as const;

/**
 * Where config/monitoring runs the local cluster's Prometheus, and its in-cluster address (the
 * Service prometheus-k2k), what the demo gives the operator as --prometheus-url
 * (docs/decisions/0021-monitoring-in-the-local-cluster.md).
 */
export const LOCAL_PROMETHEUS = {
  namespace: 'k2k-monitoring',
  service: 'prometheus-k2k',
  port: 9090,
  url: 'http://prometheus-k2k.k2k-monitoring.svc:9090',
} as const;
