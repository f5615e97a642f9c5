// Model server benchmark on the MNIST MLP artifact (bench/server/mnist.ts): k2k's server against
// KServe's Python model server (bench/server/peer.py) serving the same artifact over the same Open
// Inference Protocol wires (REST JSON, REST binary tensors, gRPC typed contents, gRPC raw bytes),
// and against the ceiling, the same TensorFlow.js model called in a loop inside this process
// (bench/server/ceiling.ts). All measured in the same run on the same machine; autocannon (in this
// process) drives the REST wires, ghz (built from its Go module by ghz.sh; a @grpc/grpc-js loop in
// this process when it cannot be built) the gRPC ones, and the generator's CPU is reported per
// request next to each server's. Reports ratios, never absolute targets. N connections are N TCP
// connections on every wire; `grpc-raw-one-channel` is N calls on one HTTP/2 connection (requests.ts).
//
//   npx tsx bench/server/bench.ts [--duration=4] [--rounds=3] [--connections=1,16,64] [--images=1,32]
//                                 [--wires=rest-json,rest-binary,grpc-typed,grpc-raw,grpc-raw-one-channel]
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
import { Ceiling, type CeilingResult, registerBackends } from './ceiling.ts';
import { digits, writeMnistArtifact } from './mnist.ts';
import { freePort } from './ports.ts';
import {
  autocannonRun,
  ghzBinary,
  ghzRun,
  grpcChannels,
  grpcInfer,
  grpcJsGenerator,
  grpcValues,
  type Infer,
  isGrpc,
  type Payloads,
  payloads,
  type Run,
  restRequest,
  WIRES,
  type Wire,
} from './requests.ts';

/** One cell's measurement, whatever drove it, with latency quantiles of our own (autocannon's histogram keeps whole ms). */
interface Measured {
  requestsPerSecond: number;
  errors: number;
  p50ms: number;
  p99ms: number;
  /** This process's CPU (the load generator's) per request. */
  clientCpuMsPerRequest: number;
  batchRows?: number;
  predictMs?: number;
  cpuMsPerRequest?: number;
}
const require = createRequire(import.meta.url);

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');
const MODEL = 'mnist';
const arg = (name: string, dflt: string) =>
  process.argv.find((x) => x.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const DURATION = Number(arg('duration', '4'));
const WARM_UP_SECONDS = 3;
const ROUNDS = Number(arg('rounds', '3'));
const CONNECTIONS = arg('connections', '1,16,64').split(',').map(Number);
const IMAGES = arg('images', '1,32').split(',').map(Number);
const WIRES_RUN = arg('wires', WIRES.join(',')).split(',') as Wire[];
/** The server's default K2K_BATCHING_MAX_BATCH_SIZE: the largest batch its batcher forms from small requests. */
const MAX_BATCH = 32;
const PEER = 'kserve-python';

interface Started {
  name: string;
  url: string;
  /** host:port of its Open Inference Protocol gRPC service. */
  grpc: string;
  /** The wires it is measured on (those that passed the correctness check). */
  wires: Wire[];
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
  grpcPort: number,
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
  return { name, url, grpc: `127.0.0.1:${grpcPort}`, wires: [], child };
}

const clients = new Map<string, ReturnType<typeof grpcInfer>>();
/** One grpc-js channel per server, for the correctness check (and the load when ghz is missing). */
function grpcClient(address: string): Infer {
  let c = clients.get(address);
  if (!c) {
    c = grpcInfer(address);
    clients.set(address, c);
  }
  return c.infer;
}

/** One request on `wire`; resolves with the first output's values. */
async function inferOn(s: Started, wire: Wire, p: Payloads): Promise<ArrayLike<number>> {
  if (wire === 'grpc-typed') return grpcValues(await grpcClient(s.grpc)(p.typed));
  if (isGrpc(wire)) return grpcValues(await grpcClient(s.grpc)(p.rawGrpc));
  const r = await fetch(`${s.url}/v2/models/${MODEL}/infer`, { method: 'POST', ...restRequest(wire, p) });
  if (!r.ok) throw new Error(`${s.name} ${wire}: ${r.status} ${await r.text()}`);
  const bytes = Buffer.from(await r.arrayBuffer());
  const headerLength = r.headers.get('inference-header-content-length');
  if (headerLength === null)
    return (JSON.parse(bytes.toString()) as { outputs: Array<{ data: number[] }> }).outputs[0]!.data;
  const rest = bytes.subarray(Number(headerLength));
  return new Float32Array(rest.buffer.slice(rest.byteOffset, rest.byteOffset + rest.length));
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
  wire: Wire;
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
  /** The load generator's (this process's) CPU time per request (median over rounds). */
  clientCpuMsPerRequest: number;
  /** True when the load generator used at least as much CPU as the server: on 2 shared cores it bounds the run. */
  clientBound: boolean;
  /** The peer's row it is compared with: the same wire, or the peer's JSON when the peer lacks the wire. */
  peerWire: Wire;
  ratioToPeer: number;
  ceilingBackend: string;
  ceilingBatch: number;
  ratioToCeiling: number;
  /** Server CPU per row ÷ the ceiling's CPU per row at the same batch. */
  cpuRatioToCeiling?: number;
  rounds: Array<Omit<Measured, 'errors'>>;
}

interface CeilingRow extends CeilingResult {
  kind: 'ceiling';
  backend: string;
  batch: number;
  rounds: CeilingResult[];
}

/** ghz's binary when it could be built (once, cached); undefined: gRPC load from grpc-js. */
let ghz: string | undefined;
/** The grpc-js fallback's channels per server address. */
const grpcJs = new Map<string, ReturnType<typeof grpcJsGenerator>>();

/** At one connection the one-channel wire is grpc-raw itself: not measured twice. */
const measured = (wire: Wire, connections: number) => !(wire === 'grpc-raw-one-channel' && connections === 1);

/** One cell on one wire: autocannon for REST, ghz (or the grpc-js fallback) for gRPC. */
async function fire(
  s: Started,
  wire: Wire,
  p: Payloads,
  connections: number,
  duration: number,
): Promise<Measured> {
  let r: Run;
  if (!isGrpc(wire)) r = await autocannonRun(s.url, wire, p, connections, duration);
  else {
    const request = wire === 'grpc-typed' ? p.typed : p.rawGrpc;
    const channels = grpcChannels(wire, connections);
    if (ghz) r = await ghzRun(ghz, s.grpc, request, connections, channels, duration);
    else {
      if (!grpcJs.has(s.grpc)) grpcJs.set(s.grpc, grpcJsGenerator(s.grpc));
      r = await grpcJs.get(s.grpc)!.run(request, connections, channels, duration);
    }
  }
  return {
    requestsPerSecond: r.requests / r.seconds,
    errors: r.errors,
    p50ms: r.p50ms,
    p99ms: r.p99ms,
    clientCpuMsPerRequest: (1000 * r.generatorCpuSeconds) / Math.max(1, r.requests),
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const python = execFileSync('bash', [path.join(HERE, 'setup.sh')], { encoding: 'utf8' }).trim();
  if (WIRES_RUN.some(isGrpc)) ghz = ghzBinary();
  const backends = await registerBackends();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-bench-'));
  const servers: Started[] = [];
  const store = openStore();
  const loadAverages: number[][] = [os.loadavg()];
  try {
    const uri = await writeMnistArtifact(store, fileURI(dir), MODEL, '1');
    const ceilings = new Map<string, Ceiling>();
    for (const b of backends) ceilings.set(b, await Ceiling.load(store, uri, b));

    const node = process.execPath;
    // k2k with its default settings (batches of up to 32 rows, no added wait, K2K_BACKEND=auto,
    // which measures the backends on this model), then k2k on the backend auto did not pick, on
    // JSON only: the evidence that the choice was the faster one.
    const startK2k = async (name: string, backend: string) => {
      const [port, grpcPort] = [await freePort(), await freePort()];
      const s = await start(
        name,
        node,
        ['--import', 'tsx', 'server/main.ts'],
        {
          K2K_MODEL_URI: uri,
          K2K_MODEL_NAME: MODEL,
          K2K_HOST: '127.0.0.1',
          K2K_PORT: String(port),
          K2K_GRPC_PORT: String(grpcPort),
          K2K_ADMIN_PORT: '0', // two servers run side by side: the default 8081 would clash
          K2K_LOG_LEVEL: 'warn',
          K2K_BACKEND: backend,
        },
        port,
        grpcPort,
      );
      s.backend = await backendOf(s);
      servers.push(s);
      return s;
    };
    const k2k = await startK2k('k2k', 'auto');
    k2k.wires = WIRES_RUN;
    const other = backends.find((b) => b !== k2k.backend);
    if (other && WIRES_RUN.includes('rest-json'))
      (await startK2k(`k2k-${other}`, other)).wires = ['rest-json'];
    const [peerPort, peerGrpcPort] = [await freePort(), await freePort()];
    const peer = await start(
      PEER,
      python,
      [path.join(HERE, 'peer.py')],
      {
        K2K_BENCH_ARTIFACT_DIR: path.join(dir, MODEL, '1'),
        K2K_BENCH_PORT: String(peerPort),
        K2K_BENCH_GRPC_PORT: String(peerGrpcPort),
        K2K_BENCH_MODEL: MODEL,
      },
      peerPort,
      peerGrpcPort,
    );
    servers.push(peer);
    const defaultBackend = k2k.backend!;
    for (const s of servers) {
      if (s.backend && !ceilings.has(s.backend))
        throw new Error(`${s.name} runs on ${s.backend}, which this process cannot load for the ceiling`);
    }

    // Same artifact, same numbers, on every wire: otherwise the comparison would be meaningless.
    // The peer is measured on the wires it answers correctly (its JSON must work).
    const check = payloads(digits(8, 600), MODEL);
    const want = await inferOn(peer, 'rest-json', check);
    for (const wire of WIRES_RUN) {
      try {
        const worst = worstDifference(await inferOn(peer, wire, check), want);
        if (worst < 1e-5) peer.wires.push(wire);
        else console.error(`${PEER} on ${wire} disagrees with its own JSON by ${worst}: not measured`);
      } catch (err) {
        console.error(`${PEER} does not answer ${wire} (${(err as Error).message}): not measured`);
      }
    }
    if (!peer.wires.includes('rest-json')) peer.wires.unshift('rest-json');
    for (const s of servers.filter((x) => x !== peer)) {
      for (const wire of s.wires) {
        const worst = worstDifference(await inferOn(s, wire, check), want);
        if (!(worst < 1e-5)) throw new Error(`${s.name} on ${wire} disagrees with the peer by ${worst}`);
      }
    }
    for (const c of ceilings.values()) {
      const worst = worstDifference(await c.predict(digits(8, 600), 8), want);
      if (!(worst < 1e-5)) throw new Error(`the ${c.backend} ceiling disagrees with the peer by ${worst}`);
    }
    console.error(
      `outputs agree; ${servers.map((s) => `${s.name}(${s.backend ?? 'numpy'}: ${s.wires.join(', ')})`).join('; ')}`,
    );

    // Distinct real digits per scenario; the peer and k2k get byte-identical requests.
    const requests = new Map(IMAGES.map((n) => [n, payloads(digits(n, 700), MODEL)]));
    const ceilingBatches = [...new Set([1, ...CONNECTIONS.map((c) => Math.min(c, MAX_BATCH)), ...IMAGES])]
      .filter((b) => b <= MAX_BATCH)
      .sort((a, b) => a - b);
    const ceilingInputs = new Map(ceilingBatches.map((b) => [b, digits(b, 700)]));

    const cell = (images: number, connections: number, server: string, wire: Wire) =>
      `${images}/${connections}/${server}/${wire}`;
    const runs = new Map<string, Measured[]>();
    const ceilingRuns = new Map<string, CeilingResult[]>();
    // JIT, kernel and connection warm-up, not recorded: every request size (32 images take code
    // paths one image does not) for a few seconds, and /metrics scraped as the cells scrape it (the
    // first scrapes deoptimise request-path functions). Recompiling cost a 32-image request 0.4 ms
    // of CPU for seconds after a 1-second warm-up (docs/benchmarks.md, "Accounting for the gap").
    for (const s of servers)
      for (const wire of s.wires)
        for (const images of IMAGES) {
          await fire(s, wire, requests.get(images)!, 16, WARM_UP_SECONDS);
          await counters(s);
        }

    // Rounds interleave every server, wire and the ceiling, so background load on the shared machine hits them alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const images of IMAGES) {
        for (const connections of CONNECTIONS) {
          for (const s of servers) {
            for (const wire of s.wires.filter((w) => measured(w, connections))) {
              const before = await counters(s);
              const r = await fire(s, wire, requests.get(images)!, connections, DURATION);
              const after = await counters(s);
              const batches = delta(before, after, 'batches');
              const predict = delta(before, after, 'predictSeconds');
              const rows = delta(before, after, 'batchRows');
              const cpu = delta(before, after, 'cpuSeconds');
              const answered = r.requestsPerSecond * DURATION;
              const key = cell(images, connections, s.name, wire);
              runs.set(key, [
                ...(runs.get(key) ?? []),
                {
                  ...r,
                  ...(batches && rows !== undefined ? { batchRows: rows / batches } : {}),
                  ...(batches && predict !== undefined ? { predictMs: (1000 * predict) / batches } : {}),
                  ...(answered && cpu !== undefined ? { cpuMsPerRequest: (1000 * cpu) / answered } : {}),
                },
              ]);
            }
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
      loadAverages.push(os.loadavg());
      console.error(
        `round ${round + 1}/${ROUNDS} done after ${Math.round((Date.now() - started) / 1000)} s (load ${os
          .loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')})`,
      );
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
          cpuMsPerRow: median(rs.map((r) => r.cpuMsPerRow)),
          rounds: rs,
        });
      }
    }
    const ceilingOf = (backend: string, batch: number) =>
      ceilingRows.find((c) => c.backend === backend && c.batch === batch)!;

    const serverRows: ServerRow[] = [];
    for (const images of IMAGES) {
      for (const connections of CONNECTIONS) {
        const rps = (name: string, wire: Wire) =>
          median(runs.get(cell(images, connections, name, wire))!.map((r) => r.requestsPerSecond));
        for (const s of servers) {
          for (const wire of s.wires.filter((w) => measured(w, connections))) {
            const rs = runs.get(cell(images, connections, s.name, wire))!;
            const requestsPerSecond = rps(s.name, wire);
            const peerWire = peer.wires.includes(wire) ? wire : 'rest-json';
            // The largest batch the server's batcher can form here: concurrent 1-image requests up to
            // the batch limit; a request of 32 images fills a batch by itself.
            const ceilingBatch =
              images === 1 ? Math.min(connections, MAX_BATCH) : Math.min(images, MAX_BATCH);
            const ceilingBackend = s.backend ?? defaultBackend;
            const of = (k: 'batchRows' | 'predictMs' | 'cpuMsPerRequest' | 'clientCpuMsPerRequest') => {
              const xs = rs.map((r) => r[k]).filter((x): x is number => x !== undefined);
              return xs.length ? median(xs) : undefined;
            };
            const [batchRows, predictMs, cpuMsPerRequest] = [
              of('batchRows'),
              of('predictMs'),
              of('cpuMsPerRequest'),
            ];
            const clientCpuMsPerRequest = of('clientCpuMsPerRequest')!;
            const ceiling = ceilingOf(ceilingBackend, ceilingBatch);
            serverRows.push({
              kind: 'server',
              imagesPerRequest: images,
              connections,
              server: s.name,
              wire,
              backend: s.backend ?? 'numpy',
              requestsPerSecond,
              rowsPerSecond: requestsPerSecond * images,
              latencyP50ms: median(rs.map((r) => r.p50ms)),
              latencyP99ms: median(rs.map((r) => r.p99ms)),
              errors: rs.reduce((sum, r) => sum + r.errors, 0),
              ...(batchRows === undefined ? {} : { meanBatchRows: batchRows }),
              ...(predictMs === undefined ? {} : { predictMs }),
              ...(cpuMsPerRequest === undefined ? {} : { cpuMsPerRequest }),
              clientCpuMsPerRequest,
              clientBound: cpuMsPerRequest !== undefined && clientCpuMsPerRequest >= cpuMsPerRequest,
              peerWire,
              ratioToPeer: requestsPerSecond / rps(PEER, peerWire),
              ceilingBackend,
              ceilingBatch,
              ratioToCeiling: (requestsPerSecond * images) / ceiling.rowsPerSecond,
              ...(cpuMsPerRequest === undefined
                ? {}
                : { cpuRatioToCeiling: cpuMsPerRequest / images / ceiling.cpuMsPerRow }),
              rounds: rs.map(({ errors: _, ...r }) => r),
            });
          }
        }
      }
    }
    for (const c of clients.values()) c.close();
    for (const g of grpcJs.values()) g.close();

    const meta = {
      date: new Date().toISOString(),
      model: 'mnist-mlp (flatten 28x28x1 → dense 512 relu → dense 10 softmax), imageScale 255, profile.json',
      durationSeconds: DURATION,
      rounds: ROUNDS,
      connections: CONNECTIONS,
      imagesPerRequest: IMAGES,
      wires: WIRES_RUN,
      ceilingBatches,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      loadAverages,
      wallSeconds: Math.round((Date.now() - started) / 1000),
      versions: versions(python),
      grpcGenerator: ghz
        ? `ghz ${/ghz-(v[^/]+)\//.exec(ghz)?.[1] ?? '(unknown version)'}`
        : '@grpc/grpc-js closed loops in this process (ghz could not be built)',
      grpcConnections:
        'grpc-typed and grpc-raw at N connections: N HTTP/2 connections, one call in flight on each; grpc-raw-one-channel: N calls in flight on one HTTP/2 connection',
      note: 'Each server is one process on a shared 127.0.0.1 machine; autocannon and the ceiling run in the benchmark process, ghz in its own, all on the same cores. Compare ratios, not absolute numbers.',
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
      '| images/req | conc. | server | wire | req/s | rows/s | p50 ms | p99 ms | errors | rows/batch | predict ms | server CPU ms/req | generator CPU ms/req | vs peer | vs ceiling (rows/s) | CPU/row vs ceiling |',
    );
    console.log('|--:|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
    for (const r of serverRows) {
      const label = r.backend === 'numpy' ? r.server : `${r.server} (${r.backend})`;
      const vsPeer = `${n(r.ratioToPeer, 2)}x${r.peerWire === r.wire ? '' : ` (peer ${r.peerWire})`}`;
      console.log(
        `| ${r.imagesPerRequest} | ${r.connections} | ${label} | ${r.wire} | ${n(r.requestsPerSecond)} | ${n(r.rowsPerSecond)} | ${n(r.latencyP50ms, 2)} | ${n(r.latencyP99ms, 2)} | ${r.errors} | ${opt(r.meanBatchRows, 1)} | ${opt(r.predictMs, 2)} | ${opt(r.cpuMsPerRequest, 2)} | ${n(r.clientCpuMsPerRequest, 2)}${r.clientBound ? ' ⚑' : ''} | ${vsPeer} | ${n(r.ratioToCeiling, 2)}x (${r.ceilingBackend}, batch ${r.ceilingBatch}) | ${r.cpuRatioToCeiling === undefined ? '' : `${n(r.cpuRatioToCeiling, 2)}x`} |`,
      );
    }
    console.log(
      '\n⚑: the load generator used at least as much CPU as the server (2 shared cores): it bounds the run.\n',
    );
    console.log('| in-process ceiling | batch | calls/s | rows/s | p50 ms | p99 ms | CPU ms/row |');
    console.log('|---|--:|--:|--:|--:|--:|--:|');
    for (const c of ceilingRows) {
      console.log(
        `| ${c.backend} | ${c.batch} | ${n(c.callsPerSecond)} | ${n(c.rowsPerSecond)} | ${n(c.latencyP50ms, 2)} | ${n(c.latencyP99ms, 2)} | ${n(c.cpuMsPerRow, 4)} |`,
      );
    }
    console.log(
      `\n${path.relative(REPO, file)}, ${meta.wallSeconds} s, load averages ${JSON.stringify(loadAverages.map((l) => l.map((x) => Number(x.toFixed(1)))))}`,
    );
  } finally {
    for (const c of clients.values()) c.close();
    for (const g of grpcJs.values()) g.close();
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
