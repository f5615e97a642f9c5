// The wires compared on one k2k server: the same 32-digit Open Inference Protocol request as REST
// JSON, REST with the binary tensor extension, gRPC with typed contents (fp32_contents) and gRPC
// with raw_input_contents, all answered by the same batcher and model. Reports rows/s and the
// server's CPU seconds per 1,000 rows (process_cpu_seconds_total), and the load generator's own CPU,
// because it runs in this process on the same cores: when it is busy, it is what bounds the run.
//
//   npx tsx bench/server/wires.ts [--duration=4] [--rounds=3] [--connections=1,16] [--images=32] [--backend=auto]
//
// Closed loop: `connections` requests in flight, each sent when the previous one was answered;
// every (wire, concurrency) cell runs once per round, rounds interleave them, figures are medians.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileURI, openStore } from '../../lib/storage/index.ts';
import { call, grpcClients } from '../../server/grpc/client.ts';
import { rawFloat32 } from '../../server/model/raw-tensor.ts';
import { parseMetrics, total } from '../../server/test/fixtures.ts';
import { digits, PIXELS, SIDE, writeMnistArtifact } from './mnist.ts';
import { freePort } from './ports.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MODEL = 'mnist';
const arg = (name: string, dflt: string) =>
  process.argv.find((x) => x.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const DURATION = Number(arg('duration', '4'));
const ROUNDS = Number(arg('rounds', '3'));
const CONNECTIONS = arg('connections', '1,16').split(',').map(Number);
const IMAGES = Number(arg('images', '32'));
const BACKEND = arg('backend', 'auto');

/** One request: resolves with the number of output values it got back (a check that it was answered). */
type Send = () => Promise<number>;

function httpPost(
  agent: http.Agent,
  port: number,
  headers: Record<string, string>,
  body: Buffer,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: '127.0.0.1', port, method: 'POST', path: `/v2/models/${MODEL}/infer`, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(Buffer.concat(chunks))
            : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function wires(httpPort: number, grpcPort: number, raw: Float32Array, agent: http.Agent) {
  const n = raw.length / PIXELS;
  const shape = [n, SIDE, SIDE, 1];
  const jsonBody = Buffer.from(
    JSON.stringify({ inputs: [{ name: 'input', shape, datatype: 'FP32', data: Array.from(raw) }] }),
  );
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'input', shape, datatype: 'FP32', parameters: { binary_data_size: raw.length * 4 } }],
      parameters: { binary_data_output: true },
    }),
  );
  const binaryBody = Buffer.concat([header, rawFloat32(raw)]);
  const grpc = grpcClients(`127.0.0.1:${grpcPort}`);
  const infer = grpc.inference.ModelInfer.bind(grpc.inference);
  const values = Array.from(raw);
  const pixels = rawFloat32(raw);
  const table: Record<string, Send> = {
    'rest-json': async () =>
      (
        JSON.parse(
          (await httpPost(agent, httpPort, { 'content-type': 'application/json' }, jsonBody)).toString(),
        ) as { outputs: Array<{ data: number[] }> }
      ).outputs[0]!.data.length,
    'rest-binary': async () => {
      const body = await httpPost(
        agent,
        httpPort,
        {
          'content-type': 'application/octet-stream',
          'inference-header-content-length': String(header.length),
        },
        binaryBody,
      );
      const json = JSON.parse(body.toString('utf8', 0, body.indexOf('}]}') + 3)) as {
        outputs: Array<{ parameters: { binary_data_size: number } }>;
      };
      return json.outputs[0]!.parameters.binary_data_size / 4;
    },
    'grpc-typed': async () =>
      (
        await call(infer, {
          model_name: MODEL,
          inputs: [{ name: 'input', datatype: 'FP32', shape, contents: { fp32_contents: values } }],
        })
      ).outputs[0]!.contents!.fp32_contents.length,
    'grpc-raw': async () =>
      (
        await call(infer, {
          model_name: MODEL,
          inputs: [{ name: 'input', datatype: 'FP32', shape }],
          raw_input_contents: [pixels],
        })
      ).raw_output_contents[0]!.length / 4,
  };
  return { table, close: () => grpc.close() };
}

async function serverCpuSeconds(httpPort: number): Promise<number> {
  const m = parseMetrics(await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text());
  return total(m, 'process_cpu_seconds_total');
}

interface Cell {
  wire: string;
  connections: number;
  rowsPerSecond: number;
  serverCpuSecondsPer1kRows: number;
  clientCpuSecondsPer1kRows: number;
}

/** Runs `send` closed-loop with `connections` in flight for `seconds`; rows/s and CPU per 1k rows. */
async function measure(
  send: Send,
  rowsPerRequest: number,
  connections: number,
  seconds: number,
  httpPort: number,
) {
  const want = rowsPerRequest * 10;
  const deadline = performance.now() + seconds * 1000;
  let requests = 0;
  const cpu0 = await serverCpuSeconds(httpPort);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) {
        const got = await send();
        if (got !== want) throw new Error(`expected ${want} output values, got ${got}`);
        requests++;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const client = process.cpuUsage(client0);
  const cpu = (await serverCpuSeconds(httpPort)) - cpu0;
  const rows = requests * rowsPerRequest;
  return {
    rowsPerSecond: rows / elapsed,
    serverCpuSecondsPer1kRows: (1000 * cpu) / rows,
    clientCpuSecondsPer1kRows: (1000 * (client.user + client.system)) / 1e6 / rows,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-bench-wires-'));
  let child: ChildProcess | undefined;
  try {
    const uri = await writeMnistArtifact(openStore(), fileURI(dir), MODEL, '1');
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      cwd: REPO,
      env: {
        ...process.env,
        K2K_MODEL_URI: uri,
        K2K_PORT: String(httpPort),
        K2K_GRPC_PORT: String(grpcPort),
        K2K_ADMIN_PORT: '0',
        K2K_BACKEND: BACKEND,
        K2K_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    for (let i = 0; ; i++) {
      if (i > 1200) throw new Error('server not ready after 120 s');
      const ok = await fetch(`http://127.0.0.1:${httpPort}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const m = parseMetrics(await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text());
    const backend = m.find((x) => x.name === 'k2k_model_info')?.labels.backend;
    const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(...CONNECTIONS) });
    const { table, close } = wires(httpPort, grpcPort, digits(IMAGES, 0), agent);
    const runs: Record<string, Cell[]> = {};
    for (const send of Object.values(table)) await measure(send, IMAGES, 1, 1, httpPort); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      for (const connections of CONNECTIONS) {
        for (const [wire, send] of Object.entries(table)) {
          const r = await measure(send, IMAGES, connections, DURATION, httpPort);
          const key = `${wire}/${connections}`;
          runs[key] = [...(runs[key] ?? []), { wire, connections, ...r }];
        }
      }
    }
    close();
    agent.destroy();
    console.log(
      `k2k on ${backend}, ${IMAGES} images/request, ${DURATION} s × ${ROUNDS} rounds (medians); CPU seconds per 1,000 rows`,
    );
    console.log('| wire | conc. | rows/s | server CPU s/1k rows | load generator CPU s/1k rows |');
    console.log('|---|--:|--:|--:|--:|');
    for (const cells of Object.values(runs)) {
      const f = (k: keyof Cell) => median(cells.map((c) => c[k] as number));
      console.log(
        `| ${cells[0]!.wire} | ${cells[0]!.connections} | ${Math.round(f('rowsPerSecond')).toLocaleString('en')} | ${f('serverCpuSecondsPer1kRows').toFixed(3)} | ${f('clientCpuSecondsPer1kRows').toFixed(3)} |`,
      );
    }
  } finally {
    child?.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
