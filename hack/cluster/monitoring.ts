// The local cluster's monitoring: the Prometheus Operator's CRDs (from its Go module, cached by
// hack/build-monitoring.sh, never copied into the repository), config/monitoring (the operator and
// one Prometheus) and k2k's alert rules as a PrometheusRule, installed into a running node and
// waited on until Prometheus is Available. Used by `cli.ts monitoring-up` (the demo) and the e2e
// setup. Why: docs/decisions/0021-monitoring-in-the-local-cluster.md.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { LOCAL_PROMETHEUS, MONITORING_SELECTOR_LABELS } from '../../api/monitoring.ts';
import { hackDir, seconds, timedStep } from './binaries.ts';
import { execFileText } from './exec.ts';
import { kubectlApply } from './node.ts';

const repoDir = join(hackDir, '..');
export const monitoringKustomization = join(repoDir, 'config', 'monitoring');
export const alertRulesFile = join(repoDir, 'config', 'prometheus', 'k2k-alerts.yaml');
/** The Prometheus resource config/monitoring defines. */
export const PROMETHEUS_NAME = 'k2k';

export const MonitoringErrorCode = {
  NotBuilt: 'MONITORING_NOT_BUILT',
  BadRuleFile: 'MONITORING_BAD_RULE_FILE',
  NotReady: 'MONITORING_NOT_READY',
} as const;
export type MonitoringErrorCode = (typeof MonitoringErrorCode)[keyof typeof MonitoringErrorCode];

export class MonitoringError extends Error {
  override readonly name = 'MonitoringError';
  constructor(
    readonly code: MonitoringErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** What hack/build-monitoring.sh builds, where it keeps it. */
export interface MonitoringBuild {
  operator: string;
  configReloader: string;
  prometheus: string;
  crdDir: string;
}

export async function monitoringBuild(): Promise<MonitoringBuild> {
  const out = await execFileText('bash', [join(hackDir, 'build-monitoring.sh'), '--paths']);
  const [operator, configReloader, prometheus, crdDir] = out.trim().split('\n');
  if (!operator || !configReloader || !prometheus || !crdDir) {
    throw new MonitoringError(
      MonitoringErrorCode.NotBuilt,
      `hack/build-monitoring.sh --paths printed ${out}`,
    );
  }
  return { operator, configReloader, prometheus, crdDir };
}

/**
 * k2k's alert rule file as the PrometheusRule the local Prometheus loads: the file stays the one
 * source that promtool checks and unit-tests, and its groups become the object's spec unchanged.
 */
export function alertRulesPrometheusRule(ruleFileText: string): object {
  const doc = yaml.load(ruleFileText) as { groups?: unknown } | null;
  if (!doc || !Array.isArray(doc.groups) || doc.groups.length === 0) {
    throw new MonitoringError(
      MonitoringErrorCode.BadRuleFile,
      `${alertRulesFile}: expected a Prometheus rule file with a non-empty "groups" list`,
    );
  }
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'k2k-alerts',
      namespace: LOCAL_PROMETHEUS.namespace,
      labels: { 'app.kubernetes.io/name': 'k2k', ...MONITORING_SELECTOR_LABELS },
    },
    spec: { groups: doc.groups },
  };
}

export interface InstallMonitoringOptions {
  kubectl: string;
  kubeconfig: string;
  /** Where the generated manifests are written before they are applied (the node's directory). */
  dir: string;
  log?: (line: string) => void;
  /** Time limit for Prometheus to become Available. Default 300s (a busy 2-core machine). */
  timeoutMs?: number;
}

/** Installs or updates the monitoring stack and returns once Prometheus is Available. */
export async function installMonitoring(opts: InstallMonitoringOptions): Promise<void> {
  const log = opts.log ?? (() => {});
  const step = timedStep(log);
  const timeout = `${Math.round((opts.timeoutMs ?? 300_000) / 1000)}s`;
  const t0 = Date.now();
  const k = (...args: string[]) => execFileText(opts.kubectl, ['--kubeconfig', opts.kubeconfig, ...args]);
  const { crdDir } = await monitoringBuild();
  const ns = LOCAL_PROMETHEUS.namespace;
  await step(`monitoring.coreos.com CRDs applied and established (from ${crdDir})`, async () => {
    await k('apply', '--server-side', '--force-conflicts', '-f', crdDir).catch((err: Error) => {
      throw new MonitoringError(
        MonitoringErrorCode.NotBuilt,
        `${err.message}\n(the CRDs come from hack/build-monitoring.sh: run bash hack/setup.sh --cluster)`,
      );
    });
    await k('wait', '--for=condition=Established', '--timeout=60s', '-f', crdDir);
  });
  await step('Prometheus Operator and Prometheus applied (config/monitoring)', () =>
    k('apply', '--server-side', '--force-conflicts', '-k', monitoringKustomization),
  );
  const rule = alertRulesPrometheusRule(await readFile(alertRulesFile, 'utf8'));
  await step('k2k alert rules applied as PrometheusRule k2k-alerts', () =>
    kubectlApply(opts.kubectl, opts.kubeconfig, opts.dir, 'k2k-alerts-prometheusrule', rule),
  );
  try {
    await step('Prometheus Operator rolled out', () =>
      k('rollout', 'status', '-n', ns, 'deployment/prometheus-operator', `--timeout=${timeout}`),
    );
    await step(`Prometheus ${ns}/${PROMETHEUS_NAME} Available`, () =>
      k(
        'wait',
        '-n',
        ns,
        `prometheus/${PROMETHEUS_NAME}`,
        '--for=condition=Available',
        `--timeout=${timeout}`,
      ),
    );
  } catch (err) {
    throw new MonitoringError(
      MonitoringErrorCode.NotReady,
      `${(err as Error).message}\nsee: kubectl -n ${ns} describe prometheus ${PROMETHEUS_NAME}; ` +
        `kubectl -n ${ns} logs deployment/prometheus-operator`,
    );
  }
  log(`monitoring ready in ${seconds(Date.now() - t0)}: Prometheus at ${LOCAL_PROMETHEUS.url}`);
}
