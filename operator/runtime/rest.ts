// A small JSON client for the API server, used where the generated clients get in the way: lists
// and gets whose objects must look exactly like watch events (plain JSON, timestamps as strings),
// subresources of any kind (/status), and leases whose MicroTime fields need six fractional digits.
// Authentication and TLS come from the KubeConfig, so everything client-node supports works here.
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, RuntimeError, RuntimeErrorCode } from './errors.ts';
import { type Priority, RateLimiter, type RateLimitOptions } from './ratelimit.ts';

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

function keepAliveAgent(kc: KubeConfig, url: URL, tls: https.RequestOptions): http.Agent | undefined {
  // A proxy needs client-node's own agent (it tunnels through the proxy); keep it.
  if (kc.getCurrentCluster()?.proxyUrl) return tls.agent instanceof http.Agent ? tls.agent : undefined;
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

export async function kubeRequest<T>(kc: KubeConfig, opts: RequestOptions): Promise<T> {
  const cluster = kc.getCurrentCluster();
  if (!cluster)
    throw new RuntimeError(RuntimeErrorCode.InvalidOptions, 'the kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + opts.path);
  for (const [k, v] of Object.entries(opts.query ?? {}))
    if (v !== undefined) url.searchParams.set(k, String(v));
  const method = opts.method ?? 'GET';
  const reqOpts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(reqOpts);
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const authHeaders = reqOpts.headers as http.OutgoingHttpHeaders | undefined;
  const headers: http.OutgoingHttpHeaders = { ...authHeaders, accept: 'application/json' };
  if (payload !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  const userAgent = userAgents.get(kc);
  if (userAgent) headers['user-agent'] = userAgent;
  const lib = url.protocol === 'https:' ? https : http;
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
