// The install steps of docs/gitops.md, as written, against the real API server: the health checks
// land in argocd-cm under Argo CD's keys, byte for byte the generated scripts, and every key that
// was there before stays.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testKubeConfig } from '../../test/harness/kube.ts';
import { HEALTH_DIR, healthKey } from './files.ts';
import { healthCases } from './states/index.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const FRAGMENT = 'config/argocd/argocd-cm-health.yaml';
// What an Argo CD installation already has in argocd-cm; the install must keep it.
const existing = {
  url: 'https://argocd.example.com',
  'resource.customizations.health.apps_Foo': 'return {}',
};

const expectedScripts = async () =>
  Object.fromEntries(
    await Promise.all(
      [...healthCases().keys()].map(async (kind) => [
        healthKey(kind),
        await readFile(join(root, HEALTH_DIR, kind, 'health.lua'), 'utf8'),
      ]),
    ),
  );

/** The generated health.lua carries a "generated" line first; Argo CD's copy is the script after it. */
const withoutHeader = (scripts: Record<string, string>) =>
  Object.fromEntries(Object.entries(scripts).map(([k, v]) => [k, v.slice(v.indexOf('\n') + 1)]));

describe('installing the health checks (docs/gitops.md)', () => {
  const kc = testKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const kubectl = process.env.K2K_TEST_KUBECTL!;
  const kubeconfig = process.env.K2K_TEST_KUBECONFIG!;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'k2k-argocd-'));
    await core.createNamespace({ body: { metadata: { name: 'argocd' } } }).catch(() => undefined);
    await core.deleteNamespacedConfigMap({ namespace: 'argocd', name: 'argocd-cm' }).catch(() => undefined);
    await core.createNamespacedConfigMap({
      namespace: 'argocd',
      body: { metadata: { name: 'argocd-cm' }, data: existing },
    });
  });

  afterAll(async () => {
    await core.deleteNamespacedConfigMap({ namespace: 'argocd', name: 'argocd-cm' }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('with kubectl patch: adds the three scripts and keeps the keys argocd-cm had', async () => {
    await run(
      kubectl,
      [
        `--kubeconfig=${kubeconfig}`,
        ...['-n', 'argocd', 'patch', 'configmap', 'argocd-cm', '--type', 'merge', '--patch-file', FRAGMENT],
      ],
      { cwd: root },
    );
    const cm = await core.readNamespacedConfigMap({ namespace: 'argocd', name: 'argocd-cm' });
    expect(cm.data).toEqual({ ...existing, ...withoutHeader(await expectedScripts()) });
  });

  it('with kustomize: the file listed under patches merges into argocd-cm', async () => {
    await writeFile(
      join(dir, 'argocd-cm.yaml'),
      yaml.dump({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'argocd-cm', namespace: 'argocd' },
        data: existing,
      }),
    );
    await writeFile(join(dir, 'argocd-cm-health.yaml'), await readFile(join(root, FRAGMENT), 'utf8'));
    await writeFile(
      join(dir, 'kustomization.yaml'),
      'resources:\n  - argocd-cm.yaml\npatches:\n  - path: argocd-cm-health.yaml\n',
    );
    const { stdout } = await run(kubectl, ['kustomize', dir]);
    const cm = yaml.load(stdout) as V1ConfigMap;
    expect(cm.data).toEqual({ ...existing, ...withoutHeader(await expectedScripts()) });
  });
});
