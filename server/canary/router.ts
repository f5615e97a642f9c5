// Which requests a stable pod hands to the canary, for both transports: the traffic file gives the
// weight and the canary's addresses, and each transport keeps its own counter (split.ts), so the
// share is exact per transport — one shared counter would be exact only over the sum, and a mix
// that alternates REST and gRPC could send one of them nothing.
import type { FastifyBaseLogger } from 'fastify';
import type { ServerMetrics, Transport } from '../metrics.ts';
import { CanarySplit } from './split.ts';
import { TrafficFile } from './traffic.ts';

export type ForwardedTransport = Extract<Transport, 'http' | 'grpc'>;

export class CanaryRouter {
  private readonly splits: Record<ForwardedTransport, CanarySplit> = {
    http: new CanarySplit(),
    grpc: new CanarySplit(),
  };
  private readonly file: TrafficFile;

  constructor(path: string, log: FastifyBaseLogger, metrics: ServerMetrics) {
    this.file = new TrafficFile(path, log, (t) => {
      for (const split of Object.values(this.splits)) split.setWeight(t.weight);
      metrics.canaryWeight.set(t.weight);
    });
  }

  /**
   * Where the next inference request of `transport` goes: the canary's address (http://host:port
   * for REST, host:port for gRPC), or undefined to answer it here. A transport the traffic file
   * gives no address for is never split and its counter does not move.
   */
  pick(transport: ForwardedTransport): string | undefined {
    const t = this.file.traffic;
    const target = transport === 'http' ? t.canaryURL : t.canaryGrpcAddress;
    return target && this.splits[transport].next() ? target : undefined;
  }

  start(pollIntervalMs?: number): void {
    this.file.start(pollIntervalMs);
  }

  stop(): void {
    this.file.stop();
  }
}
