// The local cluster's monitoring: the Prometheus Operator's CRDs (from its Go module, cached by
// hack/build-monitoring.sh, never copied into the repository) and config/monitoring (the operator
// and one Prometheus), installed into a running node and waited on until Prometheus is Available.
// k2k's alert rules reach it as the PrometheusRule k2k's operator makes per ModelDeployment, not
// as config/prometheus/k2k-alerts.yaml: the same rules loaded twice fire every alert twice
// (docs/monitoring.md). Used by `cli.ts monitoring-up` (the demo) and the e2e
// setup. Why: docs/decisions/0021-monitoring-in-the-local-cluster.md.
import { join } from 'node:path';
import { LOCAL_PROMETHEUS } from '../../api/monitoring.ts';
import { hackDir, seconds, timedStep } from './binaries.ts';
import { execFileText } from './exec.ts';

const repoDir = join(hackDir, '..');
export const monitoringKustomization = join(repoDir, 'config', 'monitoring');
/** The Prometheus resource config/monitoring defines. */
export const PROMETHEUS_NAME = 'k2k';

export const MonitoringErrorCode = {
  NotBuilt: 'MONITORING_NOT_BUILT',
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

export interface InstallMonitoringOptions {
  kubectl: string;
  kubeconfig: string;
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
