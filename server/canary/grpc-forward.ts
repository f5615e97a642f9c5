// Forwards one gRPC inference call to the canary over one long-lived HTTP/2 channel, as bytes: the
// stable pod neither decodes the request nor the answer (the listener hands both over raw,
// grpc/server.ts). The canary's status — an error included — reaches the client as the canary
// gave it and is never retried on stable (the analysis must see it). Only a canary that cannot be
// reached at all (no connection: nothing was sent) leaves the call to this pod, as for REST.
import { Client, connectivityState, credentials, type Deadline, Metadata, status } from '@grpc/grpc-js';
import { FORWARDED_HEADER } from './forward.ts';

/** The canary's error code key (grpc/handler.ts sets it on every status it answers with). */
export const ERROR_CODE_KEY = 'k2k-error-code';

export type GrpcForwarded =
  | { kind: 'answered'; response: Buffer }
  | { kind: 'status'; code: status; details: string; metadata: Metadata }
  | { kind: 'unreachable'; message: string };

/**
 * How long a call waits for a channel that is (re)connecting — the first call, or after the
 * canary closed an idle connection — before this pod answers it itself.
 */
const CONNECT_WAIT_MS = 2_000;

const CHANNEL_OPTIONS = {
  // A canary that comes back is reconnected to within seconds, not grpc-js's default two minutes.
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 5_000,
  // The canary's answers are bounded by its own limits; this pod only passes them on.
  'grpc.max_receive_message_length': -1,
};

/** Metadata grpc-js writes itself on the outgoing call or the returned status. */
const NOT_FORWARDED = ['user-agent', 'content-type', 'grpc-status', 'grpc-message', 'grpc-timeout'];

const raw = (b: Buffer) => b;

function without(metadata: Metadata, keys: readonly string[]): Metadata {
  const copy = metadata.clone();
  for (const key of keys) copy.remove(key);
  return copy;
}

export class GrpcCanaryClient {
  private channel: { address: string; client: Client } | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly from: string,
  ) {}

  async forward(
    address: string,
    path: string,
    request: Buffer,
    metadata: Metadata,
    deadline: Deadline,
  ): Promise<GrpcForwarded> {
    const client = this.clientFor(address);
    if (!(await this.connected(client))) {
      return { kind: 'unreachable', message: `${address}: no connection to the canary` };
    }
    const outgoing = without(metadata, NOT_FORWARDED);
    outgoing.set(FORWARDED_HEADER, this.from);
    const own = Date.now() + this.timeoutMs;
    const callDeadline =
      deadline instanceof Date ? Math.min(deadline.getTime(), own) : Math.min(deadline, own);
    return new Promise((resolve) => {
      client.makeUnaryRequest(
        path,
        raw,
        raw,
        request,
        outgoing,
        { deadline: callDeadline },
        (err, response) => {
          if (!err) {
            resolve({ kind: 'answered', response: response as Buffer });
            return;
          }
          const trailers = without(err.metadata ?? new Metadata(), NOT_FORWARDED);
          if (trailers.get(ERROR_CODE_KEY).length > 0) {
            resolve({ kind: 'status', code: err.code, details: err.details, metadata: trailers });
          } else if (err.code === status.UNAVAILABLE && err.details.startsWith('No connection established')) {
            // The connection went away between the check above and the pick: the call never left.
            resolve({ kind: 'unreachable', message: `${address}: ${err.details}` });
          } else {
            // Not one of the canary handler's answers (a reset, its deadline, grpc-js's own limits):
            // the status stays, marked like REST's 502 CanaryFailed.
            trailers.set(ERROR_CODE_KEY, 'CanaryFailed');
            resolve({
              kind: 'status',
              code: err.code,
              details: `forwarding to the canary failed: ${err.details}`,
              metadata: trailers,
            });
          }
        },
      );
    });
  }

  /** Whether the channel is (or within CONNECT_WAIT_MS becomes) ready to take a call. */
  private async connected(client: Client): Promise<boolean> {
    const channel = client.getChannel();
    const until = Date.now() + CONNECT_WAIT_MS;
    let state = channel.getConnectivityState(true);
    while (state === connectivityState.IDLE || state === connectivityState.CONNECTING) {
      const from = state;
      const changed = await new Promise<boolean>((resolve) =>
        channel.watchConnectivityState(from, until, (err) => resolve(err === undefined)),
      );
      if (!changed) return false;
      state = channel.getConnectivityState(true);
    }
    return state === connectivityState.READY;
  }

  /** One channel, reopened only when the traffic file names another address. */
  private clientFor(address: string): Client {
    if (this.channel?.address !== address) {
      this.channel?.client.close();
      this.channel = { address, client: new Client(address, credentials.createInsecure(), CHANNEL_OPTIONS) };
    }
    return this.channel.client;
  }

  close(): void {
    this.channel?.client.close();
    this.channel = undefined;
  }
}
