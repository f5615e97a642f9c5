// vitest globalSetup of the e2e suite: a control plane and a real node (containerd, kubelet,
// kube-proxy) in the default state directory, reused when one is already healthy (a developer's
// `cli.ts node-up`), otherwise started here and torn down after the run (K2K_E2E_KEEP=1 keeps it).
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
import { inspectNodeDir, startNode, stopNodeDir } from '../../hack/cluster/node.ts';
import { hostSnapshot } from '../../hack/cluster/node-host.ts';

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
  try {
    const cp = await inspectControlPlaneDir(controlPlaneDir);
    if (!cp?.components.every((c) => c.healthy)) {
      // A stale node would point at the old control plane.
      await stopNodeDir(nodeDir, log);
      await stopControlPlaneDir(controlPlaneDir);
      await startControlPlane({ dir: controlPlaneDir, detached: true, log });
      startedControlPlane = true;
    }
    const node = await inspectNodeDir(nodeDir);
    if (startedControlPlane || !node?.components.every((c) => c.healthy)) {
      const bad = node?.components.filter((c) => !c.healthy).map((c) => `${c.name} (${c.detail})`);
      if (bad) log(`replacing the unhealthy node: ${bad.join(', ')}`);
      await stopNodeDir(nodeDir, log);
      before = await hostSnapshot([stateRoot]);
      await startNode({ dir: nodeDir, controlPlaneDir, log });
      startedNode = true;
    } else {
      log(`reusing the healthy node in ${nodeDir}`);
    }
    const found = await inspectControlPlaneDir(controlPlaneDir);
    if (!found) throw new Error(`no control plane state in ${controlPlaneDir}`);
    process.env.K2K_E2E_KUBECONFIG = found.state.kubeconfigPath;
    process.env.K2K_E2E_KUBECTL = join((await locateBinaries()).binDir, 'kubectl');
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
