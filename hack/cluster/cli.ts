// A long-lived local control plane for development and demos: the same components as the test
// harness (controlplane.ts), started as background processes that outlive this command.
//
//   tsx hack/cluster/cli.ts up       start (or reuse a healthy one); prints export lines on stdout
//   tsx hack/cluster/cli.ts status   each component's pid and health; exit 1 unless all are healthy
//   tsx hack/cluster/cli.ts env      the export lines (KUBECONFIG, PATH with kubectl)
//   tsx hack/cluster/cli.ts down     stop everything `up` started and remove its state
//   tsx hack/cluster/cli.ts node-up      `up`, then a real node (containerd, kubelet, kube-proxy; node.ts)
//   tsx hack/cluster/cli.ts node-status  the node's components; exit 1 unless all are healthy
//   tsx hack/cluster/cli.ts node-down    stop the node, undo its changes to the machine (`down` does too)
//   tsx hack/cluster/cli.ts monitoring-up  install (or update) the Prometheus Operator and Prometheus
//                                          (config/monitoring, monitoring.ts) on the running node
//
// State, pids, logs and the kubeconfig live in ${K2K_STATE:-~/.local/state/k2k}/controlplane
// (the node's in .../node).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { inspectControlPlaneDir, startControlPlane, stopControlPlaneDir } from './controlplane.ts';
import { installMonitoring } from './monitoring.ts';
import { inspectNodeDir, startNode, stopNodeDir } from './node.ts';

const stateDir = join(process.env.K2K_STATE ?? join(homedir(), '.local', 'state', 'k2k'), 'controlplane');
const nodeDir = join(stateDir, '..', 'node');
const progress = (line: string) => process.stderr.write(`[controlplane] ${line}\n`);

function exportLines(kubeconfigPath: string, binDir: string): string {
  return `export KUBECONFIG=${kubeconfigPath}\nexport PATH=${binDir}:$PATH\n`;
}

async function up(): Promise<number> {
  const found = await inspectControlPlaneDir(stateDir);
  if (found?.components.every((c) => c.healthy)) {
    progress(`reusing the healthy control plane at ${found.state.server} (${stateDir})`);
    process.stdout.write(exportLines(found.state.kubeconfigPath, found.state.binDir));
    return 0;
  }
  if (found) {
    const bad = found.components.filter((c) => !c.healthy).map((c) => `${c.name} (${c.detail})`);
    progress(`replacing the unhealthy control plane in ${stateDir}: ${bad.join(', ')}`);
  }
  // Also clears a failed start's leftovers; their logs are in the directory until then.
  await stopControlPlaneDir(stateDir);
  const cp = await startControlPlane({ dir: stateDir, detached: true, log: progress });
  progress(`logs: ${stateDir}/*.log; stop with: tsx hack/cluster/cli.ts down`);
  process.stdout.write(exportLines(cp.kubeconfigPath, cp.binDir));
  return 0;
}

async function status(): Promise<number> {
  const found = await inspectControlPlaneDir(stateDir);
  if (!found) {
    process.stdout.write(`no control plane in ${stateDir}\n`);
    return 1;
  }
  process.stdout.write(`${found.state.server} (Kubernetes ${found.state.k8sVersion}, ${stateDir})\n`);
  for (const c of found.components) {
    const state = c.healthy ? 'healthy' : 'UNHEALTHY';
    process.stdout.write(
      `  ${c.name.padEnd(24)} pid ${String(c.pid ?? '-').padEnd(8)} ${state.padEnd(10)} ${c.detail}\n`,
    );
  }
  return found.components.every((c) => c.healthy) ? 0 : 1;
}

async function env(): Promise<number> {
  const found = await inspectControlPlaneDir(stateDir);
  if (!found) {
    process.stderr.write(`no control plane in ${stateDir}: run tsx hack/cluster/cli.ts up\n`);
    return 1;
  }
  process.stdout.write(exportLines(found.state.kubeconfigPath, found.state.binDir));
  return 0;
}

async function down(): Promise<number> {
  // The node first: its teardown deletes its Node object through the control plane.
  await nodeDown();
  await stopControlPlaneDir(stateDir);
  progress(`stopped; removed ${stateDir}`);
  return 0;
}

const nodeProgress = (line: string) => process.stderr.write(`[node] ${line}\n`);

async function nodeUp(): Promise<number> {
  const code = await up();
  if (code !== 0) return code;
  const found = await inspectNodeDir(nodeDir);
  if (found?.components.every((c) => c.healthy)) {
    nodeProgress(`reusing the healthy node in ${nodeDir}`);
    return 0;
  }
  if (found) {
    const bad = found.components.filter((c) => !c.healthy).map((c) => `${c.name} (${c.detail})`);
    nodeProgress(`replacing the unhealthy node in ${nodeDir}: ${bad.join(', ')}`);
  }
  await stopNodeDir(nodeDir, nodeProgress);
  try {
    await startNode({ dir: nodeDir, controlPlaneDir: stateDir, log: nodeProgress });
  } catch (err) {
    nodeProgress(`start failed; logs stay in ${nodeDir} until node-down`);
    throw err;
  }
  nodeProgress(`logs: ${nodeDir}/*.log; stop with: tsx hack/cluster/cli.ts node-down`);
  return 0;
}

async function nodeStatus(): Promise<number> {
  const found = await inspectNodeDir(nodeDir);
  if (!found) {
    process.stdout.write(`no node in ${nodeDir}\n`);
    return 1;
  }
  for (const c of found.components) {
    const state = c.healthy ? 'healthy' : 'UNHEALTHY';
    process.stdout.write(
      `  ${c.name.padEnd(24)} pid ${String(c.pid ?? '-').padEnd(8)} ${state.padEnd(10)} ${c.detail}\n`,
    );
  }
  return found.components.every((c) => c.healthy) ? 0 : 1;
}

async function nodeDown(): Promise<number> {
  await stopNodeDir(nodeDir, nodeProgress);
  return 0;
}

async function monitoringUp(): Promise<number> {
  const found = await inspectNodeDir(nodeDir);
  if (!found?.components.every((c) => c.healthy)) {
    process.stderr.write(`no healthy node in ${nodeDir}: run tsx hack/cluster/cli.ts node-up\n`);
    return 1;
  }
  await installMonitoring({
    kubectl: found.state.kubectl,
    kubeconfig: found.state.adminKubeconfig,
    log: (line) => process.stderr.write(`[monitoring] ${line}\n`),
  });
  return 0;
}

const commands: Record<string, () => Promise<number>> = {
  up,
  down,
  status,
  env,
  'node-up': nodeUp,
  'node-status': nodeStatus,
  'node-down': nodeDown,
  'monitoring-up': monitoringUp,
};
const command = commands[process.argv[2] ?? ''];
if (!command) {
  process.stderr.write(`usage: tsx hack/cluster/cli.ts ${Object.keys(commands).join('|')}\n`);
  process.exit(2);
}
try {
  process.exitCode = await command();
} catch (err) {
  progress(`${(err as Error).message}`);
  process.exitCode = 1;
}
