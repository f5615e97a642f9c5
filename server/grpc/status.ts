// Every ServeError code's gRPC status, so a client branches on the same meaning over either
// transport: the client's mistakes are INVALID_ARGUMENT, what is not here NOT_FOUND, a server
// without a model UNAVAILABLE (retry elsewhere), a server at its limits RESOURCE_EXHAUSTED.
import { status } from '@grpc/grpc-js';
import type { ServeErrorCode } from '../errors.ts';

export const GRPC_STATUS = {
  InvalidRequest: status.INVALID_ARGUMENT,
  InvalidShape: status.INVALID_ARGUMENT,
  InvalidDatatype: status.INVALID_ARGUMENT,
  InvalidValue: status.INVALID_ARGUMENT,
  InvalidInput: status.INVALID_ARGUMENT,
  InvalidOutput: status.INVALID_ARGUMENT,
  InvalidJSON: status.INVALID_ARGUMENT,
  NestingTooDeep: status.INVALID_ARGUMENT,
  UnsupportedMediaType: status.INVALID_ARGUMENT,
  Unsupported: status.UNIMPLEMENTED,
  ModelNotFound: status.NOT_FOUND,
  VersionNotFound: status.NOT_FOUND,
  RouteNotFound: status.NOT_FOUND,
  BodyTooLarge: status.RESOURCE_EXHAUSTED,
  TooManyElements: status.RESOURCE_EXHAUSTED,
  TooManyRows: status.RESOURCE_EXHAUSTED,
  Overloaded: status.RESOURCE_EXHAUSTED,
  PredictFailed: status.INTERNAL,
  // A canary that took the call and gave no answer of its own (REST's 502): like a bad gateway.
  CanaryFailed: status.UNAVAILABLE,
  ReloadFailed: status.INTERNAL,
  Internal: status.INTERNAL,
  ModelNotReady: status.UNAVAILABLE,
  ShuttingDown: status.UNAVAILABLE,
} as const satisfies Record<ServeErrorCode, status>;

/** The status's name (OK, INVALID_ARGUMENT, …): the code label of gRPC requests in the metrics. */
export function statusName(code: status): string {
  return status[code] ?? String(code);
}
