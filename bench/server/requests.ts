// The benchmark's requests and load generators, shared by bench.ts and ab.ts: the same Open
// Inference Protocol request on every wire, and closed loops that drive a server with it —
// autocannon for REST, and for gRPC either ghz (Go, built by ghz.sh; the standard gRPC load
// generator, far cheaper per call than a JS client) or a loop of @grpc/grpc-js calls in this
// process (the fallback when ghz cannot be built). Every run reports the generator's own CPU, so
// a run the generator bounds can be told from one the server bounds.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { call, grpcClients } from '../../server/grpc/client.ts';
import { PROTO_DIR, protoMethod } from '../../server/grpc/protos.ts';
import { rawFloat32 } from '../../server/model/raw-tensor.ts';
import { quantile } from './ceiling.ts';
import { PIXELS, SIDE } from './mnist.ts';

// "N connections" means N TCP connections on every wire: autocannon opens N HTTP/1.1 connections,
// ghz N HTTP/2 connections with one call in flight on each (clients of their own, like N REST
// clients). `grpc-raw-one-channel` is the other kind of gRPC client: one channel (one HTTP/2
// connection) with N calls in flight on it, as one multi-threaded client process sends them.
export const WIRES = ['rest-json', 'rest-binary', 'grpc-typed', 'grpc-raw', 'grpc-raw-one-channel'] as const;
export type Wire = (typeof WIRES)[number];
export const isGrpc = (wire: Wire) => wire.startsWith('grpc-');

/** The HTTP/2 connections a gRPC wire's `calls` in flight are spread over. */
export const grpcChannels = (wire: Wire, calls: number) => (wire === 'grpc-raw-one-channel' ? 1 : calls);

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const MODEL_INFER = 'inference.GRPCInferenceService/ModelInfer';

/** The same request on every wire: what each sends. */
export function payloads(raw: Float32Array, model: string) {
  const n = raw.length / PIXELS;
  const shape = [n, SIDE, SIDE, 1];
  const header = JSON.stringify({
    inputs: [{ name: 'input', shape, datatype: 'FP32', parameters: { binary_data_size: raw.length * 4 } }],
    parameters: { binary_data_output: true },
  });
  return {
    n,
    model,
    json: JSON.stringify({
      id: 'bench',
      inputs: [{ name: 'input', shape, datatype: 'FP32', data: Array.from(raw) }],
    }),
    binary: {
      headerLength: Buffer.byteLength(header),
      body: Buffer.concat([Buffer.from(header), rawFloat32(raw)]),
    },
    typed: {
      model_name: model,
      inputs: [{ name: 'input', datatype: 'FP32', shape, contents: { fp32_contents: Array.from(raw) } }],
    },
    rawGrpc: {
      model_name: model,
      inputs: [{ name: 'input', datatype: 'FP32', shape }],
      raw_input_contents: [rawFloat32(raw)],
    },
  };
}
export type Payloads = ReturnType<typeof payloads>;

/** A REST wire's headers and body: JSON, or the binary tensor extension. */
export function restRequest(
  wire: Wire,
  p: Payloads,
): { headers: Record<string, string>; body: string | Buffer } {
  if (wire !== 'rest-binary') return { headers: { 'content-type': 'application/json' }, body: p.json };
  return {
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(p.binary.headerLength),
    },
    body: p.binary.body,
  };
}

export interface GrpcOutput {
  outputs: Array<{ contents?: { fp32_contents: number[] } }>;
  raw_output_contents: Buffer[];
}

/** The first output's values, typed or raw (a server may answer either way). */
export function grpcValues(r: GrpcOutput): ArrayLike<number> {
  const raw = r.raw_output_contents[0];
  if (raw && raw.length > 0)
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
  return r.outputs[0]?.contents?.fp32_contents ?? [];
}

export type Infer = (request: unknown) => Promise<GrpcOutput>;

/**
 * ModelInfer through @grpc/grpc-js on one channel to `address`; `own` gives the channel its own
 * connection (grpc-js otherwise shares one between clients of the same address and options).
 */
export function grpcInfer(address: string, own = false): { infer: Infer; close: () => void } {
  const g = grpcClients(address, own ? { 'grpc.use_local_subchannel_pool': 1 } : {});
  const method = g.inference.ModelInfer.bind(g.inference) as never;
  return {
    infer: (request) => call(method, request as never) as Promise<GrpcOutput>,
    close: () => g.close(),
  };
}

/** One run of a generator: what it answered, and the generator's own CPU. */
export interface Run {
  requests: number;
  errors: number;
  seconds: number;
  p50ms: number;
  p99ms: number;
  generatorCpuSeconds: number;
}

/** `connections` closed-loop streams of `send` for `seconds`, in this process (`send` gets the stream's index). */
export async function closedLoop(
  send: (stream: number) => Promise<unknown>,
  connections: number,
  seconds: number,
): Promise<Run> {
  const latencies: number[] = [];
  let errors = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async (_, stream) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await send(stream);
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return {
    requests: latencies.length,
    errors,
    seconds: (performance.now() - start) / 1000,
    p50ms: quantile(latencies, 0.5),
    p99ms: quantile(latencies, 0.99),
    generatorCpuSeconds: (used.user + used.system) / 1e6,
  };
}

interface AutocannonResult {
  requests: { average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult> & {
  on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void;
};

/** autocannon (in this process) on a REST wire. */
export async function autocannonRun(
  url: string,
  wire: Wire,
  p: Payloads,
  connections: number,
  seconds: number,
): Promise<Run> {
  const autocannon = require('autocannon') as Autocannon;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const run = autocannon({
    url: `${url}/v2/models/${p.model}/infer`,
    method: 'POST',
    ...restRequest(wire, p),
    connections,
    duration: seconds,
  });
  const latencies: number[] = [];
  run.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const r = await run;
  const used = process.cpuUsage(cpu);
  return {
    requests: r['2xx'] + r.non2xx,
    errors: r.errors + r.timeouts + r.non2xx,
    seconds: (performance.now() - start) / 1000,
    p50ms: quantile(latencies, 0.5),
    p99ms: quantile(latencies, 0.99),
    generatorCpuSeconds: (used.user + used.system) / 1e6,
  };
}

/** ghz's binary, built once into the cache by ghz.sh; undefined (with the reason logged) when it cannot be built. */
export function ghzBinary(): string | undefined {
  try {
    return execFileSync('bash', [path.join(HERE, 'ghz.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  } catch (err) {
    console.error(`ghz could not be built (${(err as Error).message}); gRPC load comes from grpc-js`);
    return undefined;
  }
}

let serializer: ((request: unknown) => Buffer) | undefined;
/** A ModelInferRequest as protobuf bytes, for ghz's --binary-file. */
function encodeModelInfer(request: unknown): Buffer {
  serializer ??= protoMethod<unknown, unknown>(
    'inference.GRPCInferenceService',
    'ModelInfer',
  ).requestSerialize;
  return serializer(request);
}

interface GhzReport {
  count: number;
  total: number;
  latencyDistribution: Array<{ percentage: number; latency: number }> | null;
  statusCodeDistribution: Record<string, number>;
  errorDistribution: Record<string, number> | null;
}

/**
 * ghz: `calls` workers spread over `channels` HTTP/2 connections, each sending the next call when
 * the previous one is answered. Its CPU (user + system of the child, from bash's `times`) is the
 * generator's.
 */
export async function ghzRun(
  ghz: string,
  address: string,
  request: unknown,
  calls: number,
  channels: number,
  seconds: number,
): Promise<Run> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'k2k-ghz-'));
  try {
    const data = path.join(dir, 'request.bin');
    const out = path.join(dir, 'report.json');
    writeFileSync(data, encodeModelInfer(request));
    const args = [
      '--insecure',
      `--proto=${PROTO_DIR}inference/grpc_predict_v2.proto`,
      `--import-paths=${PROTO_DIR}`,
      `--call=${MODEL_INFER}`,
      '--binary',
      `--binary-file=${data}`,
      `--concurrency=${calls}`,
      `--connections=${channels}`,
      `--duration=${seconds}s`,
      '--format=json',
      `--output=${out}`,
      address,
    ];
    const times = await new Promise<string>((resolve, reject) =>
      execFile('bash', ['-c', '"$0" "$@" </dev/null >/dev/null && times', ghz, ...args], (err, stdout) =>
        err ? reject(err) : resolve(stdout),
      ),
    );
    // `times`: the shell's user/system, then its children's ("0m1.234s 0m0.056s").
    const children = times.trim().split('\n')[1] ?? '';
    const generatorCpuSeconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce(
      (s, m) => s + Number(m[1]) * 60 + Number(m[2]),
      0,
    );
    const report = JSON.parse(readFileSync(out, 'utf8')) as GhzReport;
    const ok = report.statusCodeDistribution.OK ?? 0;
    // The calls in flight when the duration ends fail as ghz closes its own connection (Canceled,
    // or Unavailable "use of closed network connection"): not the server's errors.
    const cancelled =
      (report.statusCodeDistribution.Canceled ?? 0) +
      Object.entries(report.errorDistribution ?? {})
        .filter(([message]) => message.includes('use of closed network connection'))
        .reduce((n, [, count]) => n + count, 0);
    const at = (q: number) =>
      (report.latencyDistribution?.find((d) => d.percentage === q)?.latency ?? Number.NaN) / 1e6;
    return {
      requests: ok,
      errors: report.count - ok - cancelled,
      seconds: report.total / 1e9,
      p50ms: at(50),
      p99ms: at(99),
      generatorCpuSeconds,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type Generator = 'ghz' | 'grpc-js';

/**
 * Drives one server on any wire: autocannon for REST; ghz or grpc-js for gRPC (ghz when asked for
 * and buildable). `generator` says which gRPC generator is in use.
 */
export function generators(want: Generator, grpcAddress: string, url: string) {
  const ghz = want === 'ghz' ? ghzBinary() : undefined;
  const grpcJs = grpcJsGenerator(grpcAddress);
  return {
    grpcGenerator: (ghz ? 'ghz' : 'grpc-js') as Generator,
    run(wire: Wire, p: Payloads, connections: number, seconds: number): Promise<Run> {
      if (!isGrpc(wire)) return autocannonRun(url, wire, p, connections, seconds);
      const request = wire === 'grpc-typed' ? p.typed : p.rawGrpc;
      const channels = grpcChannels(wire, connections);
      if (ghz) return ghzRun(ghz, grpcAddress, request, connections, channels, seconds);
      return grpcJs.run(request, connections, channels, seconds);
    },
    close: () => grpcJs.close(),
  };
}

/**
 * The grpc-js fallback: `calls` closed loops over `channels` channels of their own (channel i
 * carries calls i, i + channels, ...), kept open between runs.
 */
export function grpcJsGenerator(address: string) {
  const pool: Array<ReturnType<typeof grpcInfer>> = [];
  return {
    run(request: unknown, calls: number, channels: number, seconds: number): Promise<Run> {
      while (pool.length < channels) pool.push(grpcInfer(address, true));
      return closedLoop((stream) => pool[stream % channels]!.infer(request), calls, seconds);
    },
    close: () => {
      for (const c of pool.splice(0)) c.close();
    },
  };
}
