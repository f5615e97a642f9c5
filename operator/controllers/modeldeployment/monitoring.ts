// Pure builders of a ModelDeployment's Prometheus Operator objects: a ServiceMonitor that scrapes
// the model server through its Service, and a PrometheusRule with the alerts of
// operator/monitoring/rules.ts restricted to this model's series. Which of them a pass applies
// depends on spec.monitoring and on whether the API server serves their kinds (monitoringPlan).
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  DEFAULT_DRIFT_FOR,
  MONITORING_API_VERSION,
  MONITORING_SELECTOR_LABELS,
  type ModelDeployment,
  ModelDeploymentConditionType,
  MonitoringReason,
  PROMETHEUSRULE_KIND,
  PROMETHEUSRULE_PLURAL,
  SERVICEMONITOR_KIND,
  SERVICEMONITOR_PLURAL,
} from '../../../api/index.ts';
import { modelScope, modelServerRuleGroups, prometheusGroups } from '../../monitoring/rules.ts';
import type { ConditionInput } from '../conditions.ts';
import { childMetadata, PORT_NAME, selectorLabels, serviceName } from './desired.ts';

/** The two kinds, in the order they are checked and applied. */
export const MONITORING_KINDS = [
  { kind: SERVICEMONITOR_KIND, plural: SERVICEMONITOR_PLURAL },
  { kind: PROMETHEUSRULE_KIND, plural: PROMETHEUSRULE_PLURAL },
] as const;

export const serviceMonitorName = (md: ModelDeployment) => md.metadata.name!;
export const prometheusRuleName = (md: ModelDeployment) => md.metadata.name!;

export interface ServiceMonitor extends KubernetesObject {
  spec: {
    selector: { matchLabels: Record<string, string> };
    namespaceSelector: { matchNames: string[] };
    endpoints: Array<{
      port: string;
      path: string;
      interval: string;
      scheme: string;
      metricRelabelings: Array<Record<string, unknown>>;
    }>;
  };
}

export interface PrometheusRule extends KubernetesObject {
  spec: { groups: ReturnType<typeof prometheusGroups> };
}

/** Whether spec.monitoring asks for the objects (true unless turned off). */
export const monitoringWanted = (md: ModelDeployment) => md.spec.monitoring?.enabled ?? true;

/**
 * Metadata of both: the labels a Prometheus selects on (the user's replace k2k's defaults, so a
 * kube-prometheus-stack `release` wins), then the child labels k2k relies on, and the owner reference.
 */
function monitoringMetadata(md: ModelDeployment, name: string) {
  const meta = childMetadata(md, name);
  return {
    ...meta,
    labels: { ...MONITORING_SELECTOR_LABELS, ...md.spec.monitoring?.labels, ...meta.labels },
  };
}

/**
 * The Prometheus Operator gives every target of a ServiceMonitor the label `endpoint` (the port's
 * name), and Prometheus keeps a scraped label of the same name as `exported_endpoint`. The model
 * server's `endpoint` (predict, infer, …) is what the alerts, the dashboards and the canary
 * analysis select on, so it is put back. Not `honorLabels`: that would let a model server image
 * set its own `namespace` and `pod` labels too.
 */
export const RESTORE_ENDPOINT_LABEL = [
  { sourceLabels: ['exported_endpoint'], regex: '(.+)', targetLabel: 'endpoint', action: 'replace' },
  { regex: 'exported_endpoint', action: 'labeldrop' },
];

/** Scrapes /metrics on every model server pod behind the Service, at spec.monitoring.interval. */
export function desiredServiceMonitor(md: ModelDeployment): ServiceMonitor {
  return {
    apiVersion: MONITORING_API_VERSION,
    kind: SERVICEMONITOR_KIND,
    metadata: monitoringMetadata(md, serviceMonitorName(md)),
    spec: {
      selector: { matchLabels: selectorLabels(md) },
      namespaceSelector: { matchNames: [md.metadata.namespace!] },
      endpoints: [
        {
          port: PORT_NAME,
          path: '/metrics',
          interval: md.spec.monitoring?.interval ?? '30s',
          scheme: 'http',
          metricRelabelings: RESTORE_ENDPOINT_LABEL,
        },
      ],
    },
  };
}

/**
 * This model's alerts: the rules of config/prometheus/k2k-alerts.yaml on the series of this
 * namespace and Service only (the labels the Prometheus Operator gives a ServiceMonitor's targets),
 * timed by spec.monitoring.alerts.
 */
export function desiredPrometheusRule(md: ModelDeployment): PrometheusRule {
  const scope = modelScope(md.metadata.namespace!, serviceName(md));
  const driftFor = md.spec.monitoring?.alerts?.driftFor ?? DEFAULT_DRIFT_FOR;
  return {
    apiVersion: MONITORING_API_VERSION,
    kind: PROMETHEUSRULE_KIND,
    metadata: monitoringMetadata(md, prometheusRuleName(md)),
    spec: { groups: prometheusGroups(modelServerRuleGroups(scope, { driftFor })) },
  };
}

/** What discovery said about monitoring.coreos.com/v1 in this pass. */
export type MonitoringAPI = { state: 'served' } | { state: 'missing' } | { state: 'unknown'; error: string };

export interface MonitoringPlan {
  /** The objects to apply in this pass (none unless wanted and served). */
  children: KubernetesObject[];
  /** The Monitoring condition when the children of this pass are applied. */
  condition: ConditionInput;
}

/**
 * What to do about monitoring: apply both objects when the spec wants them and the API server
 * serves their kinds; otherwise say why not. Missing CRDs never fail Ready: the model serves
 * without them, and the objects appear once the CRDs do.
 */
export function monitoringPlan(md: ModelDeployment, api: MonitoringAPI): MonitoringPlan {
  const type = ModelDeploymentConditionType.Monitoring;
  if (!monitoringWanted(md)) {
    return {
      children: [],
      condition: {
        type,
        status: 'False',
        reason: MonitoringReason.MonitoringDisabled,
        message: 'spec.monitoring.enabled is false: no ServiceMonitor or PrometheusRule',
      },
    };
  }
  if (api.state === 'missing') {
    return {
      children: [],
      condition: {
        type,
        status: 'False',
        reason: MonitoringReason.PrometheusOperatorMissing,
        message: `spec.monitoring.enabled is true but the API server serves no ${MONITORING_API_VERSION} ServiceMonitor and PrometheusRule: install the Prometheus Operator's CRDs, and k2k creates them when it next checks (the model serves meanwhile)`,
      },
    };
  }
  if (api.state === 'unknown') {
    return {
      children: [],
      condition: {
        type,
        status: 'Unknown',
        reason: MonitoringReason.DiscoveryFailed,
        message: `could not ask the API server whether it serves ${MONITORING_API_VERSION}: ${api.error}`,
      },
    };
  }
  const name = serviceMonitorName(md);
  return {
    children: [desiredServiceMonitor(md), desiredPrometheusRule(md)],
    condition: {
      type,
      status: 'True',
      reason: MonitoringReason.MonitoringApplied,
      message: `ServiceMonitor ${name} scrapes the model server every ${md.spec.monitoring?.interval ?? '30s'}; PrometheusRule ${prometheusRuleName(md)} holds its alerts`,
    },
  };
}
