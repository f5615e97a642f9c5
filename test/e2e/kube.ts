// kubectl for the e2e tests: the cluster's own kubectl binary against the admin kubeconfig that
// test/e2e/global-setup.ts exported, plus the waits the tests share.
import { execFile } from 'node:child_process';
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
