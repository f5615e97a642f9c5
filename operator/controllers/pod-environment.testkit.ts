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
