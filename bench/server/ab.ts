// A/B of the model server's own CPU per request between code versions (git worktrees), one wire
// at a time: each tree's server/main.ts is started in turn on the same MNIST artifact and driven
// by the same load from this process (a separate process from the server, so the server's CPU is
// its own), rounds alternating A, B, A, B... so background load on a shared machine hits both
// alike. Server CPU comes from /proc/<pid>/stat (no /metrics scrape inside the measured window).
// With --prof=<dir> the servers run under `node --cpu-prof` and write their profiles there
// (bench/server/profile-summary.ts reads them).
//
//   npx tsx bench/server/ab.ts --trees=/work/main,. [--wire=grpc-raw] [--images=1] [--connections=16]
//                              [--duration=5] [--rounds=3] [--backend=wasm] [--generator=grpc-js|ghz] [--prof=dir]
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURI, openStore } from '../../lib/storage/index.ts';
import { parseMetrics, total } from '../../server/test/fixtures.ts';
import { digits, writeMnistArtifact } from './mnist.ts';
import { type Generator, generators, payloads, type Wire } from './requests.ts';
import {
  type CpuTimes,
  cpuTimes,
  type ServerProcess,
  startServer,
  stopServer,
  threadCpuTimes,
} from './server-process.ts';

const MODEL = 'mnist';
const arg = (name: string, dflt: string) =>
  process.argv.find((x) => x.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const TREES = arg('trees', '.')
  .split(',')
  .map((t) => path.resolve(t));
const WIRE = arg('wire', 'grpc-raw') as Wire;
const IMAGES = Number(arg('images', '1'));
const CONNECTIONS = Number(arg('connections', '16'));
const DURATION = Number(arg('duration', '5'));
const ROUNDS = Number(arg('rounds', '3'));
const BACKEND = arg('backend', 'wasm');
const GENERATOR = arg('generator', 'grpc-js') as Generator;
const PROF = process.argv.some((x) => x.startsWith('--prof=')) ? path.resolve(arg('prof', '')) : undefined;
const seconds = (t: CpuTimes) => t.user + t.system;
const cpuSeconds = (pid: number) => seconds(cpuTimes(pid));

/** CPU seconds per thread name: the process's CPU beyond the event loop shows up here. */
const threadCpuSeconds = (pid: number) =>
  new Map([...threadCpuTimes(pid)].map(([name, t]) => [name, seconds(t)] as const));

async function batchCounters(s: ServerProcess) {
  const m = parseMetrics(await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text());
  return { rows: total(m, 'k2k_batch_size_rows_sum'), batches: total(m, 'k2k_batch_size_rows_count') };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-bench-ab-'));
  const results = new Map<string, Array<Record<string, number>>>();
  const loads: number[] = [os.loadavg()[0]!];
  try {
    const uri = await writeMnistArtifact(openStore(), fileURI(dir), MODEL, '1');
    const p = payloads(digits(IMAGES, 700), MODEL);
    for (let round = 0; round < ROUNDS; round++) {
      for (const tree of TREES) {
        // One profile directory per tree: node writes a profile per thread (tsx's loader thread too).
        const prof = PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.join(PROF, path.basename(tree))}`] : [];
        const s = await startServer(tree, uri, { model: MODEL, backend: BACKEND, nodeArgs: prof });
        const gen = generators(GENERATOR, `127.0.0.1:${s.grpcPort}`, `http://127.0.0.1:${s.port}`);
        try {
          await gen.run(WIRE, p, CONNECTIONS, 1); // warm-up
          const before = await batchCounters(s);
          const cpu0 = cpuSeconds(s.child.pid!);
          const threads0 = threadCpuSeconds(s.child.pid!);
          const r = await gen.run(WIRE, p, CONNECTIONS, DURATION);
          const cpu = cpuSeconds(s.child.pid!) - cpu0;
          const threads = [...threadCpuSeconds(s.child.pid!)]
            .map(([name, t]) => [name, (1000 * (t - (threads0.get(name) ?? 0))) / r.requests] as const)
            .filter(([, ms]) => ms > 0)
            .sort((a, b) => b[1] - a[1]);
          const after = await batchCounters(s);
          const row = {
            requestsPerSecond: r.requests / r.seconds,
            serverCpuMsPerRequest: (1000 * cpu) / r.requests,
            generatorCpuMsPerRequest: (1000 * r.generatorCpuSeconds) / r.requests,
            rowsPerBatch: (after.rows - before.rows) / Math.max(1, after.batches - before.batches),
            p50ms: r.p50ms,
            p99ms: r.p99ms,
            errors: r.errors,
          };
          results.set(tree, [...(results.get(tree) ?? []), row]);
          console.error(
            `round ${round + 1} ${tree}: ${JSON.stringify(row)} load ${os.loadavg()[0]!.toFixed(2)}; server CPU ms/req by thread: ${threads.map(([n, ms]) => `${n} ${ms.toFixed(3)}`).join(', ')}`,
          );
        } finally {
          gen.close();
          await stopServer(s);
        }
        loads.push(os.loadavg()[0]!);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  console.log(
    `${WIRE}, ${IMAGES} images/request, ${CONNECTIONS} connections, ${BACKEND}, ${GENERATOR} generator, ${DURATION} s × ${ROUNDS} rounds alternating; 1-min load ${loads.map((l) => l.toFixed(1)).join(' ')}`,
  );
  console.log(
    '| tree | req/s | server CPU ms/req | generator CPU ms/req | rows/batch | latency p50 / p99 ms | each round: server CPU ms/req |',
  );
  console.log('|---|--:|--:|--:|--:|--:|---|');
  for (const [tree, rows] of results) {
    const f = (k: string) => median(rows.map((r) => r[k]!));
    console.log(
      `| ${tree} | ${f('requestsPerSecond').toFixed(0)} | ${f('serverCpuMsPerRequest').toFixed(3)} | ${f('generatorCpuMsPerRequest').toFixed(3)} | ${f('rowsPerBatch').toFixed(1)} | ${f('p50ms').toFixed(3)} / ${f('p99ms').toFixed(3)} | ${rows.map((r) => r.serverCpuMsPerRequest!.toFixed(3)).join(', ')} |`,
    );
  }
}

await main();
