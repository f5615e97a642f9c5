// The Prometheus Operator's ServiceMonitor and PrometheusRule CRDs, from its Go module at the
// version hack/lib/versions.sh pins (example/prometheus-operator-crd/), never copied into the repo.
// Tests install and remove them to see the operator discover them.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hackDir } from '../../hack/cluster/binaries.ts';
import { eventually } from './eventually.ts';

const run = promisify(execFile);
export const MONITORING_CRDS = [
  'servicemonitors.monitoring.coreos.com',
  'prometheusrules.monitoring.coreos.com',
];

/** Where `go mod download` put the pinned Prometheus Operator module (from the module cache when it is there). */
async function moduleDir(): Promise<string> {
  const { stdout: version } = await run('bash', [
    '-c',
    'source "$1" && printf %s "$PROMETHEUS_OPERATOR_VERSION"',
    'versions',
    join(hackDir, 'lib', 'versions.sh'),
  ]);
  const { stdout } = await run('go', [
    'mod',
    'download',
    '-json',
    `github.com/prometheus-operator/prometheus-operator@${version}`,
  ]);
  return (JSON.parse(stdout) as { Dir: string }).Dir;
}

const kubectl = (...args: string[]) =>
  run(process.env.K2K_TEST_KUBECTL!, ['--kubeconfig', process.env.K2K_TEST_KUBECONFIG!, ...args]);

/** Installs both CRDs as a cluster admin would and waits until the API server serves them. */
export async function installMonitoringCRDs(): Promise<void> {
  const dir = join(await moduleDir(), 'example', 'prometheus-operator-crd');
  for (const crd of MONITORING_CRDS) {
    await kubectl(
      'apply',
      '--server-side',
      '--field-manager=k2k-test',
      '-f',
      join(dir, `monitoring.coreos.com_${crd.split('.')[0]}.yaml`),
    );
  }
  await eventually(
    () =>
      kubectl('wait', '--for=condition=Established', '--timeout=30s', 'crd', ...MONITORING_CRDS).then(
        () => true,
      ),
    { what: 'the monitoring CRDs to be Established', timeoutMs: 60_000, intervalMs: 500 },
  );
}

/** Removes both CRDs (and with them every ServiceMonitor and PrometheusRule) and waits until they are gone. */
export async function removeMonitoringCRDs(): Promise<void> {
  await kubectl('delete', 'crd', '--ignore-not-found', '--wait=true', ...MONITORING_CRDS);
}
