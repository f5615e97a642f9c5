// One gRPC method as the REST routes' hooks and error handler treat an HTTP request: counted in
// the request metrics (transport "grpc", the gRPC status name as the code), shed under overload,
// and answered with the gRPC status of its ServeError code (status.ts). A request the protobuf
// decoder could not read arrives marked (server.ts) and is refused as INVALID_ARGUMENT here, where
// it is counted, instead of grpc-js's uncounted INTERNAL. In a stable pod an inference method
// first asks the canary router whether the call is the canary's, and forwards its bytes if so
// (server/canary/, docs/decisions/0029-canary-split-in-the-stable-pods.md).
import { Metadata, type ServerUnaryCall, type sendUnaryData, status } from '@grpc/grpc-js';
import { FORWARDED_HEADER } from '../canary/forward.ts';
import { ERROR_CODE_KEY, type GrpcCanaryClient } from '../canary/grpc-forward.ts';
import type { CanaryRouter } from '../canary/router.ts';
import { isServeError, ServeError } from '../errors.ts';
import type { LoadShedder } from '../load-shedding.ts';
import type { Protocol, ServerMetrics } from '../metrics.ts';
import type { ModelHolder } from '../model/holder.ts';
import { GRPC_STATUS, statusName } from './status.ts';

export interface GrpcContext {
  models: ModelHolder;
  metrics: ServerMetrics;
  shedder: LoadShedder;
  log: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** A stable pod's split (only with a traffic file). */
  canary?: { router: CanaryRouter; client: GrpcCanaryClient };
}

/** Set on a request whose bytes were not a valid message of the method's request type. */
export const MALFORMED = Symbol('k2k.malformed');
export type Malformed = { [MALFORMED]: Error };

/**
 * A request as the listener hands it over (server.ts): its bytes, decoded only when this pod
 * answers it, so a call forwarded to the canary costs a copy, not a parse.
 */
export interface Received<Req> {
  bytes: Buffer;
  decode(): Req | Malformed;
}

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
  /** Inference calls are split with the canary; metadata and health calls never. */
  forward?: boolean;
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
    // The generated handler types describe decoded requests; the listener hands over Received.
    const received = call.request as unknown as Received<Req>;
    const finish = ctx.metrics.startRequest(opts.protocol, 'grpc');
    const served: Served = {};
    let forwarded = false;
    const end = (code: status) => finish(opts.endpoint, statusName(code), served.version, forwarded);
    // A client that gives up (deadline, cancel) gets no answer: counted as CANCELLED, like REST's 499.
    call.once('cancelled', () => end(status.CANCELLED));
    const fail = (err: unknown) => {
      const e = toServeError(err);
      const code = GRPC_STATUS[e.code];
      if (code === status.INTERNAL) ctx.log.error({ err }, 'gRPC request failed');
      const metadata = new Metadata();
      metadata.set(ERROR_CODE_KEY, e.code);
      // gRPC's retry policies read this pushback; REST's Retry-After says the same.
      if (e.retryAfterSeconds !== undefined) {
        metadata.set('grpc-retry-pushback-ms', String(e.retryAfterSeconds * 1000));
      }
      callback({ code, details: e.message, metadata });
      end(code);
    };
    /** The method's response, or the status the canary answered a forwarded call with. */
    const run = async (): Promise<{ response: Res } | { forwarded: status }> => {
      if (opts.shed) ctx.shedder.check();
      const address = opts.forward ? canaryAddress(ctx, call) : undefined;
      if (address !== undefined) {
        forwarded = true; // a call cancelled while at the canary is the canary's too
        const code = await forwardToCanary(ctx, address, call, received.bytes, callback);
        if (code !== undefined) return { forwarded: code };
        forwarded = false;
      }
      const request = received.decode();
      if (typeof request === 'object' && request !== null && MALFORMED in request) {
        throw new ServeError(
          'InvalidRequest',
          `the request is not a valid protobuf message: ${request[MALFORMED].message}`,
        );
      }
      return { response: await method(request as Req, served) };
    };
    run().then((result) => {
      if ('forwarded' in result) {
        end(result.forwarded);
        return;
      }
      callback(null, result.response);
      end(status.OK);
    }, fail);
  };
}

/** The canary's gRPC address when the split picks this call for it. */
function canaryAddress(ctx: GrpcContext, call: ServerUnaryCall<unknown, unknown>): string | undefined {
  if (!ctx.canary || call.metadata.get(FORWARDED_HEADER).length > 0) return undefined; // never twice
  return ctx.canary.router.pick('grpc');
}

/**
 * Forwards the call and answers the client with the canary's answer (raw bytes: the listener
 * passes a Buffer response through) or status. Resolves with that status, or undefined when the
 * canary could not be reached and this pod is to answer.
 */
async function forwardToCanary<Res>(
  ctx: GrpcContext,
  address: string,
  call: ServerUnaryCall<unknown, Res>,
  bytes: Buffer,
  callback: sendUnaryData<Res>,
): Promise<status | undefined> {
  const answer = await ctx.canary!.client.forward(
    address,
    call.getPath(),
    bytes,
    call.metadata,
    call.getDeadline(),
  );
  if (answer.kind === 'unreachable') {
    // Nothing reached the canary: this pod answers, so stable capacity never depends on it.
    ctx.metrics.canaryFallback.inc({ transport: 'grpc' });
    return undefined;
  }
  if (answer.kind === 'answered') {
    callback(null, answer.response as unknown as Res);
    return status.OK;
  }
  callback({ code: answer.code, details: answer.details, metadata: answer.metadata });
  return answer.code;
}
