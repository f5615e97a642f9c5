// Runs the real operator (operator/main.ts) as a child process against the test control plane,
// authenticated as its own ServiceAccount bound to config/rbac — so every integration test also
// proves that the operator's least-privilege RBAC is enough.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll } from 'vitest';
import { serviceAccountKubeconfig } from '../../hack/cluster/serviceaccount.ts';
import { eventually } from './eventually.ts';
import { captureOutput } from './output.ts';

const root = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);

export const OPERATOR_NAMESPACE = 'k2k-system';
export const OPERATOR_ACCOUNT = 'k2k-operator';

/** Where the tests' objects live: the shared control plane of the global setup unless a test starts its own. */
export interface ControlPlaneAccess {
  kubectl: string;
  /** Admin kubeconfig. */
  kubeconfig: string;
}

const sharedControlPlane = (): ControlPlaneAccess => ({
  kubectl: process.env.K2K_TEST_KUBECTL!,
  kubeconfig: process.env.K2K_TEST_KUBECONFIG!,
});

/** Applies config/rbac (and its namespace) once, like `kubectl apply -k config/rbac` would. */
export async function installOperatorRBAC({ kubectl, kubeconfig } = sharedControlPlane()): Promise<void> {
  await run(kubectl, [
    '--kubeconfig',
    kubeconfig,
    'apply',
    '--server-side',
    '-f',
    join(root, 'config/manager/namespace.yaml'),
  ]);
  await run(kubectl, ['--kubeconfig', kubeconfig, 'apply', '--server-side', '-k', join(root, 'config/rbac')]);
}

export { serviceAccountKubeconfig };

export interface OperatorProcess {
  identity: string;
  child: ChildProcess;
  /** Everything the operator logged so far (JSON lines). */
  logs(): string;
  /** SIGTERM and wait: the graceful path (drains reconciles, releases the lease). */
  stop(): Promise<void>;
  /** SIGKILL: the process dies mid-work, as on a node crash. */
  kill(): Promise<void>;
}

export interface OperatorOptions {
  kubeconfig: string;
  identity: string;
  leaderElect?: boolean;
  leaseDurationSeconds?: number;
  namespace?: string;
  /** Namespaced mode: --namespaces=a,b. */
  namespaces?: string[];
  workers?: number;
  /** More flags, for instance --allowed-images=…. */
  args?: string[];
}

const running = new Set<OperatorProcess>();
process.on('exit', () => {
  for (const op of running) op.child.kill('SIGKILL');
});

export function startOperator(opts: OperatorOptions): OperatorProcess {
  const args = [
    // tsx as a loader in this very process: its CLI runs the script in a child process, which a
    // SIGKILL of the CLI leaves running (an orphan that goes on reconciling: no crash at all).
    '--import',
    'tsx',
    join(root, 'operator/main.ts'),
    `--kubeconfig=${opts.kubeconfig}`,
    `--identity=${opts.identity}`,
    '--probe-address=127.0.0.1:0',
    `--leader-elect=${opts.leaderElect ?? false}`,
    `--leader-election-namespace=${OPERATOR_NAMESPACE}`,
    `--workers=${opts.workers ?? 4}`,
    '--trainer-image=k2k/trainer:test',
    '--trainer-gpu-image=k2k/trainer-gpu:test',
    '--server-image=k2k/model-server:test',
  ];
  if (opts.leaseDurationSeconds) args.push(`--lease-duration-seconds=${opts.leaseDurationSeconds}`);
  if (opts.namespace) args.push(`--namespace=${opts.namespace}`);
  if (opts.namespaces) args.push(`--namespaces=${opts.namespaces.join(',')}`);
  args.push(...(opts.args ?? []));
  const child = spawn(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KUBECONFIG: '' },
  });
  const output = captureOutput(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const op: OperatorProcess = {
    identity: opts.identity,
    child,
    logs: output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      running.delete(op);
    },
    kill: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      running.delete(op);
    },
  };
  running.add(op);
  return op;
}

/** Waits until the operator logged a line matching `pattern` (for example its first reconcile). */
export function waitForLog(op: OperatorProcess, pattern: RegExp, timeoutMs = 30_000) {
  return eventually(() => pattern.test(op.logs()) || undefined, {
    timeoutMs,
    what: `operator log ${pattern}`,
  });
}

/** The operator's probe and metrics server, once it listens: `http://127.0.0.1:port`. */
export async function probeUrl(op: OperatorProcess): Promise<string> {
  await waitForLog(op, /serving probes and metrics/);
  const line = op
    .logs()
    .split('\n')
    .find((l) => l.includes('serving probes and metrics'))!;
  const { port } = JSON.parse(line).address as { port: number };
  return `http://127.0.0.1:${port}`;
}

/**
 * For a test file: installs config/rbac and authenticates as the operator's ServiceAccount before
 * its tests, and stops after each test the operators it started. Returns the starter (leader
 * election off unless asked; the ServiceAccount's kubeconfig unless another is given). `target`
 * (read in beforeAll) names a control plane of the file's own instead of the shared one.
 */
export function operatorsPerTest(
  target: () => ControlPlaneAccess = sharedControlPlane,
): (opts: Partial<OperatorOptions> & { identity: string }) => OperatorProcess {
  let kubeconfig: string;
  const started: OperatorProcess[] = [];
  beforeAll(async () => {
    const access = target();
    await installOperatorRBAC(access);
    kubeconfig = await serviceAccountKubeconfig(access.kubeconfig, OPERATOR_NAMESPACE, OPERATOR_ACCOUNT);
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((op) => op.stop()));
  });
  return (opts) => {
    const op = startOperator({ kubeconfig, leaderElect: false, ...opts });
    started.push(op);
    return op;
  };
}

/**
 * Polls the operator's /healthz every 250 ms until stopped; stop() says how many answers came and
 * which were not 200 (ADR 0019: an API server outage must not fail liveness).
 */
export function watchHealth(op: OperatorProcess, url: string) {
  let stopped = false;
  let samples = 0;
  const failures: string[] = [];
  const polling = (async () => {
    while (!stopped) {
      try {
        const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
        samples++;
        if (res.status !== 200)
          failures.push(`${new Date().toISOString()} ${res.status} ${await res.text()}`);
      } catch (err) {
        failures.push(`${new Date().toISOString()} ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    async stop(): Promise<{ samples: number; failures: string[]; exited: boolean }> {
      stopped = true;
      await polling;
      return { samples, failures, exited: op.child.exitCode !== null || op.child.signalCode !== null };
    },
  };
}
