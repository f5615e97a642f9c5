// What the operator refuses to touch, against a real kube-apiserver + kube-controller-manager (its
// garbage collector): objects it did not create, specs outside its image and ServiceAccount policy,
// and namespaces it was not told to watch. The operator runs as its own process and ServiceAccount,
// so its RBAC (cluster-wide from config/rbac, or only the Roles of config/namespaced) is tested too.
import { randomBytes } from 'node:crypto';
import {
  AppsV1Api,
  AutoscalingV2Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  RbacAuthorizationV1Api,
  type V1Role,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { Condition, ModelDeployment, TrainingJob } from '../../api/index.ts';
import { eventually } from '../harness/eventually.ts';
import { freshNamespace, loadYAML, testKubeConfig } from '../harness/kube.ts';
import { OPERATOR_NAMESPACE, operatorsPerTest, serviceAccountKubeconfig } from '../harness/operator.ts';

const root = new URL('../../', import.meta.url).pathname;
const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const autoscaling = kc.makeApiClient(AutoscalingV2Api);
const batch = kc.makeApiClient(BatchV1Api);
const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const eventsApi = kc.makeApiClient(EventsV1Api);
const mds = { group: 'k2k.dev', version: 'v1alpha1', plural: 'modeldeployments' };
const tjs = { group: 'k2k.dev', version: 'v1alpha1', plural: 'trainingjobs' };
const URI = 's3://models/mnist/1764037200/';

const operator = operatorsPerTest();

/** A fresh namespace with an operator that watches only it. */
async function namespaceWithOperator(args: string[] = []): Promise<string> {
  const ns = await freshNamespace(kc, 'k2k-own-');
  operator({ identity: `own-${ns}`, namespace: ns, args });
  return ns;
}

const trainingJobSpec = (extra: Record<string, unknown> = {}) => ({
  model: { architecture: 'mnist-mlp' },
  dataset: { format: 'mnist-idx', uri: 's3://datasets/mnist/' },
  output: { uri: 's3://models/' },
  ...extra,
});

const create = (kind: 'TrainingJob' | 'ModelDeployment', namespace: string, name: string, spec: object) =>
  custom.createNamespacedCustomObject({
    ...(kind === 'TrainingJob' ? tjs : mds),
    namespace,
    body: { apiVersion: 'k2k.dev/v1alpha1', kind, metadata: { name }, spec },
  });

const get = async (kind: 'TrainingJob' | 'ModelDeployment', namespace: string, name: string) =>
  (await custom.getNamespacedCustomObject({
    ...(kind === 'TrainingJob' ? tjs : mds),
    namespace,
    name,
  })) as TrainingJob | ModelDeployment;

const conditions = (obj: TrainingJob | ModelDeployment) =>
  Object.fromEntries((obj.status?.conditions ?? []).map((c: Condition) => [c.type, c]));

/** Waits until Ready has `reason`; returns the conditions by type. */
const eventuallyReady = (
  kind: 'TrainingJob' | 'ModelDeployment',
  namespace: string,
  name: string,
  reason: string,
  timeoutMs = 30_000,
) =>
  eventually(
    async () => {
      const c = conditions(await get(kind, namespace, name));
      return c.Ready?.reason === reason ? c : undefined;
    },
    { timeoutMs, what: `${kind} ${namespace}/${name} Ready reason ${reason}` },
  );

const jobsIn = async (namespace: string) =>
  (await batch.listNamespacedJob({ namespace })).items.map((j) => j.metadata!.name);

const warnings = async (namespace: string, reason: string) =>
  (await eventsApi.listNamespacedEvent({ namespace })).items.filter(
    (e) => e.type === 'Warning' && e.reason === reason,
  );

describe('the operator never adopts an object it did not create', () => {
  it('leaves a Service y alone: ModelDeployment y reports Conflict, and deleting it keeps the Service', async () => {
    const ns = await namespaceWithOperator();
    const foreign = await core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: 'y', labels: { app: 'someone-else' } },
        spec: { selector: { app: 'someone-else' }, ports: [{ port: 8000, targetPort: 8000 }] },
      },
    });
    await create('ModelDeployment', ns, 'y', { model: { artifactURI: URI } });

    const c = await eventuallyReady('ModelDeployment', ns, 'y', 'Conflict');
    expect(c.Ready).toMatchObject({ status: 'False' });
    expect(c.Ready!.message).toMatch(/^Service y already exists and is not managed by this ModelDeployment/);
    expect(c.Stalled).toMatchObject({ status: 'True', reason: 'Conflict' });
    expect(c.Reconciling).toMatchObject({ status: 'False' });
    await eventually(async () => (await warnings(ns, 'Conflict')).length > 0, { what: 'a Conflict Warning' });

    const service = await core.readNamespacedService({ namespace: ns, name: 'y' });
    expect(service.metadata!.resourceVersion).toBe(foreign.metadata!.resourceVersion);
    expect(service.metadata!.ownerReferences).toBeUndefined();
    expect(service.spec!.ports).toEqual(foreign.spec!.ports);
    // Nothing that runs or scales was written: a pass stops at the stage that found the foreign
    // Service, and the HPA and Deployment come after it.
    expect((await apps.listNamespacedDeployment({ namespace: ns })).items).toEqual([]);
    expect((await autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace: ns })).items).toEqual([]);

    // A canary that the ModelDeployment does own proves the garbage collector acted on its deletion.
    const md = await get('ModelDeployment', ns, 'y');
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: {
          name: 'canary',
          ownerReferences: [
            { apiVersion: 'k2k.dev/v1alpha1', kind: 'ModelDeployment', name: 'y', uid: md.metadata.uid! },
          ],
        },
      },
    });
    await custom.deleteNamespacedCustomObject({ ...mds, namespace: ns, name: 'y' });
    await eventually(
      async () => {
        const left = await core.listNamespacedConfigMap({
          namespace: ns,
          fieldSelector: 'metadata.name=canary',
        });
        return left.items.length === 0;
      },
      { timeoutMs: 60_000, what: 'garbage collection of the canary' },
    );
    const after = await core.readNamespacedService({ namespace: ns, name: 'y' });
    expect(after.metadata!.resourceVersion).toBe(foreign.metadata!.resourceVersion);
  });

  it('leaves a Role x-trainer alone: TrainingJob x reports Conflict, and runs once the Role is gone', async () => {
    const ns = await namespaceWithOperator();
    const role: V1Role = {
      metadata: { name: 'x-trainer' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
    };
    const foreign = await rbac.createNamespacedRole({ namespace: ns, body: role });
    await create('TrainingJob', ns, 'x', trainingJobSpec());

    const c = await eventuallyReady('TrainingJob', ns, 'x', 'Conflict');
    expect(c.Ready!.message).toMatch(/^Role x-trainer already exists and is not managed by this TrainingJob/);
    expect(c.Stalled).toMatchObject({ status: 'True', reason: 'Conflict' });
    const stored = await rbac.readNamespacedRole({ namespace: ns, name: 'x-trainer' });
    expect(stored.metadata!.resourceVersion).toBe(foreign.metadata!.resourceVersion);
    expect(stored.rules).toEqual(role.rules);
    expect(stored.metadata!.ownerReferences).toBeUndefined();
    expect(await jobsIn(ns)).toEqual([]);
    // No RoleBinding was made either: it would have bound the trainer to someone else's Role.
    expect((await rbac.listNamespacedRoleBinding({ namespace: ns })).items).toEqual([]);

    // No event tells the operator the Role went away: it looks again by itself.
    await rbac.deleteNamespacedRole({ namespace: ns, name: 'x-trainer' });
    await eventually(async () => (await jobsIn(ns)).includes('x'), {
      timeoutMs: 60_000,
      what: 'the Job once the foreign Role is gone',
    });
    const ours = await rbac.readNamespacedRole({ namespace: ns, name: 'x-trainer' });
    expect(ours.metadata!.ownerReferences?.[0]).toMatchObject({
      kind: 'TrainingJob',
      name: 'x',
      controller: true,
    });
    // The Job is applied before the pass publishes its status, so the condition follows it.
    await eventually(async () => conditions(await get('TrainingJob', ns, 'x')).Stalled?.status === 'False', {
      what: 'Stalled False once the Job runs',
    });
  });
});

describe("the operator's image and ServiceAccount policy", () => {
  it('refuses images and ServiceAccounts outside its flags, and creates nothing for them', async () => {
    const ns = await namespaceWithOperator([
      '--allowed-images=registry.example.com/ml/',
      '--allowed-service-accounts=model-server',
    ]);
    await create('TrainingJob', ns, 'miner', trainingJobSpec({ image: 'evil.example.com/miner:1' }));
    await create('ModelDeployment', ns, 'admin', {
      model: { artifactURI: URI },
      serviceAccountName: 'cluster-admin-ish',
    });
    // The operator's own image and a spec without image or account still run: the operator works.
    await create('TrainingJob', ns, 'plain', trainingJobSpec());

    const tj = await eventuallyReady('TrainingJob', ns, 'miner', 'ImageNotAllowed');
    expect(tj.Ready!.message).toContain('spec.image evil.example.com/miner:1 is not allowed');
    expect(tj.Stalled).toMatchObject({ status: 'True', reason: 'ImageNotAllowed' });
    const md = await eventuallyReady('ModelDeployment', ns, 'admin', 'ServiceAccountNotAllowed');
    expect(md.Stalled).toMatchObject({ status: 'True', reason: 'ServiceAccountNotAllowed' });
    await eventually(async () => (await jobsIn(ns)).includes('plain'), { what: 'the Job of plain' });
    await eventually(async () => (await warnings(ns, 'ImageNotAllowed')).length > 0, {
      what: 'an ImageNotAllowed Warning',
    });

    expect(await jobsIn(ns)).toEqual(['plain']);
    expect((await apps.listNamespacedDeployment({ namespace: ns })).items).toEqual([]);
    const accounts = (await core.listNamespacedServiceAccount({ namespace: ns })).items.map(
      (a) => a.metadata!.name,
    );
    expect(accounts).not.toContain('miner-trainer');
    expect(accounts).not.toContain('admin-server');
  });
});

describe('namespaced mode (--namespaces, RBAC from config/namespaced)', () => {
  it('reconciles the listed namespaces with only their Roles, and never touches another namespace', async () => {
    const [a, b, other] = await Promise.all([
      freshNamespace(kc, 'k2k-watched-'),
      freshNamespace(kc, 'k2k-watched-'),
      freshNamespace(kc, 'k2k-unwatched-'),
    ]);
    // A ServiceAccount of its own, with the generated Role in the watched namespaces and no
    // ClusterRole: the operator could not even list the other namespace.
    const account = `k2k-namespaced-${randomBytes(3).toString('hex')}`;
    const kubeconfig = await serviceAccountKubeconfig(
      process.env.K2K_TEST_KUBECONFIG!,
      OPERATOR_NAMESPACE,
      account,
    );
    const [role] = await loadYAML<V1Role>(`${root}config/namespaced/watched-namespace/role.yaml`);
    for (const ns of [a, b]) {
      await rbac.createNamespacedRole({ namespace: ns, body: role! });
      await rbac.createNamespacedRoleBinding({
        namespace: ns,
        body: {
          metadata: { name: 'k2k-operator' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role!.metadata!.name! },
          subjects: [{ kind: 'ServiceAccount', name: account, namespace: OPERATOR_NAMESPACE }],
        },
      });
    }
    await create('TrainingJob', other, 'ignored', trainingJobSpec());
    await create('ModelDeployment', other, 'ignored', { model: { artifactURI: URI } });
    const op = operator({ identity: `namespaced-${a}`, kubeconfig, namespaces: [a, b] });

    await create('TrainingJob', a, 'first', trainingJobSpec());
    await create('ModelDeployment', b, 'first', { model: { artifactURI: URI } });
    await eventually(async () => (await jobsIn(a)).includes('first'), { what: `the Job of first in ${a}` });
    await eventually(async () => ((await get('TrainingJob', a, 'first')) as TrainingJob).status?.phase, {
      what: `the status of first in ${a}`,
    });
    await eventually(async () => (await apps.listNamespacedDeployment({ namespace: b })).items.length === 1, {
      what: `the Deployment in ${b}`,
    });
    // Created after the ignored ones were there for a while: the operator was reconciling during the check.
    await create('TrainingJob', b, 'last', trainingJobSpec());
    await eventually(async () => (await jobsIn(b)).includes('last'), { what: `the Job of last in ${b}` });

    expect((await get('TrainingJob', other, 'ignored')).status).toBeUndefined();
    expect((await get('ModelDeployment', other, 'ignored')).status).toBeUndefined();
    expect(await jobsIn(other)).toEqual([]);
    expect((await apps.listNamespacedDeployment({ namespace: other })).items).toEqual([]);
    expect(op.logs()).not.toMatch(/forbidden/i);
  });
});
