// Model server benchmark on the MNIST MLP artifact (bench/server/mnist.ts): k2k's server against
// KServe's Python model server (bench/server/peer.py) serving the same artifact over the same Open
// Inference Protocol REST API, and against the ceiling, the same TensorFlow.js model called in a
// loop inside this process (bench/server/ceiling.ts). All measured in the same run on the same
// machine; autocannon drives the servers. Reports ratios, never absolute targets.
//
//   npx tsx bench/server/bench.ts [--duration=4] [--rounds=3] [--connections=1,16,64] [--images=1,32]
//
// Everything listens on 127.0.0.1. Results go to bench/server/results/<time>.json and stdout.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { fileURI, openStore } from '../../lib/storage/index.ts';
import { parseMetrics, sample, total } from '../../server/test/fixtures.ts';
import { Ceiling, type CeilingResult, quantile, registerBackends } from './ceiling.ts';
import { digits, PIXELS, SIDE, writeMnistArtifact } from './mnist.ts';
import { freePort } from './ports.ts';

interface AutocannonResult {
  requests: { average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}
/** autocannon's run: a promise of the summary that also emits each response's latency (fractional ms). */
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult> & {
  on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void;
};
/** A measurement: autocannon's summary with latency quantiles of our own (its histogram keeps whole ms). */
interface Measured extends AutocannonResult {
  p50ms: number;
  p99ms: number;
  batchRows?: number;
  predictMs?: number;
  cpuMsPerRequest?: number;
}
const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as Autocannon;

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');
const MODEL = 'mnist';
const arg = (name: string, dflt: string) =>
  process.argv.find((x) => x.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const DURATION = Number(arg('duration', '4'));
const ROUNDS = Number(arg('rounds', '3'));
const CONNECTIONS = arg('connections', '1,16,64').split(',').map(Number);
const IMAGES = arg('images', '1,32').split(',').map(Number);
/** The server's default K2K_BATCHING_MAX_BATCH_SIZE: the largest batch its batcher forms from small requests. */
const MAX_BATCH = 32;
const PEER = 'kserve-python';

interface Started {
  name: string;
  url: string;
  child: ChildProcess;
  /** The TensorFlow.js backend a k2k server runs on (from k2k_model_info); undefined for the peer. */
  backend?: string;
}

async function waitReady(url: string, child: ChildProcess, log: string[]): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}:\n${log.join('')}`);
    try {
      if ((await fetch(`${url}/v2/models/${MODEL}/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready after 120 s:\n${log.join('')}`);
}

async function start(
  name: string,
  cmd: string,
  args: string[],
  env: Record<string, string>,
  port: number,
): Promise<Started> {
  const child = spawn(cmd, args, {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  child.stdout!.on('data', (c: Buffer) => log.push(c.toString()));
  child.stderr!.on('data', (c: Buffer) => log.push(c.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, child, log);
  return { name, url, child };
}

/** An Open Inference Protocol v2 request of `raw.length / PIXELS` raw 28x28x1 images. */
function body(raw: Float32Array, id: string): string {
  const n = raw.length / PIXELS;
  return JSON.stringify({
    id,
    inputs: [{ name: 'input', shape: [n, SIDE, SIDE, 1], datatype: 'FP32', data: Array.from(raw) }],
  });
}

async function infer(url: string, raw: Float32Array): Promise<number[]> {
  const r = await fetch(`${url}/v2/models/${MODEL}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body(raw, 'check'),
  });
  if (!r.ok) throw new Error(`${url}: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { outputs: Array<{ data: number[] }> }).outputs[0]!.data;
}

interface Counters {
  batchRows?: number;
  batches?: number;
  predictSeconds?: number;
  cpuSeconds?: number;
}

/**
 * Counters read from a server's /metrics; their differences over a measurement give k2k's rows per
 * batch and time per predict call, and any server's CPU time per request (process_cpu_seconds_total,
 * which prom-client and Python's prometheus_client both export). Missing counters stay undefined.
 */
async function counters(s: Started): Promise<Counters> {
  try {
    const m = parseMetrics(await (await fetch(`${s.url}/metrics`)).text());
    const get = (name: string) => (m.some((x) => x.name === name) ? total(m, name) : undefined);
    return {
      batchRows: get('k2k_batch_size_rows_sum'),
      batches: get('k2k_batch_size_rows_count'),
      predictSeconds: get('k2k_predict_duration_seconds_sum'),
      cpuSeconds: get('process_cpu_seconds_total'),
    };
  } catch {
    return {};
  }
}

/** after − before of a counter, or undefined when either side lacks it. */
const delta = (a: Counters, b: Counters, k: keyof Counters) =>
  a[k] === undefined || b[k] === undefined ? undefined : (b[k] as number) - (a[k] as number);

async function backendOf(s: Started): Promise<string> {
  const m = parseMetrics(await (await fetch(`${s.url}/metrics`)).text());
  sample(m, 'k2k_model_info'); // exactly one artifact served
  return m.find((x) => x.name === 'k2k_model_info')!.labels.backend!;
}

function worstDifference(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  return worst;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function versions(python: string): Record<string, string> {
  const py = execFileSync(
    python,
    [
      '-c',
      'import sys, importlib.metadata as m; print(sys.version.split()[0], m.version("kserve"), m.version("numpy"))',
    ],
    { encoding: 'utf8' },
  )
    .trim()
    .split(' ');
  return {
    node: process.version,
    tfjs: tf.version.tfjs,
    autocannon: (require('autocannon/package.json') as { version: string }).version,
    python: py[0]!,
    kserve: py[1]!,
    numpy: py[2]!,
  };
}

interface ServerRow {
  kind: 'server';
  imagesPerRequest: number;
  connections: number;
  server: string;
  backend: string;
  requestsPerSecond: number;
  rowsPerSecond: number;
  latencyP50ms: number;
  latencyP99ms: number;
  errors: number;
  /** k2k only: mean rows per predict call its batcher formed (median over rounds). */
  meanBatchRows?: number;
  /** k2k only: mean time of one predict call (median over rounds). */
  predictMs?: number;
  /** The server process's CPU time per request (median over rounds), from its /metrics. */
  cpuMsPerRequest?: number;
  ratioToPeer: number;
  ceilingBackend: string;
  ceilingBatch: number;
  ratioToCeiling: number;
  rounds: Array<{
    requestsPerSecond: number;
    latencyP50ms: number;
    latencyP99ms: number;
    batchRows?: number;
    predictMs?: number;
    cpuMsPerRequest?: number;
  }>;
}

interface CeilingRow extends CeilingResult {
  kind: 'ceiling';
  backend: string;
  batch: number;
  rounds: CeilingResult[];
}

async function main(): Promise<void> {
  const started = Date.now();
  const python = execFileSync('bash', [path.join(HERE, 'setup.sh')], { encoding: 'utf8' }).trim();
  const backends = await registerBackends();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-bench-'));
  const servers: Started[] = [];
  const store = openStore();
  try {
    const uri = await writeMnistArtifact(store, fileURI(dir), MODEL, '1');
    const ceilings = new Map<string, Ceiling>();
    for (const b of backends) ceilings.set(b, await Ceiling.load(store, uri, b));

    const node = process.execPath;
    // k2k with its default settings (batches of up to 32 rows, no added wait), once with the default
    // backend choice (auto: native TensorFlow when its addon is built) and once on WebAssembly.
    for (const [name, backend] of [
      ['k2k', 'auto'],
      ['k2k-wasm', 'wasm'],
    ] as const) {
      const port = await freePort();
      const s = await start(
        name,
        node,
        ['--import', 'tsx', 'server/main.ts'],
        {
          K2K_MODEL_URI: uri,
          K2K_MODEL_NAME: MODEL,
          K2K_HOST: '127.0.0.1',
          K2K_PORT: String(port),
          K2K_ADMIN_PORT: '0', // two servers run side by side: the default 8081 would clash
          K2K_LOG_LEVEL: 'warn',
          K2K_BACKEND: backend,
        },
        port,
      );
      s.backend = await backendOf(s);
      servers.push(s);
    }
    const peerPort = await freePort();
    servers.push(
      await start(
        PEER,
        python,
        [path.join(HERE, 'peer.py')],
        {
          K2K_BENCH_ARTIFACT_DIR: path.join(dir, MODEL, '1'),
          K2K_BENCH_PORT: String(peerPort),
          K2K_BENCH_MODEL: MODEL,
        },
        peerPort,
      ),
    );
    const defaultBackend = servers[0]!.backend!;
    for (const s of servers) {
      if (s.backend && !ceilings.has(s.backend))
        throw new Error(`${s.name} runs on ${s.backend}, which this process cannot load for the ceiling`);
    }

    // Same artifact, same numbers: otherwise the comparison would be meaningless.
    const check = digits(8, 600);
    const want = await infer(servers.find((s) => s.name === PEER)!.url, check);
    for (const s of servers.filter((x) => x.name !== PEER)) {
      const worst = worstDifference(await infer(s.url, check), want);
      if (!(worst < 1e-5)) throw new Error(`${s.name} disagrees with the peer by ${worst}`);
    }
    for (const c of ceilings.values()) {
      const worst = worstDifference(await c.predict(check, 8), want);
      if (!(worst < 1e-5)) throw new Error(`the ${c.backend} ceiling disagrees with the peer by ${worst}`);
    }
    console.error(
      `outputs agree; servers ${servers.map((s) => `${s.name}(${s.backend ?? 'numpy'})`).join(', ')}`,
    );

    // Distinct real digits per scenario; the peer and k2k get byte-identical request bodies.
    const payloads = new Map(IMAGES.map((n) => [n, body(digits(n, 700), 'bench')]));
    const ceilingBatches = [...new Set([1, ...CONNECTIONS.map((c) => Math.min(c, MAX_BATCH)), ...IMAGES])]
      .filter((b) => b <= MAX_BATCH)
      .sort((a, b) => a - b);
    const ceilingInputs = new Map(ceilingBatches.map((b) => [b, digits(b, 700)]));

    const cell = (images: number, connections: number, server: string) =>
      `${images}/${connections}/${server}`;
    const runs = new Map<string, Measured[]>();
    const ceilingRuns = new Map<string, CeilingResult[]>();
    const fire = async (
      s: Started,
      payload: string,
      connections: number,
      duration: number,
    ): Promise<Measured> => {
      const run = autocannon({
        url: `${s.url}/v2/models/${MODEL}/infer`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: payload,
        connections,
        duration,
      });
      const latencies: number[] = [];
      run.on('response', (_client, status, _bytes, ms) => {
        if (status >= 200 && status < 300) latencies.push(ms);
      });
      const r = await run;
      return { ...r, p50ms: quantile(latencies, 0.5), p99ms: quantile(latencies, 0.99) };
    };
    // JIT, kernel and connection warm-up, not recorded.
    for (const s of servers) await fire(s, payloads.get(IMAGES[0]!)!, 16, 1);

    // Rounds interleave every server and the ceiling, so background load on the shared machine hits them alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const images of IMAGES) {
        for (const connections of CONNECTIONS) {
          for (const s of servers) {
            const before = await counters(s);
            const r = await fire(s, payloads.get(images)!, connections, DURATION);
            const after = await counters(s);
            const batches = delta(before, after, 'batches');
            const predict = delta(before, after, 'predictSeconds');
            const rows = delta(before, after, 'batchRows');
            const cpu = delta(before, after, 'cpuSeconds');
            const requests = r['2xx'] + r.non2xx;
            const key = cell(images, connections, s.name);
            runs.set(key, [
              ...(runs.get(key) ?? []),
              {
                ...r,
                ...(batches && rows !== undefined ? { batchRows: rows / batches } : {}),
                ...(batches && predict !== undefined ? { predictMs: (1000 * predict) / batches } : {}),
                ...(requests && cpu !== undefined ? { cpuMsPerRequest: (1000 * cpu) / requests } : {}),
              },
            ]);
          }
        }
      }
      for (const [backend, c] of ceilings) {
        for (const batch of ceilingBatches) {
          const key = `${backend}/${batch}`;
          ceilingRuns.set(key, [
            ...(ceilingRuns.get(key) ?? []),
            await c.measure(ceilingInputs.get(batch)!, DURATION),
          ]);
        }
      }
      console.error(`round ${round + 1}/${ROUNDS} done after ${Math.round((Date.now() - started) / 1000)} s`);
    }

    const ceilingRows: CeilingRow[] = [];
    for (const backend of ceilings.keys()) {
      for (const batch of ceilingBatches) {
        const rs = ceilingRuns.get(`${backend}/${batch}`)!;
        const callsPerSecond = median(rs.map((r) => r.callsPerSecond));
        ceilingRows.push({
          kind: 'ceiling',
          backend,
          batch,
          callsPerSecond,
          rowsPerSecond: callsPerSecond * batch,
          latencyP50ms: median(rs.map((r) => r.latencyP50ms)),
          latencyP99ms: median(rs.map((r) => r.latencyP99ms)),
          calls: rs.reduce((s, r) => s + r.calls, 0),
          rounds: rs,
        });
      }
    }
    const ceilingOf = (backend: string, batch: number) =>
      ceilingRows.find((c) => c.backend === backend && c.batch === batch)!;

    const serverRows: ServerRow[] = [];
    for (const images of IMAGES) {
      for (const connections of CONNECTIONS) {
        const rps = (name: string) =>
          median(runs.get(cell(images, connections, name))!.map((r) => r.requests.average));
        const peer = rps(PEER);
        for (const s of servers) {
          const rs = runs.get(cell(images, connections, s.name))!;
          const requestsPerSecond = rps(s.name);
          // The largest batch the server's batcher can form here: concurrent 1-image requests up to
          // the batch limit; a request of 32 images fills a batch by itself.
          const ceilingBatch = images === 1 ? Math.min(connections, MAX_BATCH) : Math.min(images, MAX_BATCH);
          const ceilingBackend = s.backend ?? defaultBackend;
          const of = (k: 'batchRows' | 'predictMs' | 'cpuMsPerRequest') => {
            const xs = rs.map((r) => r[k]).filter((x): x is number => x !== undefined);
            return xs.length ? median(xs) : undefined;
          };
          const [batchRows, predictMs, cpuMsPerRequest] = [
            of('batchRows'),
            of('predictMs'),
            of('cpuMsPerRequest'),
          ];
          serverRows.push({
            kind: 'server',
            imagesPerRequest: images,
            connections,
            server: s.name,
            backend: s.backend ?? 'numpy',
            requestsPerSecond,
            rowsPerSecond: requestsPerSecond * images,
            latencyP50ms: median(rs.map((r) => r.p50ms)),
            latencyP99ms: median(rs.map((r) => r.p99ms)),
            errors: rs.reduce((sum, r) => sum + r.errors + r.timeouts + r.non2xx, 0),
            ...(batchRows === undefined ? {} : { meanBatchRows: batchRows }),
            ...(predictMs === undefined ? {} : { predictMs }),
            ...(cpuMsPerRequest === undefined ? {} : { cpuMsPerRequest }),
            ratioToPeer: requestsPerSecond / peer,
            ceilingBackend,
            ceilingBatch,
            ratioToCeiling:
              (requestsPerSecond * images) / ceilingOf(ceilingBackend, ceilingBatch).rowsPerSecond,
            rounds: rs.map((r) => ({
              requestsPerSecond: r.requests.average,
              latencyP50ms: r.p50ms,
              latencyP99ms: r.p99ms,
              batchRows: r.batchRows,
              predictMs: r.predictMs,
              cpuMsPerRequest: r.cpuMsPerRequest,
            })),
          });
        }
      }
    }

    const meta = {
      date: new Date().toISOString(),
      model: 'mnist-mlp (flatten 28x28x1 → dense 512 relu → dense 10 softmax), imageScale 255, profile.json',
      durationSeconds: DURATION,
      rounds: ROUNDS,
      connections: CONNECTIONS,
      imagesPerRequest: IMAGES,
      ceilingBatches,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      loadAverageAtEnd: os.loadavg(),
      wallSeconds: Math.round((Date.now() - started) / 1000),
      versions: versions(python),
      note: 'Each server is one process on a shared 127.0.0.1 machine; autocannon and the ceiling run in the benchmark process on the same cores. Compare ratios, not absolute numbers.',
    };
    await mkdir(path.join(HERE, 'results'), { recursive: true });
    const file = path.join(HERE, 'results', `${meta.date.replace(/[:.]/g, '-')}.json`);
    await writeFile(
      file,
      `${JSON.stringify({ meta, servers: serverRows, ceiling: ceilingRows }, null, 2)}\n`,
    );

    const n = (v: number, d = 0) =>
      v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
    const opt = (v: number | undefined, d: number) => (v === undefined ? '' : n(v, d));
    console.log(
      '| images/req | conc. | server | req/s | rows/s | p50 ms | p99 ms | errors | rows/batch | predict ms | server CPU ms/req | vs peer | vs ceiling |',
    );
    console.log('|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
    for (const r of serverRows) {
      const label = r.backend === 'numpy' ? r.server : `${r.server} (${r.backend})`;
      console.log(
        `| ${r.imagesPerRequest} | ${r.connections} | ${label} | ${n(r.requestsPerSecond)} | ${n(r.rowsPerSecond)} | ${n(r.latencyP50ms, 2)} | ${n(r.latencyP99ms, 2)} | ${r.errors} | ${opt(r.meanBatchRows, 1)} | ${opt(r.predictMs, 2)} | ${opt(r.cpuMsPerRequest, 2)} | ${n(r.ratioToPeer, 2)}x | ${n(r.ratioToCeiling, 2)}x (${r.ceilingBackend}, batch ${r.ceilingBatch}) |`,
      );
    }
    console.log('');
    console.log('| in-process ceiling | batch | calls/s | rows/s | p50 ms | p99 ms |');
    console.log('|---|--:|--:|--:|--:|--:|');
    for (const c of ceilingRows) {
      console.log(
        `| ${c.backend} | ${c.batch} | ${n(c.callsPerSecond)} | ${n(c.rowsPerSecond)} | ${n(c.latencyP50ms, 2)} | ${n(c.latencyP99ms, 2)} |`,
      );
    }
    console.log(`\n${path.relative(REPO, file)}, ${meta.wallSeconds} s`);
  } finally {
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.child.exitCode !== null) return resolve();
            const force = setTimeout(() => s.child.kill('SIGKILL'), 5000);
            s.child.once('exit', () => {
              clearTimeout(force);
              resolve();
            });
            s.child.kill('SIGTERM');
          }),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
