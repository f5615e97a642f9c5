// An envtest-like control plane for tests and local development: etcd, kube-apiserver (TLS,
// Node+RBAC authorization, service-account tokens), kube-controller-manager and kube-scheduler,
// run as real processes on free loopback ports. The binaries come from hack/build-k8s.sh.
//
//   const cp = await startControlPlane({ log: console.log });
//   ... use cp.kubeconfigPath ...
//   await cp.stop();
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBinaries, seconds, timedStep } from './binaries.ts';
import {
  apiserverSpec,
  apiserverUrl,
  controllerManagerSpec,
  etcdSpec,
  type Layout,
  type Ports,
  schedulerSpec,
} from './components.ts';
import { ControlPlaneError, ControlPlaneErrorCode } from './errors.ts';
import { request } from './http.ts';
import { readKubeconfig, writeKubeconfig } from './kubeconfig.ts';
import {
  allocatePorts,
  registerExitCleanup,
  startWatchdog,
  tempBase,
  unregisterExitCleanup,
} from './lifecycle.ts';
import { createPki, type Pki } from './pki.ts';
import {
  type ComponentSpec,
  isAlive,
  launch,
  type RunningComponent,
  readPidFiles,
  removePidFile,
  signalGroup,
  stopGroups,
  waitHealthy,
  writePidFile,
} from './process.ts';
import { serviceAccountKubeconfig } from './serviceaccount.ts';

export interface ControlPlaneOptions {
  /** Working directory (PKI, etcd data, logs, pid files). Default: a new temp dir, on tmpfs when there is one. */
  dir?: string;
  /** Start kube-scheduler (default true): without nodes it still marks pods Unschedulable. */
  scheduler?: boolean;
  /** Start kube-controller-manager (default true): Jobs, garbage collection, namespaces, ServiceAccounts. */
  controllerManager?: boolean;
  /** Progress lines: which step, how long it took. */
  log?: (line: string) => void;
  /** etcd --unsafe-no-fsync (default true: a test cluster trades durability for speed). */
  etcdUnsafeNoFsync?: boolean;
  /**
   * Leave the components running when this process exits (the CLI's `up`). Without it, exit,
   * SIGINT and SIGTERM handlers and a watchdog process stop them when this process goes away.
   */
  detached?: boolean;
  /** Per-component time limit for becoming healthy. Default 90s (a loaded 2-core machine is slow). */
  timeoutMs?: number;
  /** More kube-apiserver flags, for instance an audit policy and log for a test that reads who wrote what. */
  apiserverArgs?: string[];
}

/** The components a test may stop and start again (a restart of the API server or etcd mid-run). */
export type RestartableComponent = 'etcd' | 'kube-apiserver';

export interface ControlPlane {
  /** Admin kubeconfig (CN=k2k-admin, O=system:masters). */
  kubeconfigPath: string;
  server: string;
  dir: string;
  /** Directory of the Kubernetes binaries, including kubectl. */
  binDir: string;
  k8sVersion: string;
  pki: Pki;
  components: RunningComponent[];
  stop(): Promise<void>;
  /** Path of a kubeconfig authenticating as that ServiceAccount (created if missing) with a TokenRequest token. */
  serviceAccountKubeconfig(namespace: string, name: string): Promise<string>;
  /**
   * Stops one component, its data (etcd's included) kept: gracefully (SIGTERM, SIGKILL after 5 s;
   * kube-apiserver goes on serving open connections meanwhile) or as a crash (`crash: true`, SIGKILL).
   */
  stopComponent(name: RestartableComponent, opts?: { crash?: boolean }): Promise<void>;
  /** Starts a stopped component again with the same flags and ports; resolves once it is healthy. */
  startComponent(name: RestartableComponent): Promise<void>;
}

/** What `cli.ts status` needs to find a running control plane again. */
export interface ControlPlaneState {
  server: string;
  kubeconfigPath: string;
  binDir: string;
  k8sVersion: string;
  ports: Ports;
  health: Record<string, string>;
}

export { serviceAccountKubeconfig };
export const stateFileName = 'state.json';
const stopOrder = [['kube-controller-manager', 'kube-scheduler'], ['kube-apiserver'], ['etcd']];
const keepEnv = 'K2K_KEEP_CONTROLPLANE';

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = opts.log ?? (() => {});
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const t0 = Date.now();
  const step = timedStep(log);

  const bins = await ensureBinaries(log);
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tempBase(), 'k2k-controlplane-')));
  await mkdir(dir, { recursive: true });
  const keep = () => process.env[keepEnv] === '1' || !ownDir;

  const components: RunningComponent[] = [];
  let watchdog: number | undefined;
  const cleanupSync = () => {
    for (const c of components) signalGroup(c.pid, 'SIGKILL');
    if (watchdog) signalGroup(watchdog, 'SIGKILL');
    if (!keep()) rmSync(dir, { recursive: true, force: true });
  };
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      unregisterExitCleanup(cleanupSync);
      if (watchdog) signalGroup(watchdog, 'SIGKILL');
      const t = Date.now();
      // Clients first, etcd last: an apiserver whose etcd is gone retries until its grace period ends.
      for (const tier of stopOrder) {
        await stopGroups(components.filter((c) => tier.includes(c.name)).map((c) => c.pid));
      }
      log(`control plane stopped in ${seconds(Date.now() - t)}`);
      for (const c of components) await removePidFile(dir, c.name);
      if (keep()) log(`kept ${dir}`);
      else await rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  if (!opts.detached) {
    registerExitCleanup(cleanupSync);
    watchdog = startWatchdog(dir, !keep());
  }

  const specsByName = new Map<string, ComponentSpec>();
  try {
    const run = async (spec: ComponentSpec) => {
      specsByName.set(spec.name, spec);
      const c = launch(spec, dir);
      const stopped = components.findIndex((old) => old.name === spec.name);
      if (stopped >= 0) components[stopped] = c;
      else components.push(c);
      await writePidFile(dir, c);
      await step(`${spec.name} healthy (pid ${c.pid}, port ${new URL(spec.health.url).port})`, () =>
        waitHealthy(c, spec.health, timeoutMs),
      );
    };
    const ports = await allocatePorts();
    const etcdDataDir = join(dir, 'etcd-data');
    const etcd = etcdSpec(
      bins,
      { ports, etcdDataDir },
      { etcdUnsafeNoFsync: opts.etcdUnsafeNoFsync ?? true },
    );
    // etcd needs no certificates, so it starts while the PKI is made.
    const [layout] = await Promise.all([
      step('PKI and kubeconfigs written', () => writeLayout(dir, ports, etcdDataDir)),
      run(etcd),
    ]);
    const server = apiserverUrl(ports);
    const specs = {
      etcd,
      apiserver: withArgs(apiserverSpec(bins, layout), opts.apiserverArgs ?? []),
      controllerManager: opts.controllerManager === false ? undefined : controllerManagerSpec(bins, layout),
      scheduler: opts.scheduler === false ? undefined : schedulerSpec(bins, layout),
    };
    const state: ControlPlaneState = {
      server,
      kubeconfigPath: layout.kubeconfigs.admin,
      binDir: bins.binDir,
      k8sVersion: bins.k8sVersion,
      ports,
      health: Object.fromEntries(
        Object.values(specs)
          .filter((s) => s !== undefined)
          .map((s) => [s.name, s.health.url]),
      ),
    };
    await writeFile(join(dir, stateFileName), `${JSON.stringify(state, null, 2)}\n`);

    await run(specs.apiserver);
    // Both only need a ready apiserver, so they start together.
    await Promise.all([specs.controllerManager, specs.scheduler].filter((s) => s !== undefined).map(run));
    if (specs.controllerManager) {
      // Pods are rejected until their namespace's ServiceAccount exists; waiting for the one in
      // "default" proves the controllers run and spares the first test a confusing race.
      await step('kube-controller-manager created the default ServiceAccount', () =>
        waitForDefaultServiceAccount(layout, timeoutMs),
      );
    }
    log(`control plane ${bins.k8sVersion} ready at ${server} in ${seconds(Date.now() - t0)} (dir ${dir})`);
    return {
      kubeconfigPath: layout.kubeconfigs.admin,
      server,
      dir,
      binDir: bins.binDir,
      k8sVersion: bins.k8sVersion,
      pki: layout.pki,
      components,
      stop,
      serviceAccountKubeconfig: (namespace, name) =>
        serviceAccountKubeconfig(layout.kubeconfigs.admin, namespace, name),
      stopComponent: async (name, { crash = false } = {}) => {
        const c = components.find((c) => c.name === name);
        if (c) await stopGroups([c.pid], crash ? 0 : undefined);
      },
      startComponent: (name) => run(specsByName.get(name)!),
    };
  } catch (err) {
    await stop();
    if (err instanceof ControlPlaneError && !keep()) {
      err.message += `\n(${dir} was removed; ${keepEnv}=1 keeps it with all logs)`;
    }
    throw err;
  }
}

function withArgs(spec: ComponentSpec, args: string[]): ComponentSpec {
  return { ...spec, args: [...spec.args, ...args] };
}

/** Stops whatever a control plane in `dir` left running (by its pid files) and removes the directory. */
export async function stopControlPlaneDir(dir: string): Promise<void> {
  const pids = await readPidFiles(dir);
  for (const tier of stopOrder) {
    await stopGroups(tier.map((name) => pids.get(name)).filter((pid) => pid !== undefined));
  }
  // Anything else a future component version leaves behind.
  await stopGroups([...pids].filter(([name]) => !stopOrder.flat().includes(name)).map(([, pid]) => pid));
  await rm(dir, { recursive: true, force: true });
}

export interface ComponentStatus {
  name: string;
  pid?: number;
  alive: boolean;
  healthy: boolean;
  detail: string;
}

/** The state of a control plane started in `dir` (possibly by another process), or undefined if none was. */
export async function inspectControlPlaneDir(
  dir: string,
): Promise<{ state: ControlPlaneState; components: ComponentStatus[] } | undefined> {
  let state: ControlPlaneState;
  try {
    state = JSON.parse(await readFile(join(dir, stateFileName), 'utf8')) as ControlPlaneState;
  } catch {
    return undefined;
  }
  const pids = await readPidFiles(dir);
  let admin: Awaited<ReturnType<typeof readKubeconfig>> | undefined;
  try {
    admin = await readKubeconfig(state.kubeconfigPath);
  } catch {
    admin = undefined;
  }
  const components = await Promise.all(
    Object.entries(state.health).map(async ([name, url]): Promise<ComponentStatus> => {
      const pid = pids.get(name);
      const alive = pid !== undefined && isAlive(pid);
      if (!alive) return { name, pid, alive, healthy: false, detail: 'not running' };
      try {
        const auth = name === 'kube-apiserver' ? (admin ?? {}) : { insecure: true };
        const resp = await request(url, { ...auth, timeoutMs: 3000 });
        return { name, pid, alive, healthy: resp.status === 200, detail: `${url}: HTTP ${resp.status}` };
      } catch (err) {
        return { name, pid, alive, healthy: false, detail: `${url}: ${(err as Error).message}` };
      }
    }),
  );
  return { state, components };
}

async function writeLayout(dir: string, ports: Ports, etcdDataDir: string): Promise<Layout> {
  const pki = await createPki(join(dir, 'pki'));
  const server = apiserverUrl(ports);
  const layout: Layout = {
    dir,
    pki,
    ports,
    etcdDataDir,
    kubeconfigs: {
      admin: join(dir, 'kubeconfig'),
      controllerManager: join(dir, 'kube-controller-manager.kubeconfig'),
      scheduler: join(dir, 'kube-scheduler.kubeconfig'),
    },
  };
  await Promise.all([
    writeKubeconfig(layout.kubeconfigs.admin, {
      server,
      caCert: pki.ca.cert,
      user: 'k2k-admin',
      credentials: { kind: 'cert', pair: pki.admin },
    }),
    writeKubeconfig(layout.kubeconfigs.controllerManager, {
      server,
      caCert: pki.ca.cert,
      user: 'system:kube-controller-manager',
      credentials: { kind: 'cert', pair: pki.controllerManager },
    }),
    writeKubeconfig(layout.kubeconfigs.scheduler, {
      server,
      caCert: pki.ca.cert,
      user: 'system:kube-scheduler',
      credentials: { kind: 'cert', pair: pki.scheduler },
    }),
  ]);
  return layout;
}

async function waitForDefaultServiceAccount(layout: Layout, timeoutMs: number): Promise<void> {
  const admin = await readKubeconfig(layout.kubeconfigs.admin);
  const url = `${admin.server}/api/v1/namespaces/default/serviceaccounts/default`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const resp = await request(url, admin);
    if (resp.status === 200) return;
    if (Date.now() > deadline) {
      throw new ControlPlaneError(
        ControlPlaneErrorCode.HealthTimeout,
        `ServiceAccount default/default not created after ${seconds(timeoutMs)} (last: HTTP ${resp.status}); ` +
          `see ${join(layout.dir, 'kube-controller-manager.log')}`,
      );
    }
    await sleep(100);
  }
}
