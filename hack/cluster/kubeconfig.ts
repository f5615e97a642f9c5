// Self-contained kubeconfig files (certificates embedded), so a copied file keeps working.
import { readFile, writeFile } from 'node:fs/promises';
import yaml from 'js-yaml';
import { ControlPlaneError, ControlPlaneErrorCode } from './errors.ts';
import type { CertPair } from './pki.ts';

export type Credentials = { kind: 'cert'; pair: CertPair } | { kind: 'token'; token: string };

const b64 = async (path: string) => (await readFile(path)).toString('base64');

export async function writeKubeconfig(
  path: string,
  opts: { server: string; caCert: string; user: string; credentials: Credentials },
): Promise<void> {
  const user =
    opts.credentials.kind === 'cert'
      ? {
          'client-certificate-data': await b64(opts.credentials.pair.cert),
          'client-key-data': await b64(opts.credentials.pair.key),
        }
      : { token: opts.credentials.token };
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'k2k', cluster: { server: opts.server, 'certificate-authority-data': await b64(opts.caCert) } },
    ],
    users: [{ name: opts.user, user }],
    contexts: [{ name: 'k2k', context: { cluster: 'k2k', user: opts.user } }],
    'current-context': 'k2k',
  };
  await writeFile(path, yaml.dump(config), { mode: 0o600 });
}

/** What a harness-written kubeconfig holds: enough to talk to the apiserver without a client library. */
export interface KubeconfigCluster {
  server: string;
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
}

export async function readKubeconfig(path: string): Promise<KubeconfigCluster> {
  const doc = yaml.load(await readFile(path, 'utf8')) as {
    'current-context'?: string;
    contexts?: Array<{ name: string; context: { cluster: string; user: string } }>;
    clusters?: Array<{ name: string; cluster: { server: string; 'certificate-authority-data'?: string } }>;
    users?: Array<{
      name: string;
      user: { 'client-certificate-data'?: string; 'client-key-data'?: string; token?: string };
    }>;
  };
  const ctx = doc.contexts?.find((c) => c.name === doc['current-context'])?.context;
  const cluster = doc.clusters?.find((c) => c.name === ctx?.cluster)?.cluster;
  const user = doc.users?.find((u) => u.name === ctx?.user)?.user;
  if (!cluster?.server || !cluster['certificate-authority-data'] || !user) {
    throw new ControlPlaneError(
      ControlPlaneErrorCode.BadKubeconfig,
      `${path}: expected a current-context with a server, certificate-authority-data and a user`,
    );
  }
  const buf = (s: string | undefined) => (s ? Buffer.from(s, 'base64') : undefined);
  return {
    server: cluster.server,
    ca: Buffer.from(cluster['certificate-authority-data'], 'base64'),
    cert: buf(user['client-certificate-data']),
    key: buf(user['client-key-data']),
    token: user.token,
  };
}
