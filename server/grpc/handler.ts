// One gRPC method as the REST routes' hooks and error handler treat an HTTP request: counted in
// the request metrics (transport "grpc", the gRPC status name as the code), shed under overload,
// and answered with the gRPC status of its ServeError code (status.ts). A request the protobuf
// decoder could not read arrives marked (server.ts) and is refused as INVALID_ARGUMENT here, where
// it is counted, instead of grpc-js's uncounted INTERNAL.
import { Metadata, type ServerUnaryCall, type sendUnaryData, status } from '@grpc/grpc-js';
import { isServeError, ServeError } from '../errors.ts';
import type { LoadShedder } from '../load-shedding.ts';
import type { Protocol, ServerMetrics } from '../metrics.ts';
import type { ModelHolder } from '../model/holder.ts';
import { GRPC_STATUS, statusName } from './status.ts';

export interface GrpcContext {
  models: ModelHolder;
  metrics: ServerMetrics;
  shedder: LoadShedder;
  log: { error(obj: object, msg: string): void };
}

/** Set on a request whose bytes were not a valid message of the method's request type. */
export const MALFORMED = Symbol('k2k.malformed');
export type Malformed = { [MALFORMED]: Error };

/** What a method may record about its answer. */
export interface Served {
  /** The model version that answered (request series are per version). */
  version?: string;
}

export interface MethodOptions {
  protocol: Protocol;
  endpoint: string;
  /** Model requests are shed under overload; health checks never. */
  shed: boolean;
}

function toServeError(err: unknown): ServeError {
  if (isServeError(err)) return err;
  return new ServeError('Internal', `internal error: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
  });
}

export function unary<Req, Res>(
  ctx: GrpcContext,
  opts: MethodOptions,
  method: (request: Req, served: Served) => Res | Promise<Res>,
) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    const finish = ctx.metrics.startRequest(opts.protocol, 'grpc');
    const served: Served = {};
    // A client that gives up (deadline, cancel) gets no answer: counted as CANCELLED, like REST's 499.
    call.once('cancelled', () => finish(opts.endpoint, statusName(status.CANCELLED), served.version));
    const run = async () => {
      const request = call.request as Req | Malformed;
      if (typeof request === 'object' && request !== null && MALFORMED in request) {
        throw new ServeError(
          'InvalidRequest',
          `the request is not a valid protobuf message: ${request[MALFORMED].message}`,
        );
      }
      if (opts.shed) ctx.shedder.check();
      return method(request as Req, served);
    };
    run().then(
      (response) => {
        callback(null, response);
        finish(opts.endpoint, statusName(status.OK), served.version);
      },
      (err: unknown) => {
        const e = toServeError(err);
        const code = GRPC_STATUS[e.code];
        if (code === status.INTERNAL) ctx.log.error({ err }, 'gRPC request failed');
        const metadata = new Metadata();
        metadata.set('k2k-error-code', e.code);
        // gRPC's retry policies read this pushback; REST's Retry-After says the same.
        if (e.retryAfterSeconds !== undefined) {
          metadata.set('grpc-retry-pushback-ms', String(e.retryAfterSeconds * 1000));
        }
        callback({ code, details: e.message, metadata });
        finish(opts.endpoint, statusName(code), served.version);
      },
    );
  };
}
