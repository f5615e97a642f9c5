// The operator's connection to the API server, loaded without @kubernetes/client-node's KubeConfig
// class. Importing that class loads the whole generated client (every API and model class): 86 MB
// of resident memory before the first object is cached (measured: a bare Node 20 is 41 MB, after
// the import 127 MB), more than all the operator's caches hold at 5,000 TrainingJobs. The runtime
// needs only the server's address, its CA and the credentials of a request (ADR 0031).
//
// Read here: a kubeconfig file's current context with a token, a token file or a client
// certificate (inline or as files), and the in-cluster ServiceAccount. A user that runs a command
// or an auth provider for its credentials (exec, auth-provider: cloud logins) is handed to
// client-node, loaded only then: everything client-node supports still works, at its memory cost.
import { existsSync, readFileSync } from 'node:fs';
import type https from 'node:https';
import { homedir } from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { RuntimeError, RuntimeErrorCode } from './errors.ts';
import type { KubeConfig } from './rest.ts';

const IN_CLUSTER_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** How long a token file's contents are used before it is read again (kubelet rotates bound tokens). */
const TOKEN_FILE_TTL_MS = 60_000;

interface Connection {
  server: string;
  ca?: Buffer;
  insecure?: boolean;
  serverName?: string;
  proxyUrl?: string;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  tokenFile?: string;
}

class StaticKubeConfig implements KubeConfig {
  private tokenRead: { token: string; at: number } | undefined;

  constructor(private readonly c: Connection) {}

  getCurrentCluster() {
    return { server: this.c.server, ...(this.c.proxyUrl ? { proxyUrl: this.c.proxyUrl } : {}) };
  }

  async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    if (this.c.ca) opts.ca = this.c.ca;
    if (this.c.cert) opts.cert = this.c.cert;
    if (this.c.key) opts.key = this.c.key;
    if (this.c.serverName) opts.servername = this.c.serverName;
    if (this.c.insecure) opts.rejectUnauthorized = false;
    const token = this.token();
    if (token) opts.headers = { ...opts.headers, Authorization: `Bearer ${token}` };
  }

  private token(): string | undefined {
    if (!this.c.tokenFile) return this.c.token;
    const now = Date.now();
    if (!this.tokenRead || now - this.tokenRead.at > TOKEN_FILE_TTL_MS)
      this.tokenRead = { token: readFileSync(this.c.tokenFile, 'utf8').trim(), at: now };
    return this.tokenRead.token;
  }
}

/**
 * The connection `file` describes (its current context), or with no file, client-go's default:
 * $KUBECONFIG (its first file), ~/.kube/config, else the in-cluster ServiceAccount.
 */
export async function loadKubeConfig(file?: string): Promise<KubeConfig> {
  const chosen = file || process.env.KUBECONFIG?.split(path.delimiter).find(Boolean) || defaultFile();
  if (!chosen) return inCluster();
  const doc = yaml.load(readFileSync(chosen, 'utf8')) as KubeconfigDoc;
  const context = named(doc.contexts, doc['current-context'], 'context', chosen)?.context;
  const cluster = named(doc.clusters, context?.cluster, 'cluster', chosen)?.cluster;
  const user = named(doc.users, context?.user, 'user', chosen)?.user ?? {};
  if (!cluster?.server) throw invalid(`${chosen}: the current context's cluster has no server`);
  if (user.exec || user['auth-provider']) return clientNodeKubeConfig(chosen);
  const dir = path.dirname(chosen);
  const bytes = (data?: string, file?: string) =>
    data ? Buffer.from(data, 'base64') : file ? readFileSync(path.resolve(dir, file)) : undefined;
  return new StaticKubeConfig({
    server: cluster.server,
    ca: bytes(cluster['certificate-authority-data'], cluster['certificate-authority']),
    insecure: cluster['insecure-skip-tls-verify'],
    serverName: cluster['tls-server-name'],
    proxyUrl: cluster['proxy-url'],
    cert: bytes(user['client-certificate-data'], user['client-certificate']),
    key: bytes(user['client-key-data'], user['client-key']),
    token: user.token,
    tokenFile: user.tokenFile ? path.resolve(dir, user.tokenFile) : undefined,
  });
}

function defaultFile(): string | undefined {
  const file = path.join(homedir(), '.kube', 'config');
  return existsSync(file) ? file : undefined;
}

function inCluster(): KubeConfig {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw invalid(
      'no kubeconfig: pass --kubeconfig or set KUBECONFIG, or run in a pod (KUBERNETES_SERVICE_HOST is not set)',
    );
  }
  return new StaticKubeConfig({
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: readFileSync(path.join(IN_CLUSTER_DIR, 'ca.crt')),
    tokenFile: path.join(IN_CLUSTER_DIR, 'token'),
  });
}

async function clientNodeKubeConfig(file: string): Promise<KubeConfig> {
  const { KubeConfig: ClientNodeKubeConfig } = await import('@kubernetes/client-node');
  const kc = new ClientNodeKubeConfig();
  kc.loadFromFile(file);
  return kc;
}

interface KubeconfigDoc {
  'current-context'?: string;
  contexts?: { name: string; context?: { cluster?: string; user?: string } }[];
  clusters?: {
    name: string;
    cluster?: {
      server?: string;
      'certificate-authority'?: string;
      'certificate-authority-data'?: string;
      'insecure-skip-tls-verify'?: boolean;
      'tls-server-name'?: string;
      'proxy-url'?: string;
    };
  }[];
  users?: {
    name: string;
    user?: {
      token?: string;
      tokenFile?: string;
      'client-certificate'?: string;
      'client-certificate-data'?: string;
      'client-key'?: string;
      'client-key-data'?: string;
      exec?: unknown;
      'auth-provider'?: unknown;
    };
  }[];
}

function named<T extends { name: string }>(
  list: T[] | undefined,
  name: string | undefined,
  what: string,
  file: string,
): T | undefined {
  if (name === undefined) return undefined;
  const found = list?.find((e) => e.name === name);
  if (!found) throw invalid(`${file}: no ${what} named ${JSON.stringify(name)}`);
  return found;
}

const invalid = (message: string) => new RuntimeError(RuntimeErrorCode.InvalidOptions, message);
