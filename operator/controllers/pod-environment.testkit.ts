// What a program in a pod the operator builds finds in its environment: the container's variables,
// with the storage credentials Secret mounted the way the kubelet would (its keys as files in a
// directory). Contract tests feed this to the program's own loader.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';

export function podEnvironment(
  pod: V1PodSpec,
  container: V1Container,
  secrets: Record<string, Record<string, string>> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value === undefined) throw new Error(`${e.name} is not a plain value`);
    env[e.name] = e.value;
  }
  for (const mount of container.volumeMounts ?? []) {
    const secretName = pod.volumes?.find((v) => v.name === mount.name)?.secret?.secretName;
    if (!secretName) continue;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'k2k-secret-'));
    for (const [key, value] of Object.entries(secrets[secretName] ?? {}))
      writeFileSync(path.join(dir, key), value);
    // The program finds the Secret where the mount put it.
    for (const [name, value] of Object.entries(env)) if (value === mount.mountPath) env[name] = dir;
  }
  return env;
}

/** The credentials Secret "creds" the storage cases refer to. */
export const STORAGE_SECRETS = {
  creds: { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI' },
};

/** spec.storage blocks and the options lib/storage must read from the pod they configure. */
export const STORAGE_CASES = [
  {
    name: 'reads endpoint, region, path style and the mounted credentials',
    storage: {
      endpoint: 'http://s3.local:9000',
      region: 'eu-1',
      forcePathStyle: false,
      credentialsSecretRef: { name: 'creds' },
    },
    options: {
      endpoint: 'http://s3.local:9000',
      region: 'eu-1',
      forcePathStyle: false,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI' },
    },
  },
  {
    name: 'reads the default region and path style and no credentials without a Secret',
    storage: {},
    options: { region: 'us-east-1', forcePathStyle: true },
  },
  {
    name: 'reads virtual-hosted addressing for AWS S3 itself',
    storage: { region: 'eu-west-3', forcePathStyle: false },
    options: { region: 'eu-west-3', forcePathStyle: false },
  },
  { name: 'reads no storage settings without spec.storage', storage: undefined, options: {} },
];
