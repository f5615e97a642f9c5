// Forwards one inference request to the canary over a keep-alive connection and hands its answer
// back unchanged: a canary error reaches the client as the canary gave it and is never retried on
// stable (the analysis must see it). Only a canary that cannot be reached at all (nothing was
// sent) leaves the request to this pod.
import http from 'node:http';

/** Marks a forwarded request, so a canary never forwards again (a misconfigured loop stops here). */
export const FORWARDED_HEADER = 'k2k-forwarded-from';

/** Headers that describe one connection, not the request (RFC 9110 §7.6.1), or that we recompute. */
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
  'content-length',
]);

/**
 * How long a new connection to the canary may take to open. In a cluster it opens in a
 * millisecond or is refused; a SYN that goes unanswered (a canary Service without endpoints where
 * a firewall drops instead of rejecting, a pod on a dead node) would otherwise hold the request
 * for the whole request timeout after a rollback took the canary away. As for gRPC (2 s to be
 * ready), nothing was sent, so this pod answers.
 */
export const CANARY_CONNECT_TIMEOUT_MS = 2000;
const CONNECT_TIMEOUT = 'K2K_CANARY_CONNECT_TIMEOUT';

/** Codes of a connection that was never made: the canary did not see the request. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  CONNECT_TIMEOUT,
]);

export type Forwarded =
  | { kind: 'answered'; status: number; headers: Record<string, string>; body: Buffer }
  | { kind: 'unreachable'; message: string }
  | { kind: 'failed'; message: string };

export class CanaryClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo' });

  constructor(private readonly timeoutMs: number) {}

  forward(
    base: string,
    request: { method: string; url: string; headers: http.IncomingHttpHeaders },
    body: Buffer,
    from: string,
  ): Promise<Forwarded> {
    return this.send(base, request, body, from, true);
  }

  private send(
    base: string,
    request: { method: string; url: string; headers: http.IncomingHttpHeaders },
    body: Buffer,
    from: string,
    firstTry: boolean,
  ): Promise<Forwarded> {
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (!NOT_FORWARDED.has(name) && value !== undefined) headers[name] = value;
    }
    headers['content-length'] = body.length;
    headers[FORWARDED_HEADER] = from;
    const target = new URL(request.url, base);
    return new Promise((resolve) => {
      const req = http.request(
        target,
        { method: request.method, headers, agent: this.agent, timeout: this.timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const out: Record<string, string> = {};
            for (const name of ['content-type', 'retry-after']) {
              const v = res.headers[name];
              if (typeof v === 'string') out[name] = v;
            }
            resolve({
              kind: 'answered',
              status: res.statusCode ?? 502,
              headers: out,
              body: Buffer.concat(chunks),
            });
          });
          res.on('error', (err) =>
            resolve({ kind: 'failed', message: `the canary's answer broke off: ${err.message}` }),
          );
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`no answer from the canary within ${this.timeoutMs} ms`)),
      );
      req.on('socket', (socket) => {
        if (!socket.connecting) return; // a kept-alive connection
        const timer = setTimeout(() => {
          const err: NodeJS.ErrnoException = new Error(
            `no connection to the canary within ${CANARY_CONNECT_TIMEOUT_MS} ms`,
          );
          err.code = CONNECT_TIMEOUT;
          req.destroy(err);
        }, CANARY_CONNECT_TIMEOUT_MS);
        socket.once('connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (NOT_SENT.has(err.code ?? '')) {
          resolve({ kind: 'unreachable', message: `${target.host}: ${err.code}` });
        } else if (firstTry && req.reusedSocket && err.code === 'ECONNRESET') {
          // The canary closed an idle keep-alive socket as we reused it: the request never
          // reached it (Node's documented race), so sending it once on a fresh socket is safe.
          resolve(this.send(base, request, body, from, false));
        } else {
          resolve({ kind: 'failed', message: `forwarding to the canary failed: ${err.message}` });
        }
      });
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
