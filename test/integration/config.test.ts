// config/ is what platform teams install: it must build with kustomize, pass the real API
// server's validation, and keep the security defaults we promise.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { KubernetesObject, V1ClusterRole, V1Deployment } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const kubectl = (...args: string[]) =>
  run(process.env.K2K_TEST_KUBECTL!, ['--kubeconfig', process.env.K2K_TEST_KUBECONFIG!, ...args], {
    cwd: root,
  });

async function build(dir: string): Promise<KubernetesObject[]> {
  const { stdout } = await kubectl('kustomize', dir);
  return yaml.loadAll(stdout) as KubernetesObject[];
}

describe('config/default', () => {
  it('builds with kustomize and passes the API server’s validation (server-side dry run)', async () => {
    // A dry run creates nothing, so the namespace the other objects go into must exist.
    await kubectl('apply', '--server-side', '-f', 'config/manager/namespace.yaml');
    const { stdout } = await kubectl('apply', '--server-side', '--dry-run=server', '-k', 'config/default');
    expect(stdout).toMatch(/deployment\.apps\/k2k-operator serverside-applied \(server dry run\)/);
    expect(stdout).toMatch(/customresourcedefinition\.apiextensions\.k8s\.io\/trainingjobs\.k2k\.dev/);
  });

  it('runs two operator replicas with leader election, non-root, with a read-only root filesystem', async () => {
    const objects = await build('config/default');
    const deployment = objects.find((o) => o.kind === 'Deployment') as V1Deployment;
    expect(deployment.spec!.replicas).toBe(2);
    const pod = deployment.spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const container = pod.containers[0]!;
    expect(container.args).toContain('--leader-elect=true');
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
  });

  it('grants the operator no wildcard, no Secret access and nothing cluster-admin-like', async () => {
    const objects = await build('config/default');
    const role = objects.find(
      (o) => o.kind === 'ClusterRole' && o.metadata?.name === 'k2k-operator',
    ) as V1ClusterRole;
    expect(role).toBeDefined();
    const bindings = objects.filter((o) => o.kind === 'ClusterRoleBinding') as Array<{
      roleRef: { name: string };
    }>;
    expect(bindings.map((b) => b.roleRef.name)).not.toContain('cluster-admin');
    for (const rule of role.rules ?? []) {
      expect(rule.verbs).not.toContain('*');
      expect(rule.resources).not.toContain('*');
      expect(rule.apiGroups).not.toContain('*');
      expect(rule.resources).not.toContain('secrets');
      expect(rule.verbs).not.toContain('escalate');
      expect(rule.verbs).not.toContain('bind');
    }
  });
});

describe('config/namespaced', () => {
  it('builds with kustomize and passes the API server’s validation (server-side dry run)', async () => {
    await kubectl('apply', '--server-side', '-f', 'config/manager/namespace.yaml');
    await kubectl('create', 'namespace', 'k2k-apps').catch(() => {}); // may exist from an earlier run
    const { stdout } = await kubectl('apply', '--server-side', '--dry-run=server', '-k', 'config/namespaced');
    expect(stdout).toMatch(/role\.rbac\.authorization\.k8s\.io\/k2k-operator serverside-applied/);
  });

  it('grants the operator the ClusterRole’s rules only as a Role in each watched namespace, and watches only those', async () => {
    const [namespaced, cluster] = await Promise.all([build('config/namespaced'), build('config/default')]);
    const named = (objects: KubernetesObject[], kind: string) =>
      objects.filter((o) => o.kind === kind && o.metadata?.name === 'k2k-operator');
    expect(named(namespaced, 'ClusterRole')).toEqual([]);
    expect(named(namespaced, 'ClusterRoleBinding')).toEqual([]);
    const [role] = named(namespaced, 'Role') as V1ClusterRole[];
    expect(role!.metadata!.namespace).toBe('k2k-apps');
    expect(role!.rules).toEqual((named(cluster, 'ClusterRole')[0] as V1ClusterRole).rules);
    const [binding] = named(namespaced, 'RoleBinding') as Array<
      KubernetesObject & { subjects: Array<{ name: string; namespace: string }> }
    >;
    expect(binding!.metadata!.namespace).toBe('k2k-apps');
    expect(binding!.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'k2k-operator', namespace: 'k2k-system' },
    ]);
    const deployment = namespaced.find((o) => o.kind === 'Deployment') as V1Deployment;
    expect(deployment.spec!.template.spec!.containers[0]!.args).toContain('--namespaces=k2k-apps');
  });
});

describe('config/samples', () => {
  it('pass the API server’s validation', async () => {
    for (const file of [
      'trainingjob.yaml',
      'hyperparametersweep.yaml',
      'modeldeployment.yaml',
      'modeldeployment-sweep.yaml',
      'modeldeployment-retraining.yaml',
      'storage-secret.yaml',
    ]) {
      const { stdout } = await kubectl(
        'apply',
        '--dry-run=server',
        '-n',
        'default',
        '-f',
        `config/samples/${file}`,
      );
      expect(stdout).toMatch(/\(server dry run\)/);
    }
  });
});

describe('config/grafana', () => {
  it('ships every dashboard as a ConfigMap the Grafana sidecar loads, accepted by the API server', async () => {
    await kubectl('create', 'namespace', 'monitoring').catch(() => {}); // may exist from an earlier run
    const { stdout } = await kubectl(
      'apply',
      '--server-side',
      '--dry-run=server',
      '-n',
      'monitoring',
      '-k',
      'config/grafana',
    );
    expect(stdout).toMatch(/configmap\/k2k-model-server-dashboard serverside-applied \(server dry run\)/);
    const configMaps = (await build('config/grafana')) as Array<
      KubernetesObject & { data: Record<string, string> }
    >;
    expect(
      configMaps.map((c) => [c.metadata!.name, c.metadata!.labels?.grafana_dashboard, Object.keys(c.data)]),
    ).toEqual([
      ['k2k-model-server-dashboard', '1', ['k2k-model-server.json']],
      ['k2k-operator-dashboard', '1', ['k2k-operator.json']],
    ]);
    for (const c of configMaps)
      for (const json of Object.values(c.data)) expect(JSON.parse(json).uid).toMatch(/^k2k-/);
  });
});
