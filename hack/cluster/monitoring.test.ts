import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { LOCAL_PROMETHEUS, MONITORING_SELECTOR_LABELS } from '../../api/monitoring.ts';
import { hackDir } from './binaries.ts';
import { execFileText } from './exec.ts';
import { monitoringKustomization, PROMETHEUS_NAME } from './monitoring.ts';

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}

async function manifests(): Promise<Manifest[]> {
  const kustomization = yaml.load(
    await readFile(join(monitoringKustomization, 'kustomization.yaml'), 'utf8'),
  ) as { resources: string[] };
  const docs = await Promise.all(
    kustomization.resources.map(async (f) =>
      yaml.loadAll(await readFile(join(monitoringKustomization, f), 'utf8')),
    ),
  );
  return docs.flat() as Manifest[];
}

const find = (all: Manifest[], kind: string, name: string) => {
  const m = all.find((x) => x.kind === kind && x.metadata.name === name);
  if (!m) throw new Error(`config/monitoring has no ${kind} ${name}`);
  return m;
};

/** The image references and Prometheus release hack/images/lib.sh derives from versions.sh. */
async function builtImages(): Promise<Record<string, string>> {
  const names = ['PROMETHEUS_OPERATOR_IMAGE', 'PROMETHEUS_CONFIG_RELOADER_IMAGE', 'PROMETHEUS_IMAGE'];
  const out = await execFileText('bash', [
    '-c',
    `source "$1" && printf '%s\\n' ${[...names, 'PROMETHEUS_RELEASE'].map((n) => `"$${n}"`).join(' ')}`,
    'lib',
    join(hackDir, 'images', 'lib.sh'),
  ]);
  const values = out.trim().split('\n');
  return Object.fromEntries([...names, 'PROMETHEUS_RELEASE'].map((n, i) => [n, values[i] ?? '']));
}

describe('config/monitoring', () => {
  it('runs the images hack/images/monitoring.sh builds, tagged with the versions in hack/lib/versions.sh', async () => {
    const [all, built] = await Promise.all([manifests(), builtImages()]);
    const operator = find(all, 'Deployment', 'prometheus-operator').spec as {
      template: { spec: { containers: Array<{ image: string; args: string[] }> } };
    };
    const container = operator.template.spec.containers[0];
    expect(container?.image).toBe(built.PROMETHEUS_OPERATOR_IMAGE);
    expect(container?.args).toContain(
      `--prometheus-config-reloader=${built.PROMETHEUS_CONFIG_RELOADER_IMAGE}`,
    );
    const prometheus = find(all, 'Prometheus', PROMETHEUS_NAME);
    expect(prometheus.spec?.image).toBe(built.PROMETHEUS_IMAGE);
    expect(prometheus.spec?.version).toBe(built.PROMETHEUS_RELEASE);
    expect(prometheus.metadata.namespace).toBe(LOCAL_PROMETHEUS.namespace);
  });

  it('selects ServiceMonitors, PodMonitors and PrometheusRules by MONITORING_SELECTOR_LABELS in every namespace', async () => {
    const spec = find(await manifests(), 'Prometheus', PROMETHEUS_NAME).spec ?? {};
    for (const kind of ['serviceMonitor', 'podMonitor', 'rule']) {
      expect(spec[`${kind}Selector`], kind).toEqual({ matchLabels: MONITORING_SELECTOR_LABELS });
      expect(spec[`${kind}NamespaceSelector`], kind).toEqual({});
    }
  });

  it('labels its own ServiceMonitors so that its Prometheus selects them', async () => {
    const monitors = (await manifests()).filter((m) => m.kind === 'ServiceMonitor');
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual(['k2k-operator', 'prometheus-operator']);
    for (const m of monitors) expect(m.metadata.labels).toMatchObject(MONITORING_SELECTOR_LABELS);
  });

  it('serves Prometheus at the Service LOCAL_PROMETHEUS names', async () => {
    const svc = find(await manifests(), 'Service', LOCAL_PROMETHEUS.service) as Manifest & {
      spec: { ports: Array<{ port: number }> };
    };
    expect(svc.metadata.namespace).toBe(LOCAL_PROMETHEUS.namespace);
    expect(svc.spec.ports.map((p) => p.port)).toEqual([LOCAL_PROMETHEUS.port]);
    expect(LOCAL_PROMETHEUS.url).toBe(
      `http://${LOCAL_PROMETHEUS.service}.${LOCAL_PROMETHEUS.namespace}.svc:${LOCAL_PROMETHEUS.port}`,
    );
  });
});

describe('config/local', () => {
  /** The operator's args as `kubectl kustomize` renders an overlay (what `kubectl apply -k` applies). */
  async function operatorArgs(overlay: string): Promise<string[]> {
    const rendered = yaml.loadAll(
      await execFileText('kubectl', ['kustomize', join(hackDir, '..', 'config', overlay)]),
    );
    const deployment = (rendered as Manifest[]).find(
      (m) => m.kind === 'Deployment' && m.metadata.name === 'k2k-operator',
    );
    const spec = deployment?.spec as
      | { template: { spec: { containers: Array<{ args: string[] }> } } }
      | undefined;
    return spec?.template.spec.containers[0]?.args ?? [];
  }

  it('points the operator at the local cluster’s Prometheus, the URL LOCAL_PROMETHEUS names', async () => {
    expect(await operatorArgs('local')).toContain(`--prometheus-url=${LOCAL_PROMETHEUS.url}`);
  });

  it('leaves config/default without a Prometheus, so that it stays cluster-neutral', async () => {
    expect((await operatorArgs('default')).filter((a) => a.startsWith('--prometheus-url'))).toEqual([]);
  });
});
