// A small JSON client for the API server, used where the generated clients get in the way: lists
// and gets whose objects must look exactly like watch events (plain JSON, timestamps as strings),
// subresources of any kind (/status), and leases whose MicroTime fields need six fractional digits.
// Authentication and TLS come from the KubeConfig, so everything client-node supports works here.
import http from 'node:http';
import https from 'node:https';
import { KubeApiError, RuntimeError, RuntimeErrorCode } from './errors.ts';
import { type Priority, RateLimiter, type RateLimitOptions } from './ratelimit.ts';

/**
 * What the runtime needs to reach the API server: its address, and the TLS options and headers
 * that authenticate a request. @kubernetes/client-node's KubeConfig has both; so has
 * loadKubeConfig's (kubeconfig.ts), which does not load the generated client.
 */
export interface KubeConfig {
  getCurrentCluster(): { server: string; proxyUrl?: string } | null;
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
  /** `high` goes ahead of waiting ordinary requests under the client's rate limit (status, leases). */
  priority?: Priority;
}

// One keep-alive agent per KubeConfig. client-node builds a new agent for every request, so each
// request paid a TCP and TLS handshake: at 1,000 objects that was most of the operator's time.
const agents = new WeakMap<KubeConfig, http.Agent>();
const limiters = new WeakMap<KubeConfig, RateLimiter>();
const userAgents = new WeakMap<KubeConfig, string>();
const requestCounters = new WeakMap<KubeConfig, RequestCounter>();

/** What counts kubeRequest's requests: RuntimeMetrics.restRequests. */
export interface RequestCounter {
  inc(labels: { method: string; code: string }): void;
}

/** Sockets kept open per API server: enough for the workers' parallel applies. */
const MAX_SOCKETS = 64;

/** The agent client-node set up to tunnel through the cluster's proxy, if there is one. */
function proxyAgent(kc: KubeConfig, tls: https.RequestOptions): http.Agent | undefined {
  return kc.getCurrentCluster()?.proxyUrl && tls.agent instanceof http.Agent ? tls.agent : undefined;
}

function keepAliveAgent(kc: KubeConfig, url: URL, tls: https.RequestOptions): http.Agent | undefined {
  // A proxy needs client-node's own agent (it tunnels through the proxy); keep it.
  if (kc.getCurrentCluster()?.proxyUrl) return proxyAgent(kc, tls);
  let agent = agents.get(kc);
  if (!agent) {
    const common = { keepAlive: true, maxSockets: MAX_SOCKETS, maxFreeSockets: MAX_SOCKETS };
    agent =
      url.protocol === 'https:'
        ? new https.Agent({
            ...common,
            ca: tls.ca,
            cert: tls.cert,
            key: tls.key,
            pfx: tls.pfx,
            passphrase: tls.passphrase,
            servername: tls.servername,
            ...(tls.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized }),
          })
        : new http.Agent(common);
    agents.set(kc, agent);
  }
  return agent;
}

/**
 * Closes the agent's idle keep-alive connections. A request that heard nothing for its whole
 * timeout most likely went out on a connection that died without a close (a NAT or load balancer
 * dropped its state); the idle ones beside it took the same path, and each would otherwise cost
 * the next request that picks it another full timeout (measured: 4 requests every 30 s, 2 minutes
 * to drain the pool, in test/integration/faults.test.ts). New connections cost a TLS handshake.
 */
function dropIdleSockets(agent: http.Agent): void {
  for (const sockets of Object.values(agent.freeSockets)) for (const s of sockets ?? []) s.destroy();
}

/**
 * Limits the requests kubeRequest sends with `kc` (client-go's QPS and Burst). Without a call,
 * requests are not limited. Returns the limiter, for its pending() count.
 */
export function setRateLimit(kc: KubeConfig, opts: RateLimitOptions): RateLimiter {
  const limiter = new RateLimiter(opts);
  limiters.set(kc, limiter);
  return limiter;
}

/**
 * Counts kubeRequest's requests with `kc` by method and status code, like client-go's
 * rest_client_requests_total: the API server's answers as the operator saw them.
 */
export function countRequests(kc: KubeConfig, counter: RequestCounter): void {
  requestCounters.set(kc, counter);
}

/**
 * The User-Agent of kubeRequest's requests with `kc`. Replicas share one ServiceAccount, so the
 * API server's audit log tells them apart only by this (client-go sets one too; Node sends none).
 */
export function setUserAgent(kc: KubeConfig, userAgent: string): void {
  userAgents.set(kc, userAgent);
}

/** The URL, TLS options and headers (credentials, accept, user agent) of a request to `path`. */
async function prepare(
  kc: KubeConfig,
  path: string,
  query: Record<string, string | number | boolean | undefined> = {},
) {
  const cluster = kc.getCurrentCluster();
  if (!cluster)
    throw new RuntimeError(RuntimeErrorCode.InvalidOptions, 'the kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  const reqOpts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(reqOpts);
  const authHeaders = reqOpts.headers as http.OutgoingHttpHeaders | undefined;
  const headers: http.OutgoingHttpHeaders = { ...authHeaders, accept: 'application/json' };
  const userAgent = userAgents.get(kc);
  if (userAgent) headers['user-agent'] = userAgent;
  return { url, reqOpts, headers, lib: url.protocol === 'https:' ? https : http };
}

export async function kubeRequest<T>(kc: KubeConfig, opts: RequestOptions): Promise<T> {
  const { url, reqOpts, headers, lib } = await prepare(kc, opts.path, opts.query);
  const method = opts.method ?? 'GET';
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  if (payload !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const agent = keepAliveAgent(kc, url, reqOpts);
  await limiters.get(kc)?.acquire(opts.priority);

  const counter = requestCounters.get(kc);
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = lib.request(url, { ...reqOpts, agent, method, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => {
      if (agent) dropIdleSockets(agent);
      req.destroy(new Error(`${method} ${opts.path} timed out after ${timeoutMs}ms`));
    });
    req.on('error', reject);
    req.end(payload);
  });
  const { status, text } = await answer.catch((err: unknown) => {
    counter?.inc({ method, code: 'error' });
    throw err;
  });
  counter?.inc({ method, code: String(status) });

  const parsed = parseJSON(text);
  if (status >= 200 && status < 300) return parsed as T;
  const s = (parsed ?? {}) as { reason?: string; message?: string };
  throw new KubeApiError(
    status,
    s.reason ?? '',
    `${method} ${opts.path}: ${status} ${s.message ?? text.slice(0, 500)}`.trim(),
    parsed ?? text,
  );
}

/** A watch: each event as the API server sends it (one JSON object per line). */
export interface WatchHandlers {
  onEvent(type: string, object: Record<string, unknown>): void;
  /** Called once, when the stream ends: without an error when the server closed it normally. */
  done(err?: unknown): void;
}

/**
 * Opens a watch of `path` and hands each event to `onEvent` as it arrives; only the unfinished
 * line is kept, never the stream's text. Resolves, once the server answered, with a function that
 * closes it. Watches use their own connections: a long-lived one would hold a socket of the
 * keep-alive pool the other requests share.
 */
export async function watchRequest(
  kc: KubeConfig,
  path: string,
  query: Record<string, string | number | boolean | undefined>,
  handlers: WatchHandlers,
): Promise<() => void> {
  const { url, reqOpts, headers, lib } = await prepare(kc, path, { ...query, watch: true });
  let finished = false;
  const done = (err?: unknown) => {
    if (finished) return;
    finished = true;
    handlers.done(err);
  };
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { ...reqOpts, agent: proxyAgent(kc, reqOpts), headers }, (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const s = (parseJSON(text) ?? {}) as { reason?: string; message?: string };
          done(
            new KubeApiError(
              status,
              s.reason ?? '',
              `watch ${path}: ${status} ${s.message ?? text.slice(0, 500)}`,
            ),
          );
        });
        resolve(() => req.destroy());
        return;
      }
      res.setEncoding('utf8');
      let pending = '';
      res.on('data', (chunk: string) => {
        pending += chunk;
        let nl = pending.indexOf('\n');
        while (nl >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (line.trim()) {
            const ev = parseJSON(line) as { type?: string; object?: Record<string, unknown> } | undefined;
            if (!ev?.type || !ev.object)
              return done(new Error(`watch ${path}: not a watch event: ${line.slice(0, 200)}`));
            handlers.onEvent(ev.type, ev.object);
          }
          nl = pending.indexOf('\n');
        }
      });
      res.on('end', () => done());
      res.on('error', done);
      resolve(() => req.destroy());
    });
    req.on('error', (err) => {
      done(err);
      reject(err);
    });
    req.end();
  });
}

function parseJSON(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Where a resource lives: /api/v1 for the core group, /apis/<group>/<version> for the others. */
export function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

export function resourcePath(p: {
  apiVersion: string;
  plural: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}): string {
  let path = groupVersionPath(p.apiVersion);
  if (p.namespace) path += `/namespaces/${encodeURIComponent(p.namespace)}`;
  path += `/${p.plural}`;
  if (p.name) path += `/${encodeURIComponent(p.name)}`;
  if (p.subresource) path += `/${p.subresource}`;
  return path;
}

interface APIResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

// Discovery answers per KubeConfig and apiVersion. A miss is asked again, so a CRD installed after
// the first lookup is found.
const discovery = new WeakMap<KubeConfig, Map<string, APIResource[]>>();

/** The plural name and scope of a kind, from the API server's discovery documents. */
export async function discoverResource(
  kc: KubeConfig,
  apiVersion: string,
  kind: string,
): Promise<{ plural: string; namespaced: boolean }> {
  let byVersion = discovery.get(kc);
  if (!byVersion) {
    byVersion = new Map();
    discovery.set(kc, byVersion);
  }
  const find = (list: APIResource[] | undefined) =>
    list?.find((r) => r.kind === kind && !r.name.includes('/'));
  let found = find(byVersion.get(apiVersion));
  if (!found) {
    const doc = await kubeRequest<{ resources: APIResource[] }>(kc, {
      path: groupVersionPath(apiVersion),
    }).catch((err: unknown) => {
      // A 404 here means the group/version is not served, not that some object is missing.
      if (err instanceof KubeApiError && err.status === 404) return { resources: [] };
      throw err;
    });
    byVersion.set(apiVersion, doc.resources);
    found = find(doc.resources);
  }
  if (!found) {
    throw new RuntimeError(
      RuntimeErrorCode.UnknownResource,
      `the API server serves no kind ${kind} in ${apiVersion}`,
    );
  }
  return { plural: found.name, namespaced: found.namespaced };
}
