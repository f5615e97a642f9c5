// The gRPC listener: TensorFlow Serving's PredictionService and ModelService, the Open Inference
// Protocol's GRPCInferenceService and the standard grpc.health.v1.Health, on their own port
// (K2K_GRPC_PORT) next to the REST port. Its methods are thin adapters over the same modules as
// the REST routes (protocols/, model/), so validation, batching, drift and metrics are shared.
import { Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import { ServeError } from '../errors.ts';
import { CONNECTION_WINDOW_BYTES, STREAM_WINDOW_BYTES, widenFlowControl } from './flow-control.ts';
import type { HealthHandlers } from './generated/grpc/health/v1/Health.ts';
import { type GrpcContext, MALFORMED, type Received, unary } from './handler.ts';
import { decodeModelInferRequest } from './infer-codec.ts';
import { loadProtos } from './protos.ts';
import { modelService, predictionService } from './tfserving.ts';
import { inferenceService } from './v2.ts';

export interface GrpcSettings {
  /** Largest request message (the REST body limit). */
  maxMessageBytes: number;
  /** A connection with no call for this long is closed. */
  idleTimeoutSeconds: number;
}

const SERVICES = {
  predictionService: 'tensorflow.serving.PredictionService',
  modelService: 'tensorflow.serving.ModelService',
  inferenceService: 'inference.GRPCInferenceService',
  health: 'grpc.health.v1.Health',
} as const;

/** The service names health checks may ask about ("" is the server as a whole). */
const CHECKABLE = new Set<string>([
  '',
  SERVICES.predictionService,
  SERVICES.modelService,
  SERVICES.inferenceService,
]);

/**
 * A service whose requests reach the handler as bytes with a decoder (handler.ts decodes them
 * unless it forwards them to the canary), undecodable ones marked instead of failing inside
 * grpc-js; a Buffer response is the canary's, already encoded, and goes out as it is.
 */
function rawCapable(service: ServiceDefinition): ServiceDefinition {
  return Object.fromEntries(
    Object.entries(service).map(([name, method]) => {
      const deserialize = FAST_DECODERS[method.path] ?? method.requestDeserialize;
      return [
        name,
        {
          ...method,
          requestDeserialize: (bytes: Buffer): Received<unknown> => new ReceivedBytes(bytes, deserialize),
          responseSerialize: (value: unknown) =>
            Buffer.isBuffer(value) ? value : method.responseSerialize(value),
        },
      ];
    }),
  );
}

/** Methods whose requests skip proto-loader's decode-then-copy (infer-codec.ts). */
const FAST_DECODERS: Record<string, (bytes: Buffer) => unknown> = {
  '/inference.GRPCInferenceService/ModelInfer': decodeModelInferRequest,
};

/** A request's bytes and how to decode them (a class, not two closures per call). */
class ReceivedBytes implements Received<unknown> {
  constructor(
    readonly bytes: Buffer,
    private readonly deserialize: (bytes: Buffer) => unknown,
  ) {}

  decode(): unknown {
    try {
      return this.deserialize(this.bytes);
    } catch (err) {
      return { [MALFORMED]: err instanceof Error ? err : new Error(String(err)) };
    }
  }
}

function healthService(ctx: GrpcContext): HealthHandlers {
  return {
    Check: unary(ctx, { protocol: 'health', endpoint: 'grpc_check', shed: false }, (r) => {
      if (!CHECKABLE.has(r.service)) throw new ServeError('RouteNotFound', `no service "${r.service}" here`);
      return { status: ctx.models.ready ? 'SERVING' : 'NOT_SERVING' };
    }),
  };
}

export class GrpcListener {
  private readonly server: Server;
  private bound = false;
  private readonly log: GrpcContext['log'];

  constructor(ctx: GrpcContext, settings: GrpcSettings) {
    this.server = new Server({
      'grpc.max_receive_message_length': settings.maxMessageBytes,
      'grpc.max_connection_idle_ms': settings.idleTimeoutSeconds * 1000,
      // Channelz keeps per-call statistics for a debugging service k2k does not serve (1–2% of a call).
      'grpc.enable_channelz': 0,
    });
    this.log = ctx.log;
    const definition = loadProtos();
    const service = (name: string) => rawCapable(definition[name] as ServiceDefinition);
    this.server.addService(service(SERVICES.predictionService), predictionService(ctx));
    this.server.addService(service(SERVICES.modelService), modelService(ctx));
    this.server.addService(service(SERVICES.inferenceService), inferenceService(ctx));
    this.server.addService(service(SERVICES.health), healthService(ctx));
  }

  /** Binds host:port (0: any free port) and resolves with the port. */
  listen(host: string, port: number): Promise<number> {
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    return new Promise((resolve, reject) => {
      this.server.bindAsync(address, ServerCredentials.createInsecure(), (err, bound) => {
        if (err) {
          reject(err);
          return;
        }
        this.bound = true;
        if (!widenFlowControl(this.server)) {
          this.log.warn(
            { stream: STREAM_WINDOW_BYTES, connection: CONNECTION_WINDOW_BYTES },
            'gRPC: could not widen the HTTP/2 flow-control windows (grpc-js internals changed); batches over gRPC will be smaller',
          );
        }
        resolve(bound);
      });
    });
  }

  /** Stops accepting calls and resolves once the calls in flight are answered. */
  close(): Promise<void> {
    if (!this.bound) return Promise.resolve();
    return new Promise((resolve, reject) =>
      this.server.tryShutdown((err) => (err ? reject(err) : resolve())),
    );
  }
}
