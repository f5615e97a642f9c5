// Where a running server's CPU per request goes, below JavaScript: one tree's server/main.ts on the
// MNIST artifact, driven on one wire, with user and system CPU per thread from /proc and, during
// the measured window, any number of tools attached to the server's pid (`{pid}` is replaced):
// perf stat / perf record, strace -c. Node flags for the server (--trace-gc, --perf-basic-prof)
// go in --node-flags. bench/server/README.md ("Finding where the server's time goes") says how to
// read the output.
//
//   npx tsx bench/server/account.ts [--tree=.] [--wire=rest-binary] [--images=32] [--connections=1]
//       [--duration=5] [--warmup=2] [--windows=0] [--ceiling] [--backend=wasm] [--server-cpus=1 --generator-cpus=0] [--node-flags="--trace-gc"] [--attach="perf stat -p {pid}"]...
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURI, openStore } from '../../lib/storage/index.ts';
import { parseMetrics, total } from '../../server/test/fixtures.ts';
import { Ceiling, registerBackends } from './ceiling.ts';
import { digits, writeMnistArtifact } from './mnist.ts';
import { generators, payloads, type Wire } from './requests.ts';
import { type ServerProcess, startServer, stopServer, threadCpuTimes } from './server-process.ts';

const MODEL = 'mnist';
const args = process.argv.slice(2);
const arg = (name: string, dflt: string) =>
  args.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const TREE = path.resolve(arg('tree', '.'));
const WIRE = arg('wire', 'rest-binary') as Wire;
const IMAGES = Number(arg('images', '32'));
const CONNECTIONS = Number(arg('connections', '1'));
const DURATION = Number(arg('duration', '5'));
const WARMUP = Number(arg('warmup', '2'));
/** Windows of --duration seconds measured before the accounted one, each printed: how the CPU per request settles (JIT). */
const WINDOWS = Number(arg('windows', '0'));
/** Scrape /metrics, or leave the server idle (--pause-seconds, default 0.3), before every n-th window (what a measured window starts with). */
const SCRAPE_EVERY = Number(arg('scrape-every', '0'));
const PAUSE_EVERY = Number(arg('pause-every', '0'));
const PAUSE_SECONDS = Number(arg('pause-seconds', '0.3'));
/** After each window, the ceiling (ceiling.ts) for as long, at --images rows per call. */
const WITH_CEILING = args.includes('--ceiling');
const BACKEND = arg('backend', 'wasm');
const NODE_FLAGS = arg('node-flags', '').split(' ').filter(Boolean);
/** taskset CPU lists for the server and for this process (the load generator), e.g. 1 and 0. */
const SERVER_CPUS = arg('server-cpus', '');
const GENERATOR_CPUS = arg('generator-cpus', '');
const ATTACH = args.filter((x) => x.startsWith('--attach=')).map((x) => x.slice('--attach='.length));
// V8's helper threads (concurrent compiler, GC) are named "node" like the main thread.
const threads = (pid: number) =>
  threadCpuTimes(pid, (task, comm) => (task === String(pid) ? 'main (event loop)' : comm));

/** Voluntary and involuntary context switches of the whole process. */
function switches(pid: number): { voluntary: number; involuntary: number } {
  let voluntary = 0;
  let involuntary = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
      voluntary += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
      involuntary += Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // the thread ended
    }
  }
  return { voluntary, involuntary };
}

function total2(
  after: Map<string, { user: number; system: number }>,
  before: Map<string, { user: number; system: number }>,
): number {
  let sum = 0;
  for (const [name, a] of after) {
    const b = before.get(name) ?? { user: 0, system: 0 };
    sum += a.user + a.system - b.user - b.system;
  }
  return sum;
}

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-bench-account-'));
  let server: ServerProcess | undefined;
  try {
    const uri = await writeMnistArtifact(openStore(), fileURI(dir), MODEL, '1');
    if (GENERATOR_CPUS) execFileSync('taskset', ['-a', '-p', '-c', GENERATOR_CPUS, String(process.pid)]);
    server = await startServer(TREE, uri, {
      model: MODEL,
      backend: BACKEND,
      nodeArgs: NODE_FLAGS,
      ...(SERVER_CPUS ? { wrapper: ['taskset', '-c', SERVER_CPUS] } : {}),
    });
    const url = `http://127.0.0.1:${server.port}`;
    const grpcPort = server.grpcPort;
    const pid = server.child.pid!;
    const gen = generators('ghz', `127.0.0.1:${grpcPort}`, url);
    const raw = digits(IMAGES, 700);
    const p = payloads(raw, MODEL);
    let ceiling: Ceiling | undefined;
    if (WITH_CEILING) {
      await registerBackends();
      ceiling = await Ceiling.load(openStore(), uri, BACKEND);
    }
    const metrics = async () => parseMetrics(await (await fetch(`${url}/metrics`)).text());
    // Warm-up in 2-second pieces with a /metrics scrape after each, as the accounted window starts
    // with one: the first scrapes deoptimise request-path functions, and their recompiling is not
    // the steady state.
    for (let left = WARMUP; left > 0; left -= 2) {
      await gen.run(WIRE, p, CONNECTIONS, Math.min(2, left));
      await metrics();
    }
    for (let w = 0; w < WINDOWS; w++) {
      if (SCRAPE_EVERY > 0 && w % SCRAPE_EVERY === SCRAPE_EVERY - 1) {
        console.log(`scraping /metrics before window ${w + 1}`);
        await metrics();
      }
      if (PAUSE_EVERY > 0 && w % PAUSE_EVERY === PAUSE_EVERY - 1) {
        console.log(`idle ${PAUSE_SECONDS} s before window ${w + 1}`);
        await new Promise((r) => setTimeout(r, 1000 * PAUSE_SECONDS));
      }
      const before = threads(pid);
      const run = await gen.run(WIRE, p, CONNECTIONS, DURATION);
      const after = threads(pid);
      const ms = (name: string) => {
        const a = after.get(name) ?? { user: 0, system: 0 };
        const b = before.get(name) ?? { user: 0, system: 0 };
        return ((1000 * (a.user + a.system - b.user - b.system)) / run.requests).toFixed(3);
      };
      // The ceiling right after, in this process, at the batch the server formed: the ratio of
      // two windows a second apart, which a shared machine's changing speed hits alike.
      const c = ceiling ? await ceiling.measure(raw, DURATION) : undefined;
      const serverMs = (1000 * total2(after, before)) / run.requests;
      const vsCeiling = c
        ? `; ceiling ${(c.cpuMsPerRow * IMAGES).toFixed(3)} ms/batch, server ÷ ceiling per row ${(serverMs / (c.cpuMsPerRow * IMAGES)).toFixed(2)}x, rows/s ${((run.requests * IMAGES) / run.seconds / c.rowsPerSecond).toFixed(2)}x`
        : '';
      console.log(
        `window ${w + 1}: ${(run.requests / run.seconds).toFixed(0)} req/s; server CPU ms/req: main ${ms('main (event loop)')}, helper threads ${ms('node')}, all ${serverMs.toFixed(3)}${vsCeiling}; load ${os.loadavg()[0]!.toFixed(2)}`,
      );
    }
    const m0 = await metrics();
    const load0 = os.loadavg()[0]!;
    const tools = ATTACH.map((cmd) =>
      spawn('bash', ['-c', `exec ${cmd.replaceAll('{pid}', String(pid))}`], { stdio: 'inherit' }),
    );
    await new Promise((r) => setTimeout(r, 300)); // let the tools attach
    const t0 = threads(pid);
    const s0 = switches(pid);
    const r = await gen.run(WIRE, p, CONNECTIONS, DURATION);
    const t1 = threads(pid);
    const s1 = switches(pid);
    await Promise.all(
      tools.map(
        (t) =>
          new Promise<void>((resolve) => {
            if (t.exitCode !== null) return resolve();
            t.once('exit', () => resolve());
            t.kill('SIGINT');
          }),
      ),
    );
    const m1 = await metrics();
    const perReq = (s: number) => (1000 * s) / r.requests;
    console.log(
      `${TREE}: ${WIRE}, ${IMAGES} images, ${CONNECTIONS} connections, ${BACKEND}, ${DURATION} s; load ${load0.toFixed(2)} → ${os.loadavg()[0]!.toFixed(2)}`,
    );
    console.log(
      `${r.requests} requests (${(r.requests / r.seconds).toFixed(0)}/s, ${r.errors} errors), generator ${perReq(r.generatorCpuSeconds).toFixed(3)} ms/req`,
    );
    const batches = total(m1, 'k2k_batch_size_rows_count') - total(m0, 'k2k_batch_size_rows_count');
    const rows = total(m1, 'k2k_batch_size_rows_sum') - total(m0, 'k2k_batch_size_rows_sum');
    const predict =
      total(m1, 'k2k_predict_duration_seconds_sum') - total(m0, 'k2k_predict_duration_seconds_sum');
    console.log(
      `rows/batch ${(rows / batches).toFixed(1)}; predict step (wall) ${((1000 * predict) / batches).toFixed(3)} ms/batch`,
    );
    console.log(
      `context switches per request: voluntary ${((s1.voluntary - s0.voluntary) / r.requests).toFixed(2)}, involuntary ${((s1.involuntary - s0.involuntary) / r.requests).toFixed(2)}`,
    );
    console.log('| thread | user ms/req | system ms/req |');
    console.log('|---|--:|--:|');
    let user = 0;
    let system = 0;
    for (const [name, after] of t1) {
      const before = t0.get(name) ?? { user: 0, system: 0 };
      const u = after.user - before.user;
      const s = after.system - before.system;
      if (u + s === 0) continue;
      user += u;
      system += s;
      console.log(`| ${name} | ${perReq(u).toFixed(3)} | ${perReq(s).toFixed(3)} |`);
    }
    console.log(`| all | ${perReq(user).toFixed(3)} | ${perReq(system).toFixed(3)} |`);
    gen.close();
  } finally {
    if (server) await stopServer(server);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
