// A real node for the local control plane (cli.ts up): containerd + runc + the CNI bridge from
// Debian, the kubelet and kube-proxy (iptables mode) from hack/build-k8s.sh, and a TCP proxy that
// lets pods reach the apiserver (which listens on 127.0.0.1 only) through the "kubernetes" Service.
// Everything lives under one state directory; stopNodeDir undoes every change to the machine.
//
//   await startNode({ dir, controlPlaneDir, log });   // node Ready, images imported
//   await stopNodeDir(dir, log);                       // processes, mounts, devices, rules gone
import { spawn } from 'node:child_process';
import { access, constants, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { hackDir, locateBinaries, seconds, timedStep } from './binaries.ts';
import { inspectControlPlaneDir } from './controlplane.ts';
import { execFileText } from './exec.ts';
import { request, type TlsAuth } from './http.ts';
import { waitKubeProxySynced } from './kube-proxy.ts';
import { readKubeconfig, writeKubeconfig } from './kubeconfig.ts';
import {
  addonLayout,
  addonManifests,
  corednsUser,
  corefile,
  hostService,
  metricsServerArgs,
  metricsServerPort,
  metricsServerUser,
} from './node-addons.ts';
import {
  cniConfig,
  containerdConfig,
  kubeletConfig,
  kubeProxyConfig,
  type NodeLayout,
  network,
  nodeLayout,
} from './node-config.ts';
import {
  applySysctls,
  ensureBridge,
  ensureForwardGuard,
  flushPodConntrack,
  forwardGuardFirst,
  type HostBefore,
  killPodsAndShims,
  mountsUnder,
  recordHost,
  removeBridge,
  removeCniCache,
  removeContainerLogLinks,
  removeForwardGuard,
  removeKubeChains,
  removePodCgroups,
  restoreSysctls,
  unmountUnder,
} from './node-host.ts';
import { issueCert } from './pki.ts';
import {
  type ComponentSpec,
  isAlive,
  launch,
  readPidFiles,
  stopGroups,
  waitHealthy,
  writePidFile,
} from './process.ts';

export const NodeErrorCode = {
  ControlPlaneMissing: 'NODE_CONTROL_PLANE_MISSING',
  ToolMissing: 'NODE_TOOL_MISSING',
  BuildFailed: 'NODE_BUILD_FAILED',
  ImageImportFailed: 'NODE_IMAGE_IMPORT_FAILED',
  NotReady: 'NODE_NOT_READY',
  ApiCallFailed: 'NODE_API_CALL_FAILED',
  TeardownIncomplete: 'NODE_TEARDOWN_INCOMPLETE',
} as const;
export type NodeErrorCode = (typeof NodeErrorCode)[keyof typeof NodeErrorCode];

export class NodeError extends Error {
  override readonly name = 'NodeError';
  constructor(
    readonly code: NodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface NodeOptions {
  /** The node's state directory (configs, PKI, containerd root, kubelet root, logs, pid files). */
  dir: string;
  /** Directory of the running control plane started by `cli.ts up` (its state.json and PKI). */
  controlPlaneDir: string;
  log?: (line: string) => void;
  /** nvidia.com/gpu the node advertises (an extended resource; the node has no GPU). Default 1. */
  gpus?: number;
  /** Per-step time limit. Default 120s (a loaded 2-core machine is slow). */
  timeoutMs?: number;
}

/** What inspectNodeDir and stopNodeDir need to find the node again; written to <dir>/node.json. */
export interface NodeState {
  nodeName: string;
  adminKubeconfig: string;
  kubectl: string;
  containerdSocket: string;
  health: Record<string, string>;
  /** The machine before the first start, restored by teardown. */
  host: HostBefore;
}

const stateFile = 'node.json';
/** Stop order: the API clients first, containerd last (it must kill the pods' containers). */
const stopTiers = [['coredns', 'metrics-server', 'kube-proxy', 'kubelet'], ['apiserver-proxy']];
const gpuResource = 'nvidia.com/gpu';

interface ImagePaths {
  archiveDir: string;
  pauseImage: string;
  pauseArchive: string;
}

/** CoreDNS and metrics-server as hack/build-addons.sh caches them. */
async function addonBinaries(): Promise<{ coredns: string; metricsServer: string }> {
  const out = await execFileText('bash', [join(hackDir, 'build-addons.sh'), '--paths']);
  const [coredns, metricsServer] = out.trim().split('\n');
  if (!coredns || !metricsServer) {
    throw new NodeError(NodeErrorCode.ToolMissing, `hack/build-addons.sh --paths printed ${out}`);
  }
  return { coredns, metricsServer };
}

async function imagePaths(): Promise<ImagePaths> {
  const out = await execFileText('bash', [
    '-c',
    'source "$1" && printf "%s\\n" "$ARCHIVE_DIR" "$PAUSE_IMAGE" "$(archive_path "$PAUSE_IMAGE")"',
    'lib',
    join(hackDir, 'images', 'lib.sh'),
  ]);
  const [archiveDir, pauseImage, pauseArchive] = out.trim().split('\n');
  if (!archiveDir || !pauseImage || !pauseArchive) {
    throw new NodeError(NodeErrorCode.ToolMissing, `hack/images/lib.sh printed ${out}`);
  }
  return { archiveDir, pauseImage, pauseArchive };
}

const requiredTools = [
  'containerd',
  'containerd-shim-runc-v2',
  'runc',
  'ctr',
  'socat',
  'iptables',
  'ip',
  'conntrack',
];

async function checkTools(): Promise<void> {
  const missing: string[] = [];
  for (const tool of requiredTools) {
    try {
      await execFileText('bash', ['-c', 'command -v "$1"', 'which', tool]);
    } catch {
      missing.push(tool);
    }
  }
  try {
    await access('/usr/lib/cni/bridge', constants.X_OK);
  } catch {
    missing.push('/usr/lib/cni/bridge');
  }
  if (missing.length > 0) {
    throw new NodeError(
      NodeErrorCode.ToolMissing,
      `missing ${missing.join(', ')}: run bash hack/images/install-tools.sh`,
    );
  }
}

/** Runs a hack/ script, streaming its lines to `log`; throws with its last lines when it fails. */
async function runScript(script: string, args: string[], log: (line: string) => void): Promise<void> {
  const child = spawn('bash', [join(hackDir, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 30) tail.shift();
      if (!line.startsWith('go: downloading')) log(line);
    });
  }
  const code = await new Promise<number | null>((res) => child.on('close', res));
  if (code !== 0) {
    throw new NodeError(NodeErrorCode.BuildFailed, `hack/${script} exited with ${code}:\n${tail.join('\n')}`);
  }
}

function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((res, rej) => {
    server.on('error', rej);
    server.listen(0, '127.0.0.1', res);
  });
  const addr = server.address();
  await new Promise((res) => server.close(res));
  if (addr === null || typeof addr === 'string') throw new Error('listener has no port');
  return addr.port;
}

async function readState(dir: string): Promise<NodeState | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, stateFile), 'utf8')) as NodeState;
  } catch {
    return undefined;
  }
}

export interface NodeComponentStatus {
  name: string;
  pid?: number;
  /** Whether its process runs; unset for checks that are not processes (node Ready, forward guard). */
  alive?: boolean;
  healthy: boolean;
  detail: string;
}

/** Health of a node started in `dir` (possibly by another process), or undefined if none was. */
export async function inspectNodeDir(
  dir: string,
): Promise<{ state: NodeState; components: NodeComponentStatus[] } | undefined> {
  const state = await readState(dir);
  if (!state) return undefined;
  const pids = await readPidFiles(dir);
  let admin: TlsAuth = {};
  try {
    admin = await readKubeconfig(state.adminKubeconfig);
  } catch {
    // The control plane is gone; the node's own endpoints can still be checked.
  }
  const components = await Promise.all(
    Object.entries(state.health).map(async ([name, url]): Promise<NodeComponentStatus> => {
      const pid = pids.get(name);
      if (pid === undefined || !isAlive(pid))
        return { name, pid, alive: false, healthy: false, detail: 'not running' };
      try {
        const auth = name === 'apiserver-proxy' ? { ...admin, insecure: true } : { insecure: true };
        const resp = await request(url, { ...auth, timeoutMs: 3000 });
        return {
          name,
          pid,
          alive: true,
          healthy: resp.status === 200,
          detail: `${url}: HTTP ${resp.status}`,
        };
      } catch (err) {
        return { name, pid, alive: true, healthy: false, detail: `${url}: ${(err as Error).message}` };
      }
    }),
  );
  const ready = await nodeReady(state.adminKubeconfig).catch((err: Error) => err.message);
  components.push({
    name: `node ${state.nodeName}`,
    healthy: ready === true,
    detail: ready === true ? 'Ready' : `not Ready (${ready})`,
  });
  const guard = await forwardGuardFirst();
  components.push({
    name: 'forward guard',
    healthy: guard,
    detail: guard ? 'first rule of FORWARD' : 'missing or not first in FORWARD',
  });
  return { state, components };
}

async function nodeReady(adminKubeconfig: string): Promise<true | string> {
  const admin = await readKubeconfig(adminKubeconfig);
  const resp = await request(`${admin.server}/api/v1/nodes/${network.nodeName}`, {
    ...admin,
    timeoutMs: 3000,
  });
  if (resp.status !== 200) return `HTTP ${resp.status}`;
  const node = JSON.parse(resp.body) as {
    status?: { conditions?: Array<{ type: string; status: string; message?: string }> };
  };
  const cond = node.status?.conditions?.find((c) => c.type === 'Ready');
  return cond?.status === 'True' ? true : (cond?.message ?? 'no Ready condition');
}

export async function startNode(opts: NodeOptions): Promise<NodeState> {
  const log = opts.log ?? (() => {});
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const t0 = Date.now();
  const step = timedStep(log);

  const cp = await inspectControlPlaneDir(opts.controlPlaneDir);
  if (!cp?.components.every((c) => c.healthy)) {
    throw new NodeError(
      NodeErrorCode.ControlPlaneMissing,
      `no healthy control plane in ${opts.controlPlaneDir}: run tsx hack/cluster/cli.ts up first`,
    );
  }
  await checkTools();
  const bins = await locateBinaries();
  const kubelet = join(bins.binDir, 'kubelet');
  const kubeProxy = join(bins.binDir, 'kube-proxy');
  const kubectl = join(bins.binDir, 'kubectl');
  await step('kubelet and kube-proxy binaries present', () =>
    runScript('build-k8s.sh', ['kubelet', 'kube-proxy'], (l) => log(`build-k8s: ${l}`)),
  );
  await step('CoreDNS and metrics-server binaries present', () =>
    runScript('build-addons.sh', [], (l) => log(`build-addons: ${l}`)),
  );
  const addonBins = await addonBinaries();
  const images = await imagePaths();
  // Only its archive is needed: pause.sh would wait for buildah's store while an image build holds it.
  if (!(await exists(images.pauseArchive))) {
    await step('pause image built', () => runScript('images/pause.sh', [], (l) => log(`images: ${l}`)));
  }

  const l = nodeLayout(opts.dir);
  await mkdir(opts.dir, { recursive: true });
  // The machine as it was before the first start; a restart over leftovers keeps the original.
  const host = (await readState(opts.dir))?.host ?? (await recordHost());
  const adminKubeconfig = cp.state.kubeconfigPath;
  const cpPki = join(opts.controlPlaneDir, 'pki');
  const ca = { cert: join(cpPki, 'ca.crt'), key: join(cpPki, 'ca.key') };
  const ports = { containerdMetrics: await freePort(), corednsReady: await freePort() };
  const state: NodeState = {
    nodeName: network.nodeName,
    adminKubeconfig,
    kubectl,
    containerdSocket: l.containerd.socket,
    health: {
      containerd: `http://127.0.0.1:${ports.containerdMetrics}/v1/metrics`,
      'apiserver-proxy': `https://${network.nodeIp}:${network.apiserverProxyPort}/readyz`,
      kubelet: `http://127.0.0.1:${network.kubeletHealthzPort}/healthz`,
      'kube-proxy': `http://127.0.0.1:${network.kubeProxyHealthzPort}/healthz`,
      coredns: `http://127.0.0.1:${ports.corednsReady}/ready`,
      // /livez: /readyz waits for two scrapes (metric-resolution apart) of every node.
      'metrics-server': `https://${network.nodeIp}:${metricsServerPort}/livez`,
    },
    host,
  };
  await writeFile(join(opts.dir, stateFile), `${JSON.stringify(state, null, 2)}\n`);

  await step('node PKI, kubeconfigs and configs written', () =>
    writeNodeFiles(l, cp.state.server, ca, images, ports),
  );
  await step('add-on PKI, kubeconfigs and Corefile written', () =>
    writeAddonFiles(opts.dir, l, cp.state.server, ca, ports.corednsReady),
  );
  await step('sysctls, bridge and forward guard in place', async () => {
    await applySysctls();
    await ensureBridge();
    await ensureForwardGuard();
  });

  const admin = await readKubeconfig(adminKubeconfig);
  const run = async (spec: ComponentSpec) => {
    const c = launch(spec, opts.dir);
    await writePidFile(opts.dir, c);
    await step(`${spec.name} healthy (pid ${c.pid})`, () => waitHealthy(c, spec.health, timeoutMs));
  };
  await run({
    name: 'containerd',
    command: 'containerd',
    args: ['--config', l.containerd.config],
    health: { url: state.health.containerd as string, auth: {} },
  });
  await step('images imported into containerd', () => importImages(l.containerd.socket, images.archiveDir));
  await run({
    name: 'apiserver-proxy',
    command: 'socat',
    args: [
      `TCP-LISTEN:${network.apiserverProxyPort},bind=${network.nodeIp},reuseaddr,fork`,
      `TCP:127.0.0.1:${new URL(cp.state.server).port}`,
    ],
    health: { url: state.health['apiserver-proxy'] as string, auth: { ...admin, insecure: true } },
  });
  await step('"kubernetes" Service endpoints point at the apiserver proxy', () =>
    kubectlApply(kubectl, adminKubeconfig, opts.dir, 'kubernetes-endpointslice', kubernetesEndpointSlice()),
  );
  await run({
    name: 'kubelet',
    command: kubelet,
    args: [
      `--config=${l.kubelet.config}`,
      `--kubeconfig=${l.kubelet.kubeconfig}`,
      `--root-dir=${l.kubelet.rootDir}`,
      `--hostname-override=${network.nodeName}`,
      `--node-ip=${network.nodeIp}`,
      '--v=1',
    ],
    health: { url: state.health.kubelet as string, auth: {} },
  });
  await step(`node ${network.nodeName} Ready`, () => waitNodeReady(adminKubeconfig, timeoutMs));
  await step(`node advertises ${opts.gpus ?? 1} ${gpuResource}`, () =>
    advertiseGpus(kubectl, adminKubeconfig, opts.gpus ?? 1),
  );
  await run({
    name: 'kube-proxy',
    command: kubeProxy,
    args: [`--config=${l.kubeProxy.config}`, '--v=1'],
    health: { url: state.health['kube-proxy'] as string, auth: {} },
  });
  // After kube-proxy's first sync, which prepends its own jumps to FORWARD (kube-proxy.ts).
  await step('kube-proxy rules synced', () =>
    waitKubeProxySynced(`http://127.0.0.1:${network.kubeProxyMetricsPort}/metrics`, timeoutMs),
  );
  await step('forward guard first in FORWARD', ensureForwardGuard);
  await step('add-on RBAC, Services and APIService applied', async () =>
    kubectlApply(kubectl, adminKubeconfig, opts.dir, 'addons', {
      apiVersion: 'v1',
      kind: 'List',
      items: addonManifests((await readFile(ca.cert)).toString('base64')),
    }),
  );
  const addons = addonLayout(opts.dir);
  await Promise.all([
    run({
      name: 'coredns',
      command: addonBins.coredns,
      args: ['-conf', addons.corefile],
      health: { url: state.health.coredns as string, auth: {} },
    }),
    run({
      name: 'metrics-server',
      command: addonBins.metricsServer,
      args: metricsServerArgs(addons, ca.cert),
      health: { url: state.health['metrics-server'] as string, auth: { insecure: true } },
    }),
  ]);
  log(`node ${network.nodeName} ready in ${seconds(Date.now() - t0)} (dir ${opts.dir})`);
  return state;
}

async function writeNodeFiles(
  l: NodeLayout,
  server: string,
  ca: { cert: string; key: string },
  images: ImagePaths,
  ports: { containerdMetrics: number },
): Promise<void> {
  await Promise.all(
    [l.pkiDir, l.cni.confDir, l.cni.ipamDir, l.kubelet.rootDir, l.kubelet.podLogsDir].map((d) =>
      mkdir(d, { recursive: true }),
    ),
  );
  const [kubeletClient, kubeletServing, kubeProxyClient] = await Promise.all([
    // The Node authorizer identifies a kubelet by this name and group.
    issueCert(ca, l.pkiDir, {
      name: 'kubelet-client',
      commonName: `system:node:${network.nodeName}`,
      organizations: ['system:nodes'],
      usage: 'client',
    }),
    // Signed by the cluster CA, so metrics-server and the apiserver can verify the kubelet.
    issueCert(ca, l.pkiDir, {
      name: 'kubelet-serving',
      commonName: network.nodeName,
      usage: 'server',
      hosts: [network.nodeIp, network.nodeName, '127.0.0.1', 'localhost'],
    }),
    // Bound to the system:node-proxier ClusterRole by the bootstrap policy.
    issueCert(ca, l.pkiDir, { name: 'kube-proxy', commonName: 'system:kube-proxy', usage: 'client' }),
  ]);
  await Promise.all([
    writeKubeconfig(l.kubelet.kubeconfig, {
      server,
      caCert: ca.cert,
      user: `system:node:${network.nodeName}`,
      credentials: { kind: 'cert', pair: kubeletClient },
    }),
    writeKubeconfig(l.kubeProxy.kubeconfig, {
      server,
      caCert: ca.cert,
      user: 'system:kube-proxy',
      credentials: { kind: 'cert', pair: kubeProxyClient },
    }),
    writeFile(
      l.containerd.config,
      containerdConfig(l, { sandboxImage: images.pauseImage, metricsPort: ports.containerdMetrics }),
    ),
    writeFile(join(l.cni.confDir, '10-k2k.conflist'), cniConfig(l)),
    writeFile(
      l.kubelet.config,
      kubeletConfig(l, { caCert: ca.cert, servingCert: kubeletServing.cert, servingKey: kubeletServing.key }),
    ),
    writeFile(l.kubeProxy.config, kubeProxyConfig(l)),
  ]);
}

async function writeAddonFiles(
  dir: string,
  l: NodeLayout,
  server: string,
  ca: { cert: string; key: string },
  corednsReadyPort: number,
): Promise<void> {
  const a = addonLayout(dir);
  const [corednsClient, metricsClient] = await Promise.all([
    issueCert(ca, l.pkiDir, { name: 'coredns', commonName: corednsUser, usage: 'client' }),
    issueCert(ca, l.pkiDir, { name: 'metrics-server', commonName: metricsServerUser, usage: 'client' }),
    // The APIService trusts the cluster CA (its caBundle), so the aggregator verifies this.
    issueCert(ca, l.pkiDir, {
      name: 'metrics-server-serving',
      commonName: 'metrics-server.kube-system.svc',
      usage: 'server',
      hosts: ['metrics-server.kube-system.svc', network.nodeIp],
    }),
  ]);
  await Promise.all([
    writeKubeconfig(a.corednsKubeconfig, {
      server,
      caCert: ca.cert,
      user: corednsUser,
      credentials: { kind: 'cert', pair: corednsClient },
    }),
    writeKubeconfig(a.metricsServerKubeconfig, {
      server,
      caCert: ca.cert,
      user: metricsServerUser,
      credentials: { kind: 'cert', pair: metricsClient },
    }),
    writeFile(a.corefile, corefile(a.corednsKubeconfig, corednsReadyPort)),
  ]);
}

/** Imports every OCI archive hack/images built (the pause image, the base image, k2k's images). */
export async function importImages(socket: string, archiveDir: string): Promise<string[]> {
  const archives = (await readdir(archiveDir).catch(() => [] as string[])).filter((f) =>
    f.endsWith('.oci.tar'),
  );
  for (const archive of archives) {
    try {
      await execFileText('ctr', [
        '--address',
        socket,
        '--namespace',
        'k8s.io',
        'images',
        'import',
        '--snapshotter',
        'overlayfs',
        join(archiveDir, archive),
      ]);
    } catch (err) {
      throw new NodeError(NodeErrorCode.ImageImportFailed, (err as Error).message);
    }
  }
  return archives;
}

function kubernetesEndpointSlice(): object {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: {
        'kubernetes.io/service-name': 'kubernetes',
        'endpointslice.kubernetes.io/managed-by': 'local-node.k2k.dev',
      },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [network.nodeIp], conditions: { ready: true } }],
    ports: [{ name: 'https', port: network.apiserverProxyPort, protocol: 'TCP' }],
  };
}

async function kubectlApply(
  kubectl: string,
  kubeconfig: string,
  dir: string,
  name: string,
  manifest: object,
): Promise<void> {
  const file = join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify(manifest));
  try {
    await execFileText(kubectl, [
      '--kubeconfig',
      kubeconfig,
      'apply',
      '--server-side',
      '--force-conflicts',
      '-f',
      file,
    ]);
  } catch (err) {
    throw new NodeError(NodeErrorCode.ApiCallFailed, (err as Error).message);
  }
}

async function waitNodeReady(adminKubeconfig: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: true | string = 'not registered';
  while (Date.now() < deadline) {
    last = await nodeReady(adminKubeconfig).catch((err: Error) => err.message);
    if (last === true) return;
    await sleep(250);
  }
  throw new NodeError(
    NodeErrorCode.NotReady,
    `node ${network.nodeName} not Ready after ${seconds(timeoutMs)}: ${last}; see kubelet.log`,
  );
}

/**
 * The node has no GPU. It advertises nvidia.com/gpu as an extended resource so GPU-requesting
 * trainer pods schedule (and then train on the CPU). The kubelet zeroes extended resources it does
 * not manage when it re-registers, so every start patches them again.
 */
async function advertiseGpus(kubectl: string, kubeconfig: string, count: number): Promise<void> {
  const patch = { status: { capacity: { [gpuResource]: String(count) } } };
  try {
    await execFileText(kubectl, [
      '--kubeconfig',
      kubeconfig,
      'patch',
      'node',
      network.nodeName,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify(patch),
    ]);
  } catch (err) {
    throw new NodeError(NodeErrorCode.ApiCallFailed, (err as Error).message);
  }
}

/**
 * Stops whatever a node in `dir` left running and undoes its changes to the machine: processes
 * (including containers and shims that outlive containerd), mounts, network namespaces, the
 * bridge and veths, iptables chains, conntrack entries, cgroups, kernel settings; then removes
 * `dir` and the Node object. Safe to run twice, and after a crash.
 */
export async function stopNodeDir(dir: string, log: (line: string) => void = () => {}): Promise<void> {
  const started = Date.now();
  if (!(await exists(dir))) return;
  const state = await readState(dir);
  const l = nodeLayout(dir);
  const pids = await readPidFiles(dir);
  // Host-port proxies (exposeHostPort) and anything else with a pid file go first, with the clients.
  const others = [...pids].filter(([n]) => n !== 'containerd' && !stopTiers.flat().includes(n));
  await stopGroups(others.map(([, pid]) => pid));
  for (const tier of stopTiers) {
    await stopGroups(tier.map((n) => pids.get(n)).filter((p) => p !== undefined));
  }
  // The sandboxes' ids name their entries in libcni's cache, which lives outside `dir`.
  const sandboxIds = await readdir(join(l.containerd.root, 'io.containerd.grpc.v1.cri', 'sandboxes')).catch(
    () => [] as string[],
  );
  const containerd = pids.get('containerd');
  if (containerd !== undefined) await stopGroups([containerd]);
  const killed = await killPodsAndShims(l.containerd.socket);
  const unmounted = await unmountUnder(dir);
  const links = await removeBridge();
  await removeForwardGuard();
  // Without the record of what existed before, KUBE-* chains may be another cluster's: keep them.
  let chains: string[] = [];
  if (state) {
    const bins = await locateBinaries();
    await execFileText(join(bins.binDir, 'kube-proxy'), ['--cleanup']).catch(() => '');
    chains = await removeKubeChains(state.host.kubeChains);
  }
  await flushPodConntrack();
  const cgroupsLeft = await removePodCgroups();
  const logLinks = await removeContainerLogLinks(l.kubelet.podLogsDir);
  await removeCniCache('k2k', sandboxIds);
  await restoreSysctls(state?.host);
  if (state) await deleteNodeObject(state.adminKubeconfig);
  log(
    `stopped: ${killed} leftover processes killed, ${unmounted} mounts, ${links.length} links ` +
      `(${links.join(' ')}), ${chains.length} KUBE-* chains, ${logLinks} log links removed`,
  );
  const mounts = await mountsUnder(dir);
  if (mounts.length > 0 || cgroupsLeft.length > 0) {
    throw new NodeError(
      NodeErrorCode.TeardownIncomplete,
      `${dir} kept: still mounted: ${mounts.join(', ') || 'none'}; cgroups left: ${cgroupsLeft.join(', ') || 'none'}`,
    );
  }
  // Only now: rm -r must never walk into a mount that is still there.
  await rm(dir, { recursive: true, force: true });
  log(`node torn down in ${seconds(Date.now() - started)}`);
}

export interface ExposedPort {
  /** http://<name>.<namespace>.svc:<port>, as pods reach it. */
  url: string;
  stop(): Promise<void>;
}

/**
 * Makes a server that listens on this machine's loopback reachable from pods as the Service
 * `namespace/name` on `port`: a socat proxy on the node's bridge address (the same port) and a
 * selector-less Service whose EndpointSlice points at it. For test fixtures such as the S3
 * server; the namespace must exist. node-down stops the proxy too.
 */
export async function exposeHostPort(opts: {
  nodeDir: string;
  namespace: string;
  name: string;
  port: number;
  targetPort: number;
}): Promise<ExposedPort> {
  const state = await readState(opts.nodeDir);
  if (!state) throw new NodeError(NodeErrorCode.NotReady, `no node in ${opts.nodeDir}: run cli.ts node-up`);
  const name = `expose-${opts.namespace}-${opts.name}`;
  const proxy = launch(
    {
      name,
      command: 'socat',
      args: [
        `TCP-LISTEN:${opts.port},bind=${network.nodeIp},reuseaddr,fork`,
        `TCP:127.0.0.1:${opts.targetPort}`,
      ],
      health: { url: '', auth: {} },
    },
    opts.nodeDir,
  );
  await writePidFile(opts.nodeDir, proxy);
  const manifests = hostService(opts.namespace, opts.name, undefined, [
    { name: 'tcp', port: opts.port, targetPort: opts.port, protocol: 'TCP' },
  ]);
  await kubectlApply(state.kubectl, state.adminKubeconfig, opts.nodeDir, name, {
    apiVersion: 'v1',
    kind: 'List',
    items: manifests,
  });
  return {
    url: `http://${opts.name}.${opts.namespace}.svc:${opts.port}`,
    stop: async () => {
      await stopGroups([proxy.pid]);
      await rm(join(opts.nodeDir, `${name}.pid`), { force: true });
      await execFileText(state.kubectl, [
        '--kubeconfig',
        state.adminKubeconfig,
        'delete',
        '--ignore-not-found',
        '-n',
        opts.namespace,
        `service/${opts.name}`,
        `endpointslice.discovery.k8s.io/${opts.name}`,
      ]).catch(() => '');
    },
  };
}

async function deleteNodeObject(adminKubeconfig: string): Promise<void> {
  try {
    const admin = await readKubeconfig(adminKubeconfig);
    await request(`${admin.server}/api/v1/nodes/${network.nodeName}`, {
      ...admin,
      method: 'DELETE',
      timeoutMs: 3000,
    });
  } catch {
    // The control plane is already gone, and the Node object with it.
  }
}
