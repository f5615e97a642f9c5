// The .proto files the gRPC listener serves and how they are loaded. The generator of the
// TypeScript types (api/generate.ts, through proto-loader-gen-types) and the server's loader read
// the same list with the same options, so the generated types describe exactly the objects
// @grpc/proto-loader hands the handlers: field names as in the .proto files (keepCase), 64-bit
// integers as strings, enums by name, absent scalars as their defaults, oneofs named.
import { fileURLToPath } from 'node:url';
import type { MethodDefinition } from '@grpc/grpc-js';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';

export const PROTO_DIR = fileURLToPath(new URL('./proto/', import.meta.url));

export const PROTO_FILES = [
  'tensorflow/tensor.proto',
  'tensorflow/example.proto',
  'tensorflow_serving/apis.proto',
  'inference/grpc_predict_v2.proto',
  'grpc/health/v1/health.proto',
] as const;

export const LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

/** proto-loader-gen-types' flags for LOADER_OPTIONS. */
export const GENERATOR_FLAGS = [
  '--keepCase',
  '--longs=String',
  '--enums=String',
  '--defaults',
  '--oneofs',
  '--grpcLib=@grpc/grpc-js',
  '--importFileExtension=.ts',
] as const;

/** The services' definitions as the listener serves them (LOADER_OPTIONS). */
export function loadProtos(): PackageDefinition {
  return loadSync(
    PROTO_FILES.map((f) => PROTO_DIR + f),
    LOADER_OPTIONS,
  );
}

/** One method's definition with proto-loader's (protobufjs's) serializers: the reference the fast codecs are held to. */
export function protoMethod<Req, Res>(service: string, method: string): MethodDefinition<Req, Res> {
  const definition = loadProtos()[service] as unknown as Record<string, MethodDefinition<Req, Res>>;
  const m = definition[method];
  if (!m) throw new Error(`no method ${service}/${method}`);
  return m;
}
