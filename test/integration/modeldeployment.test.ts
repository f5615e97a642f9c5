// The ModelDeployment controller against a real kube-apiserver + kube-controller-manager (its
// garbage collector, Deployment and HorizontalPodAutoscaler controllers) + kube-scheduler. The
// operator runs as its own process, as its own ServiceAccount with the RBAC of config/rbac, and
// watches only the test's namespace, so tests in other files cannot see it. There is no node: the
// model server pods stay Pending, and the status must say why.
import {
  AppsV1Api,
  AutoscalingV2Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ModelDeployment, TrainingJob } from '../../api/index.ts';
import { eventually } from '../harness/eventually.ts';
import { freshNamespace, testKubeConfig } from '../harness/kube.ts';
import { eventuallyModelDeploymentCondition } from '../harness/modeldeployments.ts';
import {
  installOperatorRBAC,
  OPERATOR_ACCOUNT,
  OPERATOR_NAMESPACE,
  type OperatorProcess,
  serviceAccountKubeconfig,
  startOperator,
} from '../harness/operator.ts';
import { setPodStatus, trainerPod } from '../harness/trainer-pod.ts';

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const autoscaling = kc.makeApiClient(AutoscalingV2Api);
const batch = kc.makeApiClient(BatchV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const mds = { group: 'k2k.dev', version: 'v1alpha1', plural: 'modeldeployments' };
const tjs = { group: 'k2k.dev', version: 'v1alpha1', plural: 'trainingjobs' };
const URI = 's3://models/mnist/1764037200/';

let operatorKubeconfig: string;
const operators: OperatorProcess[] = [];

beforeAll(async () => {
  await installOperatorRBAC();
  operatorKubeconfig = await serviceAccountKubeconfig(
    process.env.K2K_TEST_KUBECONFIG!,
    OPERATOR_NAMESPACE,
    OPERATOR_ACCOUNT,
  );
});

afterEach(async () => {
  await Promise.all(operators.splice(0).map((op) => op.stop()));
});

/** A fresh namespace with an operator that watches only it. */
async function namespaceWithOperator(): Promise<string> {
  const ns = await freshNamespace(kc, 'k2k-md-');
  operators.push(
    startOperator({
      kubeconfig: operatorKubeconfig,
      identity: `md-${ns}`,
      leaderElect: false,
      namespace: ns,
    }),
  );
  return ns;
}

const createModelDeployment = (namespace: string, name: string, spec: Record<string, unknown>) =>
  custom.createNamespacedCustomObject({
    ...mds,
    namespace,
    body: { apiVersion: 'k2k.dev/v1alpha1', kind: 'ModelDeployment', metadata: { name }, spec },
  });

const getModelDeployment = async (namespace: string, name: string) =>
  (await custom.getNamespacedCustomObject({ ...mds, namespace, name })) as ModelDeployment;

const conditionOf = (md: ModelDeployment, type: string) =>
  md.status?.conditions?.find((c) => c.type === type);

/** Waits until the ModelDeployment's `type` condition has this reason; returns the ModelDeployment. */
const eventuallyCondition = async (
  namespace: string,
  name: string,
  type: string,
  reason: string,
  timeoutMs = 60_000,
) => (await eventuallyModelDeploymentCondition(custom, namespace, name, type, reason, timeoutMs)).md;

const deploymentOf = (namespace: string, name: string) =>
  eventually(
    async () => {
      const list = await apps.listNamespacedDeployment({ namespace });
      return list.items.find((d) => d.metadata?.name === name);
    },
    { what: `Deployment ${namespace}/${name}` },
  );

/** Plays the kubelet: the trainer container terminated with this exit code and message. */
const finishTrainer = (pod: V1Pod, exitCode: number, message: string) =>
  setPodStatus(pod, exitCode === 0 ? 'Succeeded' : 'Failed', exitCode, message);

async function createTrainingJob(namespace: string, name: string) {
  await custom.createNamespacedCustomObject({
    ...tjs,
    namespace,
    body: {
      apiVersion: 'k2k.dev/v1alpha1',
      kind: 'TrainingJob',
      metadata: { name },
      spec: {
        model: { architecture: 'mnist-mlp' },
        dataset: { format: 'mnist-idx', uri: 's3://datasets/mnist/' },
        output: { uri: 's3://models/' },
      },
    },
  });
}

describe('the ModelDeployment controller', () => {
  it('serves an artifact URI with a hardened Deployment, a Service and an HPA, and says why no pod is available', async () => {
    const ns = await namespaceWithOperator();
    await createModelDeployment(ns, 'mnist', {
      model: { artifactURI: URI },
      storage: { endpoint: 'http://127.0.0.1:9', credentialsSecretRef: { name: 'storage' } },
      replicas: { min: 2, max: 4 },
      autoscaling: { targetCPUUtilization: 60 },
      resources: { cpu: '100m', memory: '256Mi' },
    });

    const deployment = await deploymentOf(ns, 'mnist');
    const owner = deployment.metadata!.ownerReferences![0]!;
    expect(owner).toMatchObject({ kind: 'ModelDeployment', name: 'mnist', controller: true });
    const pod = deployment.spec!.template.spec!;
    const server = pod.containers[0]!;
    expect(server.image).toBe('k2k/model-server:test');
    expect(server.env).toContainEqual({ name: 'K2K_MODEL_URI', value: URI });
    expect(server.env).toContainEqual({ name: 'AWS_ENDPOINT_URL_S3', value: 'http://127.0.0.1:9' });
    expect(server.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(server.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(pod.volumes).toContainEqual(
      expect.objectContaining({ secret: expect.objectContaining({ secretName: 'storage' }) }),
    );
    expect(server.resources).toEqual({
      requests: { cpu: '100m', memory: '256Mi' },
      limits: { memory: '256Mi' },
    });

    const service = await core.readNamespacedService({ namespace: ns, name: 'mnist' });
    expect(service.spec!.type).toBe('ClusterIP');
    expect(service.spec!.ports).toEqual([
      expect.objectContaining({ name: 'http', port: 80, targetPort: 'http' }),
      // The real API server keeps appProtocol (a field the client could have dropped).
      expect.objectContaining({ name: 'grpc', port: 8500, targetPort: 'grpc', appProtocol: 'grpc' }),
    ]);
    expect(service.spec!.selector).toEqual(deployment.spec!.selector.matchLabels);
    // The HPA is applied after the Deployment, so it may be a moment behind.
    const hpa = await eventually(
      () => autoscaling.readNamespacedHorizontalPodAutoscaler({ namespace: ns, name: 'mnist' }),
      { what: 'the HPA' },
    );
    expect(hpa.spec).toMatchObject({
      scaleTargetRef: { kind: 'Deployment', name: 'mnist' },
      minReplicas: 2,
      maxReplicas: 4,
      metrics: [{ resource: { name: 'cpu', target: { averageUtilization: 60 } } }],
    });
    const account = await core.readNamespacedServiceAccount({ namespace: ns, name: 'mnist-server' });
    expect(account.automountServiceAccountToken).toBe(false);

    // No node at all: the scheduler says so, and so do the conditions and the events.
    const md = await eventuallyCondition(ns, 'mnist', 'Available', 'Unschedulable');
    expect(conditionOf(md, 'Available')!.status).toBe('False');
    expect(conditionOf(md, 'Available')!.message).toMatch(
      /cannot be scheduled: no nodes available to schedule pods/,
    );
    expect(conditionOf(md, 'Ready')).toMatchObject({ status: 'False', reason: 'Unschedulable' });
    expect(conditionOf(md, 'Reconciling')!.status).toBe('True');
    expect(conditionOf(md, 'Stalled')!.status).toBe('False');
    expect(md.status).toMatchObject({
      observedGeneration: md.metadata.generation,
      url: `http://mnist.${ns}.svc:80`,
      grpcURL: `dns:///mnist.${ns}.svc:8500`,
      artifact: { uri: URI, version: '1764037200' },
      readyReplicas: 0,
    });
    const events = kc.makeApiClient(EventsV1Api);
    const warning = await eventually(
      async () =>
        (await events.listNamespacedEvent({ namespace: ns })).items.find(
          (e) => e.reason === 'Unschedulable' && e.regarding?.kind === 'ModelDeployment',
        ),
      { what: 'an Unschedulable event' },
    );
    expect(warning.type).toBe('Warning');
    // Every apply and status patch went through with the operator's own RBAC.
    expect(operators[0]!.logs()).not.toMatch(/reconcile failed|forbidden/);
  });

  it('leaves the replica count to the HPA while it rolls out spec changes', async () => {
    const ns = await namespaceWithOperator();
    await createModelDeployment(ns, 'scaled', { model: { artifactURI: URI }, replicas: { min: 2, max: 4 } });
    // The HPA raises the Deployment to minReplicas (no metrics are needed for that).
    await eventually(
      async () => ((await deploymentOf(ns, 'scaled')).spec?.replicas === 2 ? true : undefined),
      { what: 'the HPA to scale the Deployment to 2', timeoutMs: 60_000 },
    );
    await custom.patchNamespacedCustomObject(
      { ...mds, namespace: ns, name: 'scaled', body: { spec: { batching: { maxBatchSize: 64 } } } },
      mergePatch,
    );
    const updated = await eventually(
      async () => {
        const d = await deploymentOf(ns, 'scaled');
        const env = d.spec!.template.spec!.containers[0]!.env ?? [];
        return env.some((e) => e.name === 'K2K_BATCHING_MAX_BATCH_SIZE' && e.value === '64') ? d : undefined;
      },
      { what: 'the new batch size in the pod template' },
    );
    expect(updated.spec!.replicas).toBe(2);
    const md = await eventually(
      async () => {
        const current = await getModelDeployment(ns, 'scaled');
        return current.status?.observedGeneration === current.metadata.generation ? current : undefined;
      },
      { what: 'the status to observe the new generation' },
    );
    expect(md.status!.replicas).toBeGreaterThanOrEqual(2);
  });

  it('waits for the referenced TrainingJob, then serves its artifact', async () => {
    const ns = await namespaceWithOperator();
    await createTrainingJob(ns, 'train');
    await createModelDeployment(ns, 'served', { model: { trainingJobRef: { name: 'train' } } });

    const waiting = await eventuallyCondition(ns, 'served', 'Ready', 'WaitingForTrainingJob');
    expect(conditionOf(waiting, 'Reconciling')!.status).toBe('True');
    expect(conditionOf(waiting, 'Stalled')!.status).toBe('False');
    expect(waiting.status!.url).toBeUndefined();
    expect((await apps.listNamespacedDeployment({ namespace: ns })).items).toEqual([]);

    const artifact = { uri: 's3://models/train/1764037300/', version: '1764037300', manifestSha256: 'f00d' };
    await finishTrainer(
      await trainerPod(ns, 'train'),
      0,
      JSON.stringify({ artifact, metrics: { acc: 0.9 } }),
    );
    await eventually(
      async () => {
        const tj = (await custom.getNamespacedCustomObject({
          ...tjs,
          namespace: ns,
          name: 'train',
        })) as TrainingJob;
        return tj.status?.artifact?.uri === artifact.uri || undefined;
      },
      { what: 'the TrainingJob to record its artifact' },
    );

    const deployment = await deploymentOf(ns, 'served');
    expect(deployment.spec!.template.spec!.containers[0]!.env).toContainEqual({
      name: 'K2K_MODEL_URI',
      value: artifact.uri,
    });
    const served = await eventuallyCondition(ns, 'served', 'Available', 'Unschedulable');
    expect(served.status!.artifact).toEqual({ uri: artifact.uri, version: artifact.version });
  });

  it('stalls without deploying when the referenced TrainingJob failed', async () => {
    const ns = await namespaceWithOperator();
    await createTrainingJob(ns, 'bad');
    await createModelDeployment(ns, 'never', { model: { trainingJobRef: { name: 'bad' } } });
    await finishTrainer(
      await trainerPod(ns, 'bad'),
      65,
      JSON.stringify({ error: { code: 'InvalidInput', message: 'dataset.uri: not found' } }),
    );
    const md = await eventuallyCondition(ns, 'never', 'Ready', 'TrainingJobFailed');
    expect(conditionOf(md, 'Ready')!.message).toMatch(/dataset\.uri: not found/);
    expect(conditionOf(md, 'Stalled')!.status).toBe('True');
    expect(conditionOf(md, 'Reconciling')!.status).toBe('False');
    expect((await apps.listNamespacedDeployment({ namespace: ns })).items).toEqual([]);
    expect((await batch.listNamespacedJob({ namespace: ns })).items).toHaveLength(1);
  });

  it('lets garbage collection remove the Deployment, Service and HPA when the ModelDeployment is deleted', async () => {
    const ns = await namespaceWithOperator();
    await createModelDeployment(ns, 'gone', { model: { artifactURI: URI } });
    const children = async () => ({
      deployments: (await apps.listNamespacedDeployment({ namespace: ns })).items.length,
      services: (
        await core.listNamespacedService({ namespace: ns, labelSelector: 'k2k.dev/modeldeployment' })
      ).items.length,
      hpas: (await autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace: ns })).items.length,
    });
    await eventually(
      async () => {
        const c = await children();
        return c.deployments === 1 && c.services === 1 && c.hpas === 1 ? c : undefined;
      },
      { what: 'the children' },
    );
    await custom.deleteNamespacedCustomObject({ ...mds, namespace: ns, name: 'gone' });
    await eventually(
      async () => {
        const c = await children();
        return c.deployments + c.services + c.hpas === 0 ? c : undefined;
      },
      { what: 'garbage collection of the children', timeoutMs: 60_000 },
    );
  });
});
