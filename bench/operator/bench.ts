// Operator benchmark: how fast the operator converges N suspended TrainingJobs (a Job and a status
// each, no pods) on the local control plane, against the floor: a lean client doing the same writes
// itself (create the TrainingJob, apply its ServiceAccount, Role, RoleBinding and Job, apply its
// status) over keep-alive connections, at the same concurrency, in the same run. Reports the
// ratio operator/floor, API requests per object (the apiserver's apiserver_request_total before
// and after), the operator's peak RSS and CPU seconds (/proc) and the load average.
//
//   npx tsx bench/operator/bench.ts [--n=1000,5000] [--concurrency=16] [--workers=16]
//
// The operator is the compiled one (tsc into .tmp/bench-operator), run as its ServiceAccount with
// config/rbac, like test/harness/operator.ts runs it; it watches only its own namespace, so the
// floor's objects in another namespace are not its business. Results go to
// bench/operator/results/<time>.json and stdout.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { KubeConfig, type V1Job } from '@kubernetes/client-node';
import { API_VERSION, TRAININGJOB_KIND, TRAININGJOB_PLURAL, type TrainingJob } from '../../api/index.ts';
import { startControlPlane } from '../../hack/cluster/controlplane.ts';
import { serviceAccountKubeconfig } from '../../hack/cluster/serviceaccount.ts';
import { desiredChildren } from '../../operator/controllers/trainingjob/desired.ts';
import { computeStatus } from '../../operator/controllers/trainingjob/status.ts';
import { apply, applyStatus, Informer, kubeRequest, resourcePath } from '../../operator/runtime/index.ts';
import { installCRDs } from '../../test/harness/crds.ts';
import { installOperatorRBAC, OPERATOR_ACCOUNT, OPERATOR_NAMESPACE } from '../../test/harness/operator.ts';
import { suspendedTrainingJob } from '../../test/harness/suspended-trainingjob.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const images = { cpu: 'k2k/trainer:bench', gpu: 'k2k/trainer-gpu:bench' };

const { values: flags } = parseArgs({
  options: {
    n: { type: 'string', default: '1000,5000' },
    concurrency: { type: 'string', default: '16' },
    workers: { type: 'string', default: '16' },
  },
});
const sizes = flags.n.split(',').map(Number);
const concurrency = Number(flags.concurrency);

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const load = () => os.loadavg().map((l) => Number(l.toFixed(2)));

const createTrainingJob = (kc: KubeConfig, tj: TrainingJob) =>
  kubeRequest<TrainingJob>(kc, {
    method: 'POST',
    path: resourcePath({
      apiVersion: API_VERSION,
      plural: TRAININGJOB_PLURAL,
      namespace: tj.metadata.namespace,
    }),
    body: tj,
  });

/** Runs `task(i)` for i in [0, n) with `concurrency` in flight. */
async function pool(n: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) await task(i);
    }),
  );
}

/** Sum of apiserver_request_total, by verb, from the API server's /metrics. */
async function apiRequests(kc: KubeConfig): Promise<Record<string, number>> {
  // /metrics is text, not JSON: read it raw.
  const raw = await rawGet(kc, '/metrics');
  const byVerb: Record<string, number> = {};
  for (const line of raw.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const verb = /verb="([^"]+)"/.exec(line)?.[1] ?? '?';
    byVerb[verb] = (byVerb[verb] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return byVerb;
}

async function rawGet(kc: KubeConfig, p: string): Promise<string> {
  const https = await import('node:https');
  const opts: import('node:https').RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const url = new URL(kc.getCurrentCluster()!.server + p);
  return new Promise((resolve, reject) => {
    https
      .get(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const diff = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
      .filter(([, v]) => v > 0),
  );
const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

async function namespace(kc: KubeConfig, name: string): Promise<string> {
  await kubeRequest(kc, { method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name } } });
  return name;
}

/** The floor: the same writes the operator makes, made directly, as fast as the API server allows. */
async function floor(admin: KubeConfig, writer: KubeConfig, ns: string, n: number) {
  const started = performance.now();
  await pool(n, async (i) => {
    const tj = await createTrainingJob(admin, suspendedTrainingJob(`tj-${i}`, ns));
    // The operator's stages: the account and the Role, then the RoleBinding and the Job.
    const children = desiredChildren(tj, images);
    const later = (kind?: string) => kind === 'RoleBinding' || kind === 'Job';
    await Promise.all(children.filter((c) => !later(c.kind)).map((c) => apply(writer, c)));
    const [, stored] = await Promise.all(children.filter((c) => later(c.kind)).map((c) => apply(writer, c)));
    const status = computeStatus(tj, { job: stored as V1Job, pods: [], now: new Date() });
    await applyStatus(writer, { ...tj, status } as TrainingJob, { plural: TRAININGJOB_PLURAL });
  });
  return (performance.now() - started) / 1000;
}

/** Resolves with the time at which `n` TrainingJobs in `ns` have a status phase and a Job each. */
async function converged(
  admin: KubeConfig,
  ns: string,
  n: number,
): Promise<{ done: Promise<number>; stop(): void }> {
  const tjs = new Informer<TrainingJob>(admin, {
    apiVersion: API_VERSION,
    kind: TRAININGJOB_KIND,
    plural: TRAININGJOB_PLURAL,
    namespace: ns,
  });
  const jobs = new Informer<V1Job>(admin, {
    apiVersion: 'batch/v1',
    kind: 'Job',
    plural: 'jobs',
    namespace: ns,
  });
  const withStatus = new Set<string>();
  const withJob = new Set<string>();
  let resolve: (t: number) => void = () => {};
  const done = new Promise<number>((r) => {
    resolve = r;
  });
  const check = () => {
    if (withStatus.size >= n && withJob.size >= n) resolve(performance.now());
  };
  const onTj = (tj: TrainingJob) => {
    if (tj.status?.phase) withStatus.add(tj.metadata.name!);
    check();
  };
  const onJob = (job: V1Job) => {
    withJob.add(job.metadata!.name!);
    check();
  };
  tjs.on('add', onTj);
  tjs.on('update', onTj);
  jobs.on('add', onJob);
  await Promise.all([tjs.start(), jobs.start()]);
  return {
    done,
    stop: () => {
      tjs.stop();
      jobs.stop();
    },
  };
}

/** Peak RSS (MB) and CPU seconds of a process, from /proc. */
async function usage(pid: number) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const hwmKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  // Fields 14 and 15 (utime, stime), counted from after the command name, in clock ticks (100/s on Linux).
  const cpuSeconds = (Number(stat[11]) + Number(stat[12])) / 100;
  return { peakRssMB: Math.round(hwmKb / 1024), cpuSeconds };
}

function startOperator(kubeconfig: string, ns: string): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(
    process.execPath,
    [
      path.join(root, '.tmp/bench-operator/operator/main.js'),
      `--kubeconfig=${kubeconfig}`,
      '--identity=bench',
      '--probe-address=127.0.0.1:0',
      '--leader-elect=false',
      `--namespace=${ns}`,
      `--workers=${flags.workers}`,
      '--log-level=info',
      `--trainer-image=${images.cpu}`,
      `--trainer-gpu-image=${images.gpu}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECONFIG: '' } },
  );
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`operator not ready in 60s:\n${out}`)), 60_000);
    // Ready once its caches are synced: /readyz on the port it logged.
    const poll = setInterval(async () => {
      const m = /serving probes and metrics.*"port":(\d+)/.exec(out);
      if (!m) return;
      const res = await fetch(`http://127.0.0.1:${m[1]}/readyz`).catch(() => undefined);
      if (res?.ok) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }
    }, 200);
  });
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
    process.stderr.write(d);
  });
  return { child, ready };
}

async function main() {
  log('building the operator (tsc -p tsconfig.build.json)');
  await run(process.execPath, [
    path.join(root, 'node_modules/typescript/bin/tsc'),
    '-p',
    path.join(root, 'tsconfig.build.json'),
    '--outDir',
    path.join(root, '.tmp/bench-operator'),
  ]);
  const cp = await startControlPlane({ log: (l) => log(`[controlplane] ${l}`) });
  try {
    const kubectl = `${cp.binDir}/kubectl`;
    process.env.K2K_TEST_KUBECTL = kubectl;
    process.env.K2K_TEST_KUBECONFIG = cp.kubeconfigPath;
    await installCRDs(kubectl, cp.kubeconfigPath);
    await installOperatorRBAC();
    const operatorKubeconfig = await serviceAccountKubeconfig(
      cp.kubeconfigPath,
      OPERATOR_NAMESPACE,
      OPERATOR_ACCOUNT,
    );
    const admin = new KubeConfig();
    admin.loadFromFile(cp.kubeconfigPath);
    const writer = new KubeConfig();
    writer.loadFromFile(operatorKubeconfig);

    const rows = [];
    for (const n of sizes) {
      const loadBefore = load();
      // Floor.
      const floorNs = await namespace(admin, `bench-floor-${n}`);
      let before = await apiRequests(admin);
      const floorSeconds = await floor(admin, writer, floorNs, n);
      const floorRequests = diff(await apiRequests(admin), before);
      log(`n=${n} floor ${floorSeconds.toFixed(1)}s, ${(sum(floorRequests) / n).toFixed(1)} requests/object`);

      // Operator.
      const opNs = await namespace(admin, `bench-operator-${n}`);
      const op = startOperator(operatorKubeconfig, opNs);
      await op.ready;
      const watch = await converged(admin, opNs, n);
      before = await apiRequests(admin);
      const started = performance.now();
      await pool(n, async (i) => {
        await createTrainingJob(admin, suspendedTrainingJob(`tj-${i}`, opNs));
      });
      const createdSeconds = (performance.now() - started) / 1000;
      const operatorSeconds = ((await watch.done) - started) / 1000;
      // Requests the operator makes after convergence (a status write's own event) belong to it too.
      await new Promise((r) => setTimeout(r, 2000));
      const operatorRequests = diff(await apiRequests(admin), before);
      const { peakRssMB, cpuSeconds } = await usage(op.child.pid!);
      watch.stop();
      op.child.kill('SIGTERM');
      await new Promise((r) => op.child.once('exit', r));
      const row = {
        n,
        concurrency,
        workers: Number(flags.workers),
        floorSeconds: Number(floorSeconds.toFixed(2)),
        operatorSeconds: Number(operatorSeconds.toFixed(2)),
        createSeconds: Number(createdSeconds.toFixed(2)),
        ratio: Number((operatorSeconds / floorSeconds).toFixed(2)),
        floorRequestsPerObject: Number((sum(floorRequests) / n).toFixed(2)),
        operatorRequestsPerObject: Number((sum(operatorRequests) / n).toFixed(2)),
        floorRequests,
        operatorRequests,
        operatorPeakRssMB: peakRssMB,
        operatorCpuSeconds: cpuSeconds,
        loadBefore,
        loadAfter: load(),
      };
      log(JSON.stringify(row));
      rows.push(row);
    }
    const out = path.join(
      root,
      'bench/operator/results',
      `${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
    );
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, `${JSON.stringify({ cpus: os.cpus().length, rows }, null, 2)}\n`);
    log(`wrote ${path.relative(root, out)}`);
  } finally {
    await cp.stop();
  }
}

await main();
process.exit(0);
