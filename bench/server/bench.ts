// Model server benchmark: k2k's server against KServe's Python model server (bench/server/peer.py)
// serving the same artifact over the same Open Inference Protocol REST API, measured in the same
// run on the same machine with autocannon. Reports ratios (k2k / peer), never absolute targets.
//
//   npx tsx bench/server/bench.ts [--duration=10] [--connections=16]
//
// Everything listens on 127.0.0.1. Results go to bench/server/results/<time>.json and stdout.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileURI, openStore } from '../../lib/storage/index.ts';
import { initBackend } from '../../server/model/backend.ts';
import { tabularRows, writeTabularArtifact } from '../../server/test/fixtures.ts';

interface AutocannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number; average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');
const arg = (name: string, dflt: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : dflt;
};
const DURATION = arg('duration', 10);
const CONNECTIONS = arg('connections', 16);
const ROUNDS = arg('rounds', 2);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

interface Started {
  name: string;
  url: string;
  child: ChildProcess;
}

async function waitReady(url: string, child: ChildProcess, log: string[]): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}:\n${log.join('')}`);
    try {
      if ((await fetch(`${url}/v2/models/tiny/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready:\n${log.join('')}`);
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

function body(rows: number[][], id: string): string {
  return JSON.stringify({
    id,
    inputs: [{ name: 'input', shape: [rows.length, 4], datatype: 'FP32', data: rows.flat() }],
  });
}

async function infer(url: string, rows: number[][]): Promise<number[]> {
  const r = await fetch(`${url}/v2/models/tiny/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body(rows, 'check'),
  });
  if (!r.ok) throw new Error(`${url}: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { outputs: Array<{ data: number[] }> }).outputs[0]!.data;
}

async function main(): Promise<void> {
  const python = execFileSync('bash', [path.join(HERE, 'setup.sh')], { encoding: 'utf8' }).trim();
  await initBackend('wasm');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-bench-'));
  const servers: Started[] = [];
  try {
    const uri = await writeTabularArtifact(openStore(), fileURI(dir), 'tiny', '1');
    const k2kEnv = (backend: string, batch: string) => ({
      K2K_MODEL_URI: uri,
      K2K_MODEL_NAME: 'tiny',
      K2K_HOST: '127.0.0.1',
      K2K_LOG_LEVEL: 'warn',
      K2K_BACKEND: backend,
      K2K_MAX_BATCH_SIZE: batch,
    });
    const node = process.execPath;
    const variants: Array<[string, string, string]> = [
      ['k2k', 'auto', '32'], // the defaults: native TensorFlow when available, batches of up to 32 rows
      ['k2k-wasm', 'wasm', '32'],
      ['k2k-wasm-unbatched', 'wasm', '1'],
    ];
    for (const [name, backend, batch] of variants) {
      const port = await freePort();
      servers.push(
        await start(
          name,
          node,
          ['--import', 'tsx', 'server/main.ts'],
          { ...k2kEnv(backend, batch), K2K_PORT: String(port) },
          port,
        ),
      );
    }
    const peerPort = await freePort();
    const peer = await start(
      'kserve-python',
      python,
      [path.join(HERE, 'peer.py')],
      { K2K_BENCH_ARTIFACT_DIR: path.join(dir, 'tiny', '1'), K2K_BENCH_PORT: String(peerPort) },
      peerPort,
    );
    servers.push(peer);

    // Same artifact, same numbers: otherwise the comparison would be meaningless.
    const check = tabularRows(8, 77);
    const want = await infer(peer.url, check);
    for (const s of servers.filter((x) => x !== peer)) {
      const got = await infer(s.url, check);
      const worst = Math.max(...got.map((v, i) => Math.abs(v - want[i]!)));
      if (!(worst < 1e-5)) throw new Error(`${s.name} disagrees with the peer by ${worst}`);
    }

    const scenarios = [
      { name: '1 row per request', rows: tabularRows(1, 1) },
      { name: '32 rows per request', rows: tabularRows(32, 2) },
    ];
    const results: Array<Record<string, unknown>> = [];
    for (const scenario of scenarios) {
      const payload = body(scenario.rows, 'bench');
      const runs = new Map<string, AutocannonResult[]>();
      // Interleave the servers so background load on the shared machine hits them alike.
      for (let round = 0; round < ROUNDS; round++) {
        for (const s of servers) {
          const r = await autocannon({
            url: `${s.url}/v2/models/tiny/infer`,
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: payload,
            connections: CONNECTIONS,
            duration: DURATION,
          });
          runs.set(s.name, [...(runs.get(s.name) ?? []), r]);
        }
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const peer = median(runs.get('kserve-python')!.map((r) => r.requests.average));
      for (const [name, rs] of runs) {
        const rps = median(rs.map((r) => r.requests.average));
        results.push({
          scenario: scenario.name,
          server: name,
          requestsPerSecond: rps,
          rowsPerSecond: rps * scenario.rows.length,
          latencyP50ms: median(rs.map((r) => r.latency.p50)),
          latencyP99ms: median(rs.map((r) => r.latency.p99)),
          errors: rs.reduce((s, r) => s + r.errors + r.timeouts + r.non2xx, 0),
          ratioToPeer: rps / peer,
        });
      }
    }
    const meta = {
      date: new Date().toISOString(),
      durationSeconds: DURATION,
      connections: CONNECTIONS,
      rounds: ROUNDS,
      cpus: os.cpus().length,
      node: process.version,
      note: 'Each server is one process on a shared 127.0.0.1 machine; autocannon runs on the same cores. Compare ratios, not absolute numbers.',
    };
    await mkdir(path.join(HERE, 'results'), { recursive: true });
    await writeFile(
      path.join(HERE, 'results', `${meta.date.replace(/[:.]/g, '-')}.json`),
      `${JSON.stringify({ meta, results }, null, 2)}\n`,
    );
    console.log(`| scenario | server | req/s | rows/s | p50 ms | p99 ms | errors | ratio to peer |`);
    console.log(`|---|---|---|---|---|---|---|---|`);
    for (const r of results) {
      const n = (v: unknown, d = 0) => (v as number).toFixed(d);
      console.log(
        `| ${r.scenario} | ${r.server} | ${n(r.requestsPerSecond)} | ${n(r.rowsPerSecond)} | ${n(r.latencyP50ms, 1)} | ${n(r.latencyP99ms, 1)} | ${r.errors} | ${n(r.ratioToPeer, 2)} |`,
      );
    }
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
