// CPU per request of the gRPC/binary request path's steps before the model, per code version
// (git worktrees), in one process: each tree's own modules are imported and run on the same
// 32-image (or --images) request, in alternating blocks, so a shared machine's load hits every
// version alike. Steps: the protobuf decode of ModelInferRequest as the listener does it (the
// tree's infer-codec.ts when it has one, else proto-loader's deserializer), and the tensor decode
// (decodeNumbers for typed contents, decodeRawTensor for raw bytes).
//
//   npx tsx bench/server/steps.ts --trees=/work/main,. [--images=32] [--blocks=9] [--calls=40]
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { digits, SIDE } from './mnist.ts';
import { payloads } from './requests.ts';

const arg = (name: string, dflt: string) =>
  process.argv.find((x) => x.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const TREES = arg('trees', '.')
  .split(',')
  .map((t) => path.resolve(t));
const IMAGES = Number(arg('images', '32'));
const BLOCKS = Number(arg('blocks', '9'));
const CALLS = Number(arg('calls', '40'));

type Step = () => unknown;
const SPEC = { name: 'input', shape: [-1, SIDE, SIDE, 1], datatype: 'FP32' };

interface Decoded {
  inputs: Array<{ shape: string[]; contents: { fp32_contents: ArrayLike<number> } | null }>;
  raw_input_contents: Buffer[];
}

async function stepsOf(tree: string): Promise<Record<string, Step>> {
  const { loadSync } = (await import(`${tree}/node_modules/@grpc/proto-loader/build/src/index.js`)) as {
    loadSync: (
      files: string[],
      options: object,
    ) => Record<
      string,
      Record<string, { requestSerialize: (r: unknown) => Buffer; requestDeserialize: (b: Buffer) => unknown }>
    >;
  };
  const protos = await import(`${tree}/server/grpc/protos.ts`);
  const raw = await import(`${tree}/server/model/raw-tensor.ts`);
  const method = loadSync(
    protos.PROTO_FILES.map((f: string) => protos.PROTO_DIR + f),
    protos.LOADER_OPTIONS,
  )['inference.GRPCInferenceService']!.ModelInfer!;
  const codec = `${tree}/server/grpc/infer-codec.ts`;
  const decode: (b: Buffer) => unknown = existsSync(codec)
    ? (await import(codec)).decodeModelInferRequest
    : method.requestDeserialize;
  const p = payloads(digits(IMAGES, 700), 'mnist');
  const typedBytes = method.requestSerialize(p.typed);
  const rawBytes = method.requestSerialize(p.rawGrpc);
  const shape = [IMAGES, SIDE, SIDE, 1];
  const typed = decode(typedBytes) as Decoded;
  const rawReq = decode(rawBytes) as Decoded;
  return {
    'protobuf decode, typed fp32_contents': () => decode(typedBytes),
    'protobuf decode, raw_input_contents': () => decode(rawBytes),
    'tensor decode, typed (decodeNumbers)': () =>
      raw.decodeNumbers(SPEC, typed.inputs[0]!.contents!.fp32_contents, 'FP32', shape, 'x'),
    'tensor decode, raw bytes (decodeRawTensor)': () =>
      raw.decodeRawTensor(SPEC, rawReq.raw_input_contents[0]!, 'FP32', shape, 'x'),
  };
}

function cpuMsPerCall(step: Step): number {
  const t0 = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) step();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / 1000 / CALLS;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const versions = new Map<string, Record<string, Step>>();
for (const tree of TREES) versions.set(tree, await stepsOf(tree));
const names = Object.keys(versions.get(TREES[0]!)!);
const times = new Map<string, number[]>();
const load0 = os.loadavg()[0]!;
for (const step of names) for (const [, s] of versions) for (let i = 0; i < 20; i++) s[step]!(); // warm-up (JIT)
for (let b = 0; b < BLOCKS; b++) {
  for (const step of names) {
    for (const [tree, s] of versions) {
      const key = `${step}|${tree}`;
      times.set(key, [...(times.get(key) ?? []), cpuMsPerCall(s[step]!)]);
    }
  }
}
console.log(
  `${IMAGES} images/request; CPU ms per call, median of ${BLOCKS} blocks of ${CALLS} calls, versions alternating; 1-min load ${load0.toFixed(1)} → ${os.loadavg()[0]!.toFixed(1)}`,
);
console.log(`| step | ${TREES.join(' | ')} |`);
console.log(`|---|${TREES.map(() => '--:').join('|')}|`);
for (const step of names) {
  console.log(`| ${step} | ${TREES.map((t) => median(times.get(`${step}|${t}`)!).toFixed(3)).join(' | ')} |`);
}
