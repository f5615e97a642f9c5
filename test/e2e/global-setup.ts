// vitest globalSetup of the e2e suite: a control plane and a real node (containerd, kubelet,
// kube-proxy) in the default state directory, with the Prometheus Operator and Prometheus of
// config/monitoring installed (or updated, on a reused cluster) and Available. The machine has
// room for one cluster, so a healthy one found there (`npm run demo`'s, a developer's
// `cli.ts node-up`) is reused and left as it was; with
// none running, one is started here and torn down after the run (K2K_E2E_KEEP=1 keeps it); one
// that runs but is not healthy is never replaced: the suite stops and says how to repair it
// (hack/cluster/reuse.ts, docs/decisions/0009-one-local-cluster.md).
//   K2K_E2E_KUBECONFIG  admin kubeconfig
//   K2K_E2E_KUBECTL     kubectl of the cluster's Kubernetes version
import { homedir } from 'node:os';
import { join } from 'node:path';
import { locateBinaries } from '../../hack/cluster/binaries.ts';
import {
  inspectControlPlaneDir,
  startControlPlane,
  stopControlPlaneDir,
} from '../../hack/cluster/controlplane.ts';
import { execFileText } from '../../hack/cluster/exec.ts';
import { installMonitoring } from '../../hack/cluster/monitoring.ts';
import { inspectNodeDir, startNode, stopNodeDir } from '../../hack/cluster/node.ts';
import { hostSnapshot } from '../../hack/cluster/node-host.ts';
import { planLocalCluster } from '../../hack/cluster/reuse.ts';

const stateRoot = process.env.K2K_STATE ?? join(homedir(), '.local', 'state', 'k2k');
const controlPlaneDir = join(stateRoot, 'controlplane');
const nodeDir = join(stateRoot, 'node');
const log = (line: string) => console.log(`[e2e] ${line}`);

export default async function setup(): Promise<() => Promise<void>> {
  if (process.getuid?.() !== 0) {
    throw new Error('the e2e suite needs root: the node creates a bridge, iptables rules and mounts');
  }
  let startedControlPlane = false;
  let startedNode = false;
  let before: Awaited<ReturnType<typeof hostSnapshot>> | undefined;
  const teardown = async () => {
    if (process.env.K2K_E2E_KEEP === '1') return;
    if (startedNode) await stopNodeDir(nodeDir, log);
    if (startedControlPlane) await stopControlPlaneDir(controlPlaneDir);
    if (before) {
      // The node's teardown must leave the machine as it found it: no device, mount, iptables
      // rule, kernel setting or cache file of its own left behind.
      const after = await hostSnapshot([stateRoot]);
      const diff = Object.entries(after).flatMap(([kind, items]) => {
        const was = (before as Record<string, string[]>)[kind] ?? [];
        return [
          ...items.filter((i) => !was.includes(i)).map((i) => `+ ${kind}: ${i}`),
          ...was.filter((i) => !items.includes(i)).map((i) => `- ${kind}: ${i}`),
        ];
      });
      if (diff.length > 0) throw new Error(`node teardown left the machine changed:\n${diff.join('\n')}`);
      log('node teardown restored the machine (devices, mounts, iptables, sysctls, cache files)');
    }
  };
  const plan = planLocalCluster(
    stateRoot,
    await inspectControlPlaneDir(controlPlaneDir),
    await inspectNodeDir(nodeDir),
  );
  if (plan.action === 'refuse') throw new Error(plan.reason);
  try {
    if (plan.action === 'reuse') {
      log(`reusing the healthy cluster in ${stateRoot}; it stays running after the suite`);
    } else {
      if (plan.leftovers) log(`clearing the leftovers of a cluster that no longer runs in ${stateRoot}`);
      // The node first: it points at the control plane.
      await stopNodeDir(nodeDir, log);
      await stopControlPlaneDir(controlPlaneDir);
      await startControlPlane({ dir: controlPlaneDir, detached: true, log });
      startedControlPlane = true;
      before = await hostSnapshot([stateRoot]);
      await startNode({ dir: nodeDir, controlPlaneDir, log });
      startedNode = true;
    }
    const found = await inspectControlPlaneDir(controlPlaneDir);
    if (!found) throw new Error(`no control plane state in ${controlPlaneDir}`);
    process.env.K2K_E2E_KUBECONFIG = found.state.kubeconfigPath;
    process.env.K2K_E2E_KUBECTL = join((await locateBinaries()).binDir, 'kubectl');
    if (plan.action === 'reuse')
      await restartOperator(process.env.K2K_E2E_KUBECTL, found.state.kubeconfigPath);
    await installMonitoring({
      kubectl: process.env.K2K_E2E_KUBECTL,
      kubeconfig: found.state.kubeconfigPath,
      log,
    });
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}

/**
 * A reused cluster's operator pods run the image they started with; hack/setup.sh may have just
 * rebuilt localhost/k2k/operator:dev under the same tag, and re-applying config/default alone would
 * not replace them. Restarted, they run the code under test.
 */
async function restartOperator(kubectl: string, kubeconfig: string): Promise<void> {
  const k = (...args: string[]) =>
    execFileText(kubectl, ['--kubeconfig', kubeconfig, '-n', 'k2k-system', ...args]);
  if ((await k('get', 'deployment', 'k2k-operator', '--ignore-not-found', '-o', 'name')).trim() === '')
    return;
  await k('rollout', 'restart', 'deployment/k2k-operator');
  log("restarted the reused cluster's operator onto the image just built");
}
