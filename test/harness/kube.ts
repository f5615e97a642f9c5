// Helpers for tests that talk to the real API server started by the global setup.
import { readFile } from 'node:fs/promises';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
} from '@kubernetes/client-node';
import yaml from 'js-yaml';

export function testKubeConfig(): KubeConfig {
  const path = process.env.K2K_TEST_KUBECONFIG;
  if (!path)
    throw new Error(
      'K2K_TEST_KUBECONFIG is not set: run the tests through vitest (its global setup starts the control plane)',
    );
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** A fresh namespace per test (generateName), so tests are independent and can run in parallel. */
export async function freshNamespace(kc: KubeConfig, prefix = 'k2k-test-'): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const ns = await core.createNamespace({ body: { metadata: { generateName: prefix } } });
  return ns.metadata!.name!;
}

export async function loadYAML<T = KubernetesObject>(path: string): Promise<T[]> {
  return yaml.loadAll(await readFile(path, 'utf8')).filter(Boolean) as T[];
}

/** The API server's message of a failed call, or undefined when it succeeded. */
export async function rejection(
  call: () => Promise<unknown>,
): Promise<{ code: number; message: string } | undefined> {
  try {
    await call();
    return undefined;
  } catch (err) {
    if (err instanceof ApiException) {
      const body = typeof err.body === 'string' ? safeJSON(err.body) : err.body;
      return { code: err.code, message: String(body?.message ?? err.body) };
    }
    throw err;
  }
}

function safeJSON(text: string) {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}

export function objectApi(kc: KubeConfig) {
  return KubernetesObjectApi.makeApiClient(kc);
}

/** Creates ModelDeployment `name` with `spec` in `namespace`. */
export function createModelDeployment(
  kc: KubeConfig,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
) {
  return kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: 'k2k.dev',
    version: 'v1alpha1',
    plural: 'modeldeployments',
    namespace,
    body: { apiVersion: 'k2k.dev/v1alpha1', kind: 'ModelDeployment', metadata: { name }, spec },
  });
}
