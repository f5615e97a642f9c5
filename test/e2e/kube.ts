// kubectl for the e2e tests: the cluster's own kubectl binary against the admin kubeconfig that
// test/e2e/global-setup.ts exported, plus the waits the tests share.
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type ExposedPort, exposeHostPort } from '../../hack/cluster/node.ts';
import { eventually } from '../harness/eventually.ts';

function env(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run through vitest.e2e.config.ts (test/e2e/global-setup.ts)`);
  return value;
}

/** Runs kubectl; resolves with stdout, rejects with stderr. `input` goes to its stdin (-f -). */
export function kubectl(args: readonly string[], input?: string): Promise<string> {
  return new Promise((res, rej) => {
    const child = execFile(
      env('K2K_E2E_KUBECTL'),
      ['--kubeconfig', env('K2K_E2E_KUBECONFIG'), ...args],
      { maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) rej(new Error(`kubectl ${args.join(' ')}: ${stderr.trim() || err.message}`));
        else res(stdout);
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

export async function kubectlJson<T>(args: readonly string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

/** How the e2e tests poll the cluster: pods start and images pull in tens of seconds. */
export const clusterPace = { timeoutMs: 120_000, intervalMs: 500 };

export function apply(manifest: object | object[]): Promise<string> {
  const items = Array.isArray(manifest) ? manifest : [manifest];
  return kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
}

interface Pod {
  status?: { phase?: string };
}

/**
 * Runs `script` with node in a one-shot pod of the base image and returns its output: the way a
 * test sees the cluster from inside a pod (Service IPs, DNS, the apiserver).
 */
export async function runInPod(namespace: string, name: string, script: string): Promise<string> {
  await apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: {
      restartPolicy: 'Never',
      containers: [{ name: 'main', image: baseImage, command: ['node', '-e', script] }],
    },
  });
  const phase = await eventually(
    async () => {
      const pod = await kubectlJson<Pod>(['get', 'pod', '-n', namespace, name]);
      const p = pod.status?.phase;
      return p === 'Succeeded' || p === 'Failed' ? p : undefined;
    },
    { what: `pod ${namespace}/${name} to finish`, ...clusterPace },
  );
  const logs = await kubectl(['logs', '-n', namespace, name]);
  if (phase !== 'Succeeded') throw new Error(`pod ${namespace}/${name} failed: ${logs}`);
  return logs;
}

/** The locally built base image (hack/images/base.sh): Debian + Node, present on the node. */
export const baseImage = 'localhost/k2k/node:20';

/** The namespace config/default installs the operator into. */
export const OPERATOR_NAMESPACE = 'k2k-system';
const nodeDir = join(process.env.K2K_STATE ?? join(homedir(), '.local', 'state', 'k2k'), 'node');

/**
 * Installs (or updates) the operator from config/local (config/default asking the local Prometheus
 * for drift) and waits for its rollout.
 */
export async function installOperator(): Promise<void> {
  await kubectl(['apply', '--server-side', '--force-conflicts', '-k', 'config/local']);
  await kubectl(['rollout', 'status', '-n', OPERATOR_NAMESPACE, 'deployment/k2k-operator', '--timeout=180s']);
}

/** The Secret `k2k-storage` holding the test S3 server's credentials, which the specs name by reference. */
export function storageSecret(s3: { accessKeyId: string; secretAccessKey: string }, namespace: string) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'k2k-storage', namespace },
    stringData: { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey },
  };
}

/**
 * Makes the test S3 server on the host reachable in the cluster as http://e2e-s3.<namespace>.svc:7080.
 * Not the demo's k2k-system/k2k-s3 on port 7070: the suite may run on the demo's cluster
 * (test/e2e/global-setup.ts), whose storage must keep working.
 */
export function exposeS3(s3: { endpoint: string }, namespace: string): Promise<ExposedPort> {
  return exposeHostPort({
    nodeDir,
    namespace,
    name: 'e2e-s3',
    port: 7080,
    targetPort: Number(new URL(s3.endpoint).port),
  });
}

/**
 * Rethrows a failed wait with what a reader needs to see why: `kubectl describe` of `kinds` in the
 * test's namespace and the operator's last log lines.
 */
export async function failWithClusterState(err: unknown, namespace: string, kinds: string): Promise<never> {
  const describe = await kubectl(['describe', kinds, '-n', namespace]).catch(String);
  const logs = await kubectl([
    'logs',
    '-n',
    OPERATOR_NAMESPACE,
    'deployment/k2k-operator',
    '--tail=60',
  ]).catch(String);
  throw new Error(`${(err as Error).message}\n${describe}\noperator logs:\n${logs}`);
}
