// The control-plane harness itself: each component of hack/cluster/controlplane.ts does its job
// against real processes (the admin kubeconfig comes from test/harness/global-setup.ts).
import {
  AuthenticationV1Api,
  BatchV1Api,
  CoreV1Api,
  type KubeConfig,
  KubeConfig as KubeConfigClass,
  type V1Job,
  VersionApi,
} from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { locateBinaries } from '../../hack/cluster/binaries.ts';
import { serviceAccountKubeconfig } from '../../hack/cluster/controlplane.ts';
import { eventually } from '../harness/eventually.ts';
import { freshNamespace, rejection, testKubeConfig } from '../harness/kube.ts';

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const batch = kc.makeApiClient(BatchV1Api);
let namespace: string;

beforeAll(async () => {
  namespace = await freshNamespace(kc, 'k2k-controlplane-');
  // Pods are rejected until kube-controller-manager has created the namespace's ServiceAccount.
  await eventually(() => core.readNamespacedServiceAccount({ namespace, name: 'default' }), {
    what: `ServiceAccount ${namespace}/default`,
  });
});

const job = (name: string): V1Job => ({
  metadata: { name },
  spec: {
    backoffLimit: 0,
    template: {
      spec: {
        restartPolicy: 'Never',
        // Never pulled: there are no nodes. The pods only need to exist.
        containers: [{ name: 'main', image: 'registry.invalid/k2k/noop:0' }],
      },
    },
  },
});

const jobPods = async (name: string) =>
  (await core.listNamespacedPod({ namespace, labelSelector: `batch.kubernetes.io/job-name=${name}` })).items;

function kubeConfigFrom(path: string): KubeConfig {
  const out = new KubeConfigClass();
  out.loadFromFile(path);
  return out;
}

describe('control plane harness', () => {
  it('serves the pinned Kubernetes version', async () => {
    const { k8sVersion } = await locateBinaries();
    const version = await kc.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe(k8sVersion);
  });

  it('creates the pods of a Job (kube-controller-manager runs)', async () => {
    const created = await batch.createNamespacedJob({ namespace, body: job('creates-pods') });
    const pods = await eventually(
      async () => {
        const items = await jobPods('creates-pods');
        return items.length > 0 ? items : undefined;
      },
      { what: 'a pod of Job creates-pods' },
    );
    expect(pods[0]?.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'Job',
      uid: created.metadata?.uid,
    });
  });

  it('marks a pod Unschedulable when there are no nodes (kube-scheduler runs)', async () => {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'unschedulable' },
        spec: { containers: [{ name: 'main', image: 'registry.invalid/k2k/noop:0' }] },
      },
    });
    const condition = await eventually(
      async () => {
        const pod = await core.readNamespacedPod({ namespace, name: 'unschedulable' });
        return pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
      },
      { what: 'PodScheduled=False on pod unschedulable' },
    );
    expect(condition.reason).toBe('Unschedulable');
    expect(condition.message).toMatch(/no nodes available|0\/0 nodes/);
  });

  it('garbage-collects the pods of a deleted Job', async () => {
    await batch.createNamespacedJob({ namespace, body: job('collected') });
    await eventually(async () => ((await jobPods('collected')).length > 0 ? true : undefined), {
      what: 'a pod of Job collected',
    });
    // batch/v1 Jobs orphan their pods by default; Background is what kubectl does.
    await batch.deleteNamespacedJob({ namespace, name: 'collected', propagationPolicy: 'Background' });
    await eventually(async () => ((await jobPods('collected')).length === 0 ? true : undefined), {
      what: 'the pods of Job collected to be deleted',
    });
  });

  describe('RBAC', () => {
    let saConfig: KubeConfig;
    beforeAll(async () => {
      const path = await serviceAccountKubeconfig(
        process.env.K2K_TEST_KUBECONFIG!,
        namespace,
        'unprivileged',
      );
      saConfig = kubeConfigFrom(path);
    });

    it('authenticates the ServiceAccount kubeconfig as that ServiceAccount', async () => {
      const review = await saConfig.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      });
      expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${namespace}:unprivileged`);
    });

    it.each([
      { who: 'the admin', config: () => kc, expected: undefined },
      { who: 'an unprivileged ServiceAccount', config: () => saConfig, expected: 403 },
    ])('answers $who listing secrets cluster-wide with $expected', async ({ config, expected }) => {
      const failure = await rejection(() => config().makeApiClient(CoreV1Api).listSecretForAllNamespaces());
      expect(failure?.code).toBe(expected);
    });
  });
});
