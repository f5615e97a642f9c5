// CPU per call of writing a ModelInfer answer: proto-loader's serializer (protobufjs fromObject +
// encode) against server/grpc/infer-response-codec.ts, in one process, blocks alternating (median
// of 41 blocks of 200 calls), for the answers k2k gives: raw and typed, 1 and 32 images.
//
//   npx tsx bench/server/encode-step.ts
import type { ModelInferResponse } from '../../server/grpc/generated/inference/ModelInferResponse.ts';
import { encodeModelInferResponse } from '../../server/grpc/infer-response-codec.ts';
import { protoMethod } from '../../server/grpc/protos.ts';
import { outputContents } from '../../server/grpc/tensors.ts';
import { rawOutput } from '../../server/model/raw-tensor.ts';

const serialize = protoMethod<unknown, ModelInferResponse>(
  'inference.GRPCInferenceService',
  'ModelInfer',
).responseSerialize;

function answer(images: number, raw: boolean): ModelInferResponse {
  const values = Float32Array.from({ length: images * 10 }, (_, i) => (i % 10) / 10);
  const output = { name: 'output_0', datatype: 'FP32', shape: [images, 10] };
  return {
    model_name: 'mnist',
    model_version: '1',
    id: 'bench',
    outputs: [raw ? output : { ...output, contents: outputContents('FP32', values) }],
    raw_output_contents: raw ? [rawOutput('FP32', values)] : [],
  };
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log('| answer | proto-loader ms/call | infer-response-codec ms/call |');
console.log('|---|--:|--:|');
for (const [images, raw] of [
  [1, true],
  [1, false],
  [32, true],
  [32, false],
] as const) {
  const m = answer(images, raw);
  const ways = {
    protoLoader: () => serialize(m),
    codec: () => encodeModelInferResponse(m, serialize),
  };
  const times: Record<string, number[]> = { protoLoader: [], codec: [] };
  for (let block = 0; block < 41; block++) {
    for (const [name, f] of Object.entries(ways)) {
      const t0 = cpuMs();
      for (let i = 0; i < 200; i++) f();
      times[name]!.push((cpuMs() - t0) / 200);
    }
  }
  console.log(
    `| ${images} image(s), ${raw ? 'raw' : 'typed'} | ${median(times.protoLoader!).toFixed(4)} | ${median(times.codec!).toFixed(4)} |`,
  );
}
