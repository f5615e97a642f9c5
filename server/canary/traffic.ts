// The stable pod's view of the canary: the traffic file (K2K_TRAFFIC_FILE) the operator projects
// from a ConfigMap, re-read every second. A mounted ConfigMap changes without a restart, so a new
// weight reaches every stable pod within the kubelet's sync period and never rolls them.
import { readFile } from 'node:fs/promises';
import type { FastifyBaseLogger } from 'fastify';

export interface Traffic {
  /** http://<canary Service>.<namespace>.svc:80 */
  canaryURL: string;
  /**
   * <canary Service>.<namespace>.svc:8500, its gRPC port. Absent (a file written before gRPC was
   * split): gRPC calls are all answered here.
   */
  canaryGrpcAddress?: string;
  /** Percent of inference requests forwarded to the canary, 0 to 100. */
  weight: number;
}

export const NO_CANARY: Traffic = { canaryURL: '', weight: 0 };

/** host:port or [v6]:port, no scheme: what a gRPC channel is opened to. */
const GRPC_ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

/** The file's content, or why it is not usable (then nothing is forwarded). */
export function parseTraffic(text: string): Traffic | Error {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return new Error(`not JSON: ${(err as Error).message}`);
  }
  const { canaryURL, canaryGrpcAddress, weight } = (raw ?? {}) as Record<string, unknown>;
  if (typeof weight !== 'number' || !(weight >= 0 && weight <= 100)) {
    return new Error(`weight must be a number from 0 to 100, got ${JSON.stringify(weight)}`);
  }
  if (weight === 0) return { canaryURL: typeof canaryURL === 'string' ? canaryURL : '', weight };
  if (typeof canaryURL !== 'string' || !/^http:\/\/[^/]+/.test(canaryURL)) {
    return new Error(`canaryURL must be an http:// URL, got ${JSON.stringify(canaryURL)}`);
  }
  if (canaryGrpcAddress === undefined) return { canaryURL, weight };
  if (typeof canaryGrpcAddress !== 'string' || !GRPC_ADDRESS.test(canaryGrpcAddress)) {
    return new Error(`canaryGrpcAddress must be host:port, got ${JSON.stringify(canaryGrpcAddress)}`);
  }
  return { canaryURL, canaryGrpcAddress, weight };
}

export class TrafficFile {
  private current: Traffic = NO_CANARY;
  private lastText: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    private readonly log: FastifyBaseLogger,
    private readonly onChange: (t: Traffic) => void,
  ) {}

  get traffic(): Traffic {
    return this.current;
  }

  async read(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch {
      text = ''; // no ConfigMap (yet): no canary
    }
    if (text === this.lastText) return;
    this.lastText = text;
    const parsed = text === '' ? NO_CANARY : parseTraffic(text);
    if (parsed instanceof Error) {
      this.log.warn({ file: this.path, error: parsed.message }, 'ignoring the traffic file: no canary split');
      this.current = NO_CANARY;
    } else {
      this.log.info({ file: this.path, ...parsed }, 'canary traffic');
      this.current = parsed;
    }
    this.onChange(this.current);
  }

  start(intervalMs = 1000): void {
    void this.read();
    this.timer = setInterval(() => void this.read(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
