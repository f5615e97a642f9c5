// kubectl for the e2e tests: the cluster's own kubectl binary against the admin kubeconfig that
// test/e2e/global-setup.ts exported, plus the waits the tests share.
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ModelDeployment } from '../../api/index.ts';
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

/** Starts `script` with node in a one-shot pod of the base image; `runInPod` also waits for its end. */
export async function startPod(namespace: string, name: string, script: string): Promise<void> {
  await apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: {
      restartPolicy: 'Never',
      containers: [{ name: 'main', image: baseImage, command: ['node', '-e', script] }],
    },
  });
}

/**
 * Runs `script` with node in a one-shot pod of the base image and returns its output: the way a
 * test sees the cluster from inside a pod (Service IPs, DNS, the apiserver).
 */
export async function runInPod(namespace: string, name: string, script: string): Promise<string> {
  await startPod(namespace, name, script);
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

/** GET `path` on a pod's `port` through the API server's pod proxy (no route to pods needed). */
export function podGet(namespace: string, pod: string, port: number, path: string): Promise<string> {
  return kubectl(['get', '--raw', `/api/v1/namespaces/${namespace}/pods/${pod}:${port}/proxy${path}`]);
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

/** Whether a ModelDeployment says Ready=True. */
export const isReady = (md: Pick<ModelDeployment, 'status'>): boolean =>
  md.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

export interface ModelDeploymentWait<T> {
  /** What is awaited, for the failure message (default: Ready). */
  what?: string;
  /** When the wait is over (default: Ready=True). */
  until?: (md: T) => boolean | Promise<boolean>;
  timeoutMs?: number;
  intervalMs?: number;
  /** The kinds `kubectl describe` shows on a timeout. */
  describe?: string;
}

/**
 * Polls ModelDeployment `namespace/name` until `until` holds and returns what it read. On a timeout
 * fails with its last status, `kubectl describe` of `describe` and the operator's logs.
 */
export async function waitForModelDeployment<T extends Pick<ModelDeployment, 'status'> = ModelDeployment>(
  namespace: string,
  name: string,
  {
    what = 'Ready',
    until = isReady,
    timeoutMs = clusterPace.timeoutMs,
    intervalMs = clusterPace.intervalMs,
    describe = 'modeldeployment,pods',
  }: ModelDeploymentWait<T> = {},
): Promise<T> {
  const get = () => kubectlJson<T>(['get', 'modeldeployment', '-n', namespace, name]);
  try {
    return await eventually(
      async () => {
        const md = await get();
        return (await until(md)) ? md : undefined;
      },
      { what: `ModelDeployment ${namespace}/${name}: ${what}`, timeoutMs, intervalMs },
    );
  } catch (err) {
    const last = await get().catch(() => undefined);
    return failWithClusterState(
      new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status)}`),
      namespace,
      describe,
    );
  }
}

interface PodList {
  items: Array<{
    metadata: { name: string };
    status?: { conditions?: Array<{ type: string; status: string }> };
  }>;
}

/** The ready pods of a ModelDeployment's Deployment (`instance`: its name, or <name>-canary). */
export async function readyPods(namespace: string, instance: string): Promise<string[]> {
  const list = await kubectlJson<PodList>([
    'get',
    'pods',
    '-n',
    namespace,
    '-l',
    `app.kubernetes.io/instance=${instance}`,
  ]);
  return list.items
    .filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
    .map((p) => p.metadata.name);
}

/** The sum of a model server pod's series `name` whose lines match `match`, from its own /metrics. */
export async function podMetric(
  namespace: string,
  pod: string,
  name: string,
  match: RegExp = /.*/,
): Promise<number> {
  const text = await podGet(namespace, pod, 8080, '/metrics');
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .filter((l) => match.test(l))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

/** podMetric summed over `pods`. */
export async function podsMetric(
  namespace: string,
  pods: readonly string[],
  name: string,
  match?: RegExp,
): Promise<number> {
  const values = await Promise.all(pods.map((p) => podMetric(namespace, p, name, match)));
  return values.reduce((a, b) => a + b, 0);
}

/** The canary weight the stable pods of ModelDeployment `name` are told to forward (its traffic ConfigMap). */
export async function trafficWeight(namespace: string, name: string): Promise<number> {
  const json = await kubectl([
    'get',
    'configmap',
    '-n',
    namespace,
    `${name}-traffic`,
    '-o',
    'jsonpath={.data.traffic\\.json}',
  ]);
  return (JSON.parse(json) as { weight: number }).weight;
}

/** Points ModelDeployment `name` at another artifact: with `spec.canary`, a new version rolled out as its canary. */
export function setArtifact(namespace: string, name: string, artifactURI: string): Promise<string> {
  return kubectl([
    'patch',
    'modeldeployment',
    '-n',
    namespace,
    name,
    '--type=merge',
    '-p',
    JSON.stringify({ spec: { model: { artifactURI } } }),
  ]);
}
