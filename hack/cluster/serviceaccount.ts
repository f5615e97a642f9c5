// Kubeconfigs for ServiceAccounts, so tests can act as an unprivileged workload does.
import { rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ControlPlaneError, ControlPlaneErrorCode } from './errors.ts';
import { request } from './http.ts';
import { readKubeconfig, writeKubeconfig } from './kubeconfig.ts';

/**
 * Writes a kubeconfig that authenticates as ServiceAccount namespace/name with a TokenRequest token
 * (valid one hour), creating the ServiceAccount if it does not exist. The namespace must exist.
 */
export async function serviceAccountKubeconfig(
  adminKubeconfigPath: string,
  namespace: string,
  name: string,
  outPath = join(dirname(adminKubeconfigPath), `sa-${namespace}-${name}.kubeconfig`),
): Promise<string> {
  const admin = await readKubeconfig(adminKubeconfigPath);
  const base = `${admin.server}/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts`;
  const created = await request(base, {
    ...admin,
    method: 'POST',
    body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } },
  });
  if (created.status !== 201 && created.status !== 409) {
    throw new ControlPlaneError(
      ControlPlaneErrorCode.TokenRequestFailed,
      `creating ServiceAccount ${namespace}/${name}: HTTP ${created.status} ${created.body}`,
    );
  }
  const resp = await request(`${base}/${encodeURIComponent(name)}/token`, {
    ...admin,
    method: 'POST',
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  });
  const token =
    resp.status === 201
      ? (JSON.parse(resp.body) as { status?: { token?: string } }).status?.token
      : undefined;
  if (!token) {
    throw new ControlPlaneError(
      ControlPlaneErrorCode.TokenRequestFailed,
      `TokenRequest for ServiceAccount ${namespace}/${name}: HTTP ${resp.status} ${resp.body}`,
    );
  }
  const caPath = `${outPath}.ca.crt`;
  await writeFile(caPath, admin.ca);
  await writeKubeconfig(outPath, {
    server: admin.server,
    caCert: caPath,
    user: `system:serviceaccount:${namespace}:${name}`,
    credentials: { kind: 'token', token },
  });
  await rm(caPath);
  return outPath;
}
