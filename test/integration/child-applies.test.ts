// A reconcile sends a child apply only when the child differs from what k2k wants: the trainer's
// progress reports (one per epoch) must not re-apply four children each, and a child someone else
// changed must still be put back. The operator runs as its own process, watching one namespace,
// so its counters (k2k_child_applies_total, k2k_reconcile_total) count this test's objects only.
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type V1Deployment,
  type V1Job,
  type V1Role,
  type V1ServiceAccount,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainingJob } from '../../api/index.ts';
import { applyStatus } from '../../operator/runtime/index.ts';
import { eventually } from '../harness/eventually.ts';
import { freshNamespace, testKubeConfig } from '../harness/kube.ts';
import {
  installOperatorRBAC,
  OPERATOR_ACCOUNT,
  OPERATOR_NAMESPACE,
  type OperatorProcess,
  probeUrl,
  serviceAccountKubeconfig,
  startOperator,
} from '../harness/operator.ts';
import { suspendedTrainingJob } from '../harness/suspended-trainingjob.ts';

const kc = testKubeConfig();
const custom = kc.makeApiClient(CustomObjectsApi);
const batch = kc.makeApiClient(BatchV1Api);
const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const group = { group: 'k2k.dev', version: 'v1alpha1', plural: 'trainingjobs' };

let operator: OperatorProcess | undefined;
let ns: string;
let metricsUrl: string;

beforeAll(async () => {
  await installOperatorRBAC();
  const operatorKubeconfig = await serviceAccountKubeconfig(
    process.env.K2K_TEST_KUBECONFIG!,
    OPERATOR_NAMESPACE,
    OPERATOR_ACCOUNT,
  );
  ns = await freshNamespace(kc);
  operator = startOperator({ kubeconfig: operatorKubeconfig, identity: 'child-applies', namespace: ns });
  metricsUrl = `${await probeUrl(operator)}/metrics`;
});

afterAll(async () => {
  await operator?.stop();
});

/** The sum of a counter's samples whose labels include all of `labels`. */
async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{(.*)\})? ([0-9.e+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

const applied = (kind?: string) =>
  counter('k2k_child_applies_total', { result: 'applied', ...(kind ? { kind } : {}) });
const reconciles = () => counter('k2k_reconcile_total', { controller: 'trainingjob' });

/** Waits until the operator has reconciled more than `after` times and is idle again. */
async function reconciledPast(after: number): Promise<void> {
  let last = -1;
  await eventually(
    async () => {
      const now = await reconciles();
      const settled = now > after && now === last;
      last = now;
      return settled || undefined;
    },
    { what: `the trainingjob controller to reconcile past ${after} and settle`, intervalMs: 500 },
  );
}

describe('child applies', () => {
  it('sends no child apply for trainer progress reports, and puts back a child someone changed', async () => {
    await custom.createNamespacedCustomObject({
      ...group,
      namespace: ns,
      body: suspendedTrainingJob('quiet'),
    });
    await eventually(async () => (await batch.listNamespacedJob({ namespace: ns })).items[0], {
      what: 'the Job',
    });
    await eventually(
      async () => {
        const tj = (await custom.getNamespacedCustomObject({
          ...group,
          namespace: ns,
          name: 'quiet',
        })) as TrainingJob;
        return tj.status?.phase === 'Suspended' || undefined;
      },
      { what: 'status phase Suspended' },
    );
    await reconciledPast(0);
    // ServiceAccount, Role, RoleBinding and Job, each applied at least once (a second reconcile
    // may run before the child caches hear of the first apply).
    const settled = await applied();
    expect(settled).toBeGreaterThanOrEqual(4);

    // The test plays the trainer: three epochs reported as the trainer does (its field manager, /status).
    for (const epoch of [1, 2, 3]) {
      const before = await reconciles();
      await applyStatus(
        kc,
        {
          apiVersion: 'k2k.dev/v1alpha1',
          kind: 'TrainingJob',
          metadata: { name: 'quiet', namespace: ns },
          status: { progress: { epoch, epochs: 3, metrics: { loss: 1 / epoch } } },
        } as unknown as TrainingJob,
        { fieldManager: 'k2k-trainer', plural: 'trainingjobs' },
      );
      await reconciledPast(before);
    }
    expect(await applied()).toBe(settled);

    // Someone widens the trainer's Role: the operator's Role cache sees it and the Role is applied back.
    const before = await applied('Role');
    await rbac.patchNamespacedRole(
      {
        name: 'quiet-trainer',
        namespace: ns,
        body: [{ op: 'replace', path: '/rules/0/verbs', value: ['get', 'patch', 'update', 'delete'] }],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    const role = await eventually(
      async () => {
        const r = await rbac.readNamespacedRole({ name: 'quiet-trainer', namespace: ns });
        return r.rules?.[0]?.verbs?.length === 2 ? r : undefined;
      },
      { what: 'the Role put back' },
    );
    expect(role.rules![0]!.verbs).toEqual(['get', 'patch']);
    expect(await applied('Role')).toBeGreaterThan(before);
    // ...and nothing else was applied for it.
    expect((await applied()) - (await applied('Role'))).toBe(settled - before);
  });

  // ADR 0016's skip against ADR 0019's resync: a skip compares the desired state with the live child
  // in the cache, so whatever someone changes in a field k2k sets reads as a difference, and the
  // edit's own watch event queues the owner (a resync reads the same cache).
  const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  interface Edit<T> {
    edit: string;
    owner: string;
    /** Makes the edit; resolves to the child as stored. */
    change: () => Promise<T>;
    read: () => Promise<T>;
    restored: (child: T) => boolean;
  }
  const childEdit = <T>(e: Edit<T>) => e as unknown as Edit<unknown>;
  const edits = [
    childEdit({
      edit: 'the rule of the trainer Role removed',
      owner: 'TrainingJob drift',
      change: () =>
        rbac.patchNamespacedRole(
          { name: 'drift-trainer', namespace: ns, body: [{ op: 'remove', path: '/rules/0' }] },
          jsonPatch,
        ),
      read: () => rbac.readNamespacedRole({ name: 'drift-trainer', namespace: ns }),
      restored: (r: V1Role) => r.rules?.length === 1 && r.rules[0]!.verbs.join() === 'get,patch',
    }),
    childEdit({
      // The label is in the operator's informer selector: the Role leaves its cache (a delete event).
      edit: "the trainer Role's managed-by label changed",
      owner: 'TrainingJob drift',
      change: () =>
        rbac.patchNamespacedRole(
          {
            name: 'drift-trainer',
            namespace: ns,
            body: [
              { op: 'replace', path: '/metadata/labels/app.kubernetes.io~1managed-by', value: 'someone' },
            ],
          },
          jsonPatch,
        ),
      read: () => rbac.readNamespacedRole({ name: 'drift-trainer', namespace: ns }),
      restored: (r: V1Role) => r.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'k2k',
    }),
    childEdit({
      edit: 'a label k2k sets on the Job changed',
      owner: 'TrainingJob drift',
      change: () =>
        batch.patchNamespacedJob(
          {
            name: 'drift',
            namespace: ns,
            body: [{ op: 'replace', path: '/metadata/labels/app.kubernetes.io~1name', value: 'other' }],
          },
          jsonPatch,
        ),
      read: () => batch.readNamespacedJob({ name: 'drift', namespace: ns }),
      restored: (j: V1Job) => j.metadata?.labels?.['app.kubernetes.io/name'] === 'k2k-trainer',
    }),
    childEdit({
      edit: "the trainer ServiceAccount's token automount turned on",
      owner: 'TrainingJob drift',
      change: () =>
        core.patchNamespacedServiceAccount(
          {
            name: 'drift-trainer',
            namespace: ns,
            body: [{ op: 'replace', path: '/automountServiceAccountToken', value: true }],
          },
          jsonPatch,
        ),
      read: () => core.readNamespacedServiceAccount({ name: 'drift-trainer', namespace: ns }),
      restored: (a: V1ServiceAccount) => a.automountServiceAccountToken === false,
    }),
    childEdit({
      edit: "the model server's image changed in the Deployment",
      owner: 'ModelDeployment drift',
      change: () =>
        apps.patchNamespacedDeployment(
          {
            name: 'drift',
            namespace: ns,
            body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'evil/server:1' }],
          },
          jsonPatch,
        ),
      read: () => apps.readNamespacedDeployment({ name: 'drift', namespace: ns }),
      restored: (d: V1Deployment) => d.spec?.template.spec?.containers[0]?.image === 'k2k/model-server:test',
    }),
    childEdit({
      edit: "the Deployment's k2k.dev/modeldeployment label removed",
      owner: 'ModelDeployment drift',
      change: () =>
        apps.patchNamespacedDeployment(
          {
            name: 'drift',
            namespace: ns,
            body: [{ op: 'remove', path: '/metadata/labels/k2k.dev~1modeldeployment' }],
          },
          jsonPatch,
        ),
      read: () => apps.readNamespacedDeployment({ name: 'drift', namespace: ns }),
      restored: (d: V1Deployment) => d.metadata?.labels?.['k2k.dev/modeldeployment'] === 'drift',
    }),
  ];

  describe('puts back a child someone changed', () => {
    beforeAll(async () => {
      await custom.createNamespacedCustomObject({
        ...group,
        namespace: ns,
        body: suspendedTrainingJob('drift'),
      });
      await custom.createNamespacedCustomObject({
        group: 'k2k.dev',
        version: 'v1alpha1',
        plural: 'modeldeployments',
        namespace: ns,
        body: {
          apiVersion: 'k2k.dev/v1alpha1',
          kind: 'ModelDeployment',
          metadata: { name: 'drift' },
          spec: {
            model: { artifactURI: 's3://models/drift/1764037200/' },
            storage: { endpoint: 'http://127.0.0.1:9', credentialsSecretRef: { name: 'storage' } },
          },
        },
      });
    });

    for (const { edit, owner, change, read, restored } of edits) {
      it(`when ${edit}`, async () => {
        await eventually(async () => restored(await read()) || undefined, {
          what: `the children of ${owner} as k2k wants them`,
        });
        // The API server's answer is the child as stored: the edit landed.
        expect(restored(await change())).toBe(false);
        await eventually(async () => restored(await read()) || undefined, {
          what: `the operator to undo: ${edit}`,
          timeoutMs: 30_000,
        });
      });
    }
  });
});
