// A typed client of the model server's gRPC services, built from the same .proto files: for the
// tests, the demo and the benchmark. Any client generated from TensorFlow Serving's or KServe's
// own protos talks to the server the same way (the wire contract is the package, names and field
// numbers, which match).
import { type ChannelOptions, credentials, loadPackageDefinition, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { ProtoGrpcType as Apis } from './generated/apis.ts';
import type { ProtoGrpcType as Inference } from './generated/grpc_predict_v2.ts';
import type { ProtoGrpcType as Health } from './generated/health.ts';
import { LOADER_OPTIONS, PROTO_DIR, PROTO_FILES } from './protos.ts';

export type GrpcClients = ReturnType<typeof grpcClients>;

/**
 * Clients of every service at host:port; close() closes them all. `json` unpacks
 * google.protobuf.Any. `options` are the channel's (the benchmark's give each client its own connection).
 */
export function grpcClients(address: string, options: ChannelOptions = {}) {
  const definition = loadSync(
    PROTO_FILES.map((f) => PROTO_DIR + f),
    { ...LOADER_OPTIONS, json: true },
  );
  const proto = loadPackageDefinition(definition) as unknown as Apis & Inference & Health;
  const insecure = credentials.createInsecure();
  const clients = {
    prediction: new proto.tensorflow.serving.PredictionService(address, insecure, options),
    model: new proto.tensorflow.serving.ModelService(address, insecure, options),
    inference: new proto.inference.GRPCInferenceService(address, insecure, options),
    health: new proto.grpc.health.v1.Health(address, insecure, options),
  };
  return {
    ...clients,
    close: () => {
      for (const c of Object.values(clients)) c.close();
    },
  };
}

type Callback<Res> = (err: ServiceError | null, res?: Res) => void;

/** Calls a unary method and resolves with its answer; rejects with the ServiceError (code, details). */
export function call<Req, Res>(
  method: (request: Req, callback: Callback<Res>) => unknown,
  request: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}
