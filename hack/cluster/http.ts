// A minimal HTTPS/HTTP client for health probes and the few API calls the harness makes itself,
// so starting the control plane does not load a Kubernetes client library.
import http from 'node:http';
import https from 'node:https';

export interface TlsAuth {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  /** Skip server verification: only for components' self-signed loopback health endpoints. */
  insecure?: boolean;
}

export interface HttpResponse {
  status: number;
  body: string;
}

export function request(
  url: string,
  opts: TlsAuth & { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<HttpResponse> {
  const u = new URL(url);
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (payload !== undefined) headers['content-type'] = 'application/json';
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((res, rej) => {
    const req = lib.request(
      u,
      {
        method: opts.method ?? 'GET',
        headers,
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        rejectUnauthorized: !opts.insecure,
        timeout: opts.timeoutMs ?? 5000,
        agent: false,
      },
      (resp) => {
        const chunks: Buffer[] = [];
        resp.on('data', (c: Buffer) => chunks.push(c));
        resp.on('end', () =>
          res({ status: resp.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        resp.on('error', rej);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${opts.method ?? 'GET'} ${url} timed out`)));
    req.on('error', rej);
    req.end(payload);
  });
}
