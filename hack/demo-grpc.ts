// The demo's gRPC call: the standard health check, then one held-out digit through the Open
// Inference Protocol's ModelInfer with its pixels as raw_input_contents (little-endian FP32), the
// way KServe's and Triton's gRPC clients send tensors.
//   npx tsx hack/demo-grpc.ts <host:port> <model name>
import { call, grpcClients } from '../server/grpc/client.ts';
import { rawFloat32 } from '../server/model/raw-tensor.ts';
import { heldOutDigits } from './demo-digits.ts';

const [target, model] = process.argv.slice(2);
if (!target || !model) {
  console.error('usage: npx tsx hack/demo-grpc.ts <host:port> <model name>');
  process.exit(2);
}
const [digit] = heldOutDigits(1);
const pixels = rawFloat32(Float32Array.from(digit!.pixels));

const grpc = grpcClients(target);
try {
  const health = await call(grpc.health.Check.bind(grpc.health), {
    service: 'inference.GRPCInferenceService',
  });
  const answer = await call(grpc.inference.ModelInfer.bind(grpc.inference), {
    model_name: model,
    inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 28, 28, 1] }],
    raw_input_contents: [pixels],
  });
  const raw = answer.raw_output_contents[0]!;
  const p = Array.from({ length: raw.length / 4 }, (_, i) => raw.readFloatLE(i * 4));
  const predicted = p.indexOf(Math.max(...p));
  console.log(`gRPC ${target}  grpc.health.v1.Health/Check: ${health.status}`);
  console.log(
    `gRPC ${target}  inference.GRPCInferenceService/ModelInfer (raw FP32, version ${answer.model_version}): true ${digit!.label}  predicted ${predicted}  (p=${p[predicted]!.toFixed(3)})`,
  );
} catch (err) {
  console.error(`gRPC ${target}: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  grpc.close();
}
