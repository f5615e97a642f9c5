// The TrainingJob controller against a real kube-apiserver + kube-controller-manager +
// kube-scheduler. The operator runs as its own process, as its own ServiceAccount with the RBAC
// of config/rbac. With no kubelet here, the test plays the kubelet by writing pod status, as
// envtest-based tests do.
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelDeployment, TrainingJob } from '../../api/index.ts';
import { eventually } from '../harness/eventually.ts';
import { createModelDeployment, freshNamespace, rejection, testKubeConfig } from '../harness/kube.ts';
import {
  installOperatorRBAC,
  OPERATOR_ACCOUNT,
  OPERATOR_NAMESPACE,
  type OperatorProcess,
  serviceAccountKubeconfig,
  startOperator,
} from '../harness/operator.ts';
import { epochProgress, reportProgress, setPodStatus, trainerPod } from '../harness/trainer-pod.ts';

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const batch = kc.makeApiClient(BatchV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const admission = kc.makeApiClient(AdmissionregistrationV1Api);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const apps = kc.makeApiClient(AppsV1Api);
const group = { group: 'k2k.dev', version: 'v1alpha1', plural: 'trainingjobs' };
const modelDeployments = { group: 'k2k.dev', version: 'v1alpha1', plural: 'modeldeployments' };

let operatorKubeconfig: string;
let operator: OperatorProcess | undefined;

beforeAll(async () => {
  await installOperatorRBAC();
  operatorKubeconfig = await serviceAccountKubeconfig(
    process.env.K2K_TEST_KUBECONFIG!,
    OPERATOR_NAMESPACE,
    OPERATOR_ACCOUNT,
  );
});

afterAll(async () => {
  await operator?.stop();
});

function trainingJobManifest(name: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'k2k.dev/v1alpha1',
    kind: 'TrainingJob',
    metadata: { name },
    spec: {
      model: { architecture: 'mnist-mlp' },
      dataset: { format: 'mnist-idx', uri: 's3://datasets/mnist/' },
      output: { uri: 's3://models/' },
      storage: { endpoint: 'http://127.0.0.1:9', credentialsSecretRef: { name: 'storage' } },
      ...spec,
    },
  };
}

const createTrainingJob = (namespace: string, name: string, spec?: Record<string, unknown>) =>
  custom.createNamespacedCustomObject({ ...group, namespace, body: trainingJobManifest(name, spec) });

const getTrainingJob = async (namespace: string, name: string) =>
  (await custom.getNamespacedCustomObject({ ...group, namespace, name })) as TrainingJob;

const readyOf = (tj: TrainingJob) => tj.status?.conditions?.find((c) => c.type === 'Ready');

/** Waits until the TrainingJob's Ready condition has this reason; returns the TrainingJob. */
const eventuallyReason = (namespace: string, name: string, reason: string, timeoutMs = 60_000) =>
  eventually(
    async () => {
      const tj = await getTrainingJob(namespace, name);
      return readyOf(tj)?.reason === reason ? tj : undefined;
    },
    { timeoutMs, what: `TrainingJob ${namespace}/${name} Ready reason ${reason}` },
  );

/** Merge-patches the TrainingJob's spec and waits until the operator's status describes that generation. */
async function patchAndObserve(namespace: string, name: string, spec: Record<string, unknown>) {
  await custom.patchNamespacedCustomObject({ ...group, namespace, name, body: { spec } }, mergePatch);
  return eventually(
    async () => {
      const tj = await getTrainingJob(namespace, name);
      return tj.status?.observedGeneration === tj.metadata.generation ? tj : undefined;
    },
    { what: `the operator to reconcile the new generation of ${name}` },
  );
}

describe('the TrainingJob controller', () => {
  beforeAll(() => {
    operator = startOperator({ kubeconfig: operatorKubeconfig, identity: 'solo', leaderElect: false });
  });

  it('creates exactly one Job whose pod requests the asked GPUs, and reports why it cannot be scheduled', async () => {
    const ns = await freshNamespace(kc);
    await createTrainingJob(ns, 'gpu', { resources: { gpus: 2 } });
    const pod = await trainerPod(ns, 'gpu');
    const trainer = pod.spec!.containers.find((c) => c.name === 'trainer')!;
    expect(trainer.resources?.limits?.['nvidia.com/gpu']).toBe('2');
    expect(trainer.resources?.requests?.['nvidia.com/gpu']).toBe('2');
    const jobs = await batch.listNamespacedJob({ namespace: ns });
    expect(jobs.items).toHaveLength(1);
    expect(jobs.items[0]!.metadata!.ownerReferences![0]).toMatchObject({
      kind: 'TrainingJob',
      name: 'gpu',
      controller: true,
    });

    // No node offers nvidia.com/gpu (there is no node at all): the scheduler says so, and so does the status.
    const tj = await eventuallyReason(ns, 'gpu', 'Unschedulable');
    expect(readyOf(tj)!.message).toMatch(/cannot be scheduled: no nodes available to schedule pods/);
    expect(tj.status!.observedGeneration).toBe(tj.metadata.generation);
    expect(tj.status!.jobName).toBe('gpu');
    // ...and so do the events `kubectl describe` shows.
    const events = kc.makeApiClient(EventsV1Api);
    const warning = await eventually(
      async () => {
        const list = await events.listNamespacedEvent({ namespace: ns });
        return list.items.find((e) => e.reason === 'Unschedulable' && e.regarding?.name === 'gpu');
      },
      { what: 'an Unschedulable event' },
    );
    expect(warning.type).toBe('Warning');
    expect(warning.reportingController).toBe('k2k.dev/operator');
  });

  it('follows the trainer pod through Running to Succeeded, recording the artifact', async () => {
    const ns = await freshNamespace(kc);
    await createTrainingJob(ns, 'ok');
    const pod = await trainerPod(ns, 'ok');
    await setPodStatus(pod, 'Running');
    const running = await eventuallyReason(ns, 'ok', 'Running');
    expect(running.status!.phase).toBe('Running');
    expect(running.status!.conditions!.find((c) => c.type === 'Running')!.status).toBe('True');

    const result = {
      artifact: { uri: 's3://models/ok/1/', version: '1', manifestSha256: 'f00d' },
      metrics: { val_acc: 0.95 },
    };
    await setPodStatus(pod, 'Succeeded', 0, JSON.stringify(result));
    const done = await eventuallyReason(ns, 'ok', 'Succeeded');
    expect(readyOf(done)!.status).toBe('True');
    expect(done.status!.artifact).toEqual(result.artifact);
    expect(done.status!.metrics).toEqual(result.metrics);
    expect(done.status!.completionTime).toBeTruthy();
    expect(done.status!.conditions!.find((c) => c.type === 'Reconciling')!.status).toBe('False');
  });

  it.each([
    { who: 'ttlSecondsAfterFinished', spec: { ttlSecondsAfterFinished: 0 }, deleteJob: undefined },
    {
      who: 'someone',
      spec: {},
      deleteJob: (namespace: string) =>
        batch.deleteNamespacedJob({ namespace, name: 'kept', propagationPolicy: 'Background' }),
    },
  ])(
    'keeps a succeeded TrainingJob Succeeded with its artifact when $who deletes its Job, and never runs it again',
    async ({ spec, deleteJob }) => {
      const ns = await freshNamespace(kc);
      await createTrainingJob(ns, 'kept', spec);
      await createModelDeployment(kc, ns, 'served', { model: { trainingJobRef: { name: 'kept' } } });
      const pod = await trainerPod(ns, 'kept');
      await setPodStatus(pod, 'Running');
      // The trainer's own status field, under its own field manager, as trainer/progress.ts writes it.
      const progress = { epoch: 5, epochs: 5, metrics: { loss: 0.12 } };
      await reportProgress(ns, 'kept', progress);
      const result = {
        artifact: { uri: 's3://models/kept/1/', version: '1', manifestSha256: 'f00d' },
        metrics: { val_acc: 0.95 },
      };
      await setPodStatus(pod, 'Succeeded', 0, JSON.stringify(result));
      // With ttlSecondsAfterFinished: 0 the Job and its pod can be gone before the operator has read
      // the pod (under load it often is). The result is then not lost: the operator makes the Job
      // again and the retried trainer reports the artifact it finds (trainer/finished.ts). There is
      // no kubelet here, so the test plays that retried trainer.
      const done = await eventually(
        async () => {
          const tj = await getTrainingJob(ns, 'kept');
          if (readyOf(tj)?.reason === 'Succeeded') return tj;
          const pods = await core.listNamespacedPod({
            namespace: ns,
            labelSelector: 'k2k.dev/trainingjob=kept',
          });
          for (const retry of pods.items.filter((p) => p.status?.phase === 'Pending')) {
            await setPodStatus(retry, 'Succeeded', 0, JSON.stringify(result)).catch(() => undefined);
          }
          return undefined;
        },
        { what: 'the TrainingJob to succeed', timeoutMs: 60_000 },
      );
      expect(done.status).toMatchObject({ artifact: result.artifact, metrics: result.metrics, progress });

      // The Job completes, and the TTL controller or someone deletes it.
      await deleteJob?.(ns);
      await eventually(
        async () => (await batch.listNamespacedJob({ namespace: ns })).items.length === 0 || undefined,
        { what: 'the completed Job to be deleted', timeoutMs: 60_000 },
      );
      // Proof that the operator has seen the deletion: its Job watch delivers events in order, and
      // it records a later one (the Job of another TrainingJob) in that TrainingJob's status.
      await createTrainingJob(ns, 'probe', { suspend: true });
      await eventually(async () => (await getTrainingJob(ns, 'probe')).status?.jobName, {
        what: 'the operator to see the Job made after the deletion',
      });
      // A new generation makes the operator reconcile the TrainingJob with its Job gone.
      const after = await patchAndObserve(ns, 'kept', { activeDeadlineSeconds: 3600 });
      expect(after.metadata.generation).toBeGreaterThan(done.metadata.generation!);
      const { observedGeneration: _before, conditions: doneConditions, ...doneRest } = done.status!;
      const { observedGeneration: _after, conditions: afterConditions, ...afterRest } = after.status!;
      expect(afterRest).toEqual(doneRest);
      const withoutGeneration = (cs: typeof doneConditions) =>
        cs!.map(({ observedGeneration: _g, ...c }) => c);
      expect(withoutGeneration(afterConditions)).toEqual(withoutGeneration(doneConditions));
      // That pass, which would have made the Job again, did not.
      const jobs = await batch.listNamespacedJob({ namespace: ns });
      expect(jobs.items.map((j) => j.metadata!.name)).toEqual(['probe']);

      // The ModelDeployment keeps serving what the TrainingJob produced.
      const md = await eventually(
        async () => {
          const current = (await custom.getNamespacedCustomObject({
            ...modelDeployments,
            namespace: ns,
            name: 'served',
          })) as ModelDeployment;
          return current.status?.artifact ? current : undefined;
        },
        { what: 'the ModelDeployment to serve the artifact' },
      );
      expect(md.status!.artifact).toEqual({ uri: result.artifact.uri, version: result.artifact.version });
      expect(md.status!.conditions!.find((c) => c.type === 'Ready')!.reason).not.toMatch(
        /WaitingForTrainingJob|TrainingJobFailed/,
      );
      const deployment = await apps.readNamespacedDeployment({ namespace: ns, name: 'served' });
      expect(deployment.spec!.template.spec!.containers[0]!.env).toContainEqual({
        name: 'K2K_MODEL_URI',
        value: result.artifact.uri,
      });
    },
  );

  it('makes the Job of a running TrainingJob again when someone deletes it', async () => {
    const ns = await freshNamespace(kc);
    await createTrainingJob(ns, 'rerun');
    await setPodStatus(await trainerPod(ns, 'rerun'), 'Running');
    await eventuallyReason(ns, 'rerun', 'Running');
    const old = await batch.readNamespacedJob({ namespace: ns, name: 'rerun' });
    await batch.deleteNamespacedJob({ namespace: ns, name: 'rerun', propagationPolicy: 'Background' });
    // Not finished: after reading the TrainingJob past its cache, the operator makes the Job again.
    const again = await eventually(
      async () => {
        const jobs = await batch.listNamespacedJob({ namespace: ns });
        return jobs.items.find((j) => j.metadata!.uid !== old.metadata!.uid);
      },
      { what: 'a new Job', timeoutMs: 60_000 },
    );
    expect(again.metadata!.name).toBe('rerun');
    expect(operator!.logs()).not.toMatch(/forbidden/);
  });

  it('succeeds when a trainer killed after committing its artifact is retried and finds it', async () => {
    const ns = await freshNamespace(kc);
    await createTrainingJob(ns, 'killed', { backoffLimit: 2 });
    const first = await trainerPod(ns, 'killed');
    // SIGKILL after the manifest was written: no exit of its own, no termination message.
    await setPodStatus(first, 'Failed', 137);
    const second = await eventually(
      async () => {
        const pods = await core.listNamespacedPod({
          namespace: ns,
          labelSelector: 'k2k.dev/trainingjob=killed',
        });
        return pods.items.find((p) => p.metadata!.name !== first.metadata!.name);
      },
      { what: 'the Job to retry the killed trainer' },
    );
    // The retried trainer finds the artifact its first attempt committed (trainer/finished.ts).
    const result = {
      artifact: { uri: 's3://models/killed/1/', version: '1', manifestSha256: 'f00d' },
      metrics: { val_acc: 0.9 },
      backend: 'cpu',
    };
    await setPodStatus(second, 'Succeeded', 0, JSON.stringify(result));
    const done = await eventuallyReason(ns, 'killed', 'Succeeded');
    expect(done.status).toMatchObject({ artifact: result.artifact, metrics: result.metrics, attempts: 2 });
  });

  it('fails without retrying when the trainer exits with the invalid-input code', async () => {
    const ns = await freshNamespace(kc);
    await createTrainingJob(ns, 'bad', { backoffLimit: 5 });
    const pod = await trainerPod(ns, 'bad');
    await setPodStatus(
      pod,
      'Failed',
      65,
      JSON.stringify({ error: { code: 'InvalidInput', message: 'dataset.uri: not found' } }),
    );
    const failed = await eventuallyReason(ns, 'bad', 'InvalidInput');
    expect(readyOf(failed)!.message).toMatch(/dataset\.uri: not found/);
    expect(failed.status!.conditions!.find((c) => c.type === 'Stalled')!.status).toBe('True');
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'k2k.dev/trainingjob=bad' });
    expect(pods.items).toHaveLength(1); // not retried, although backoffLimit allows 5 retries
  });

  it('stalls with InvalidSpec naming the field when the API server refuses the trainer Job, without retrying', async () => {
    const ns = await freshNamespace(kc);
    // A namespace policy that admission of the TrainingJob cannot know about: only the Job is refused.
    const policy = `k2k-test-cpu-limit-${ns}`;
    await admission.createValidatingAdmissionPolicy({
      body: {
        metadata: { name: policy },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: {
            resourceRules: [
              { apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['jobs'] },
            ],
          },
          validations: [
            {
              expression:
                "object.spec.template.spec.containers.all(c, has(c.resources.limits) && 'cpu' in c.resources.limits)",
              message:
                'spec.template.spec.containers[0].resources.limits.cpu: every container needs a CPU limit',
              reason: 'Invalid',
            },
          ],
        },
      },
    });
    try {
      await admission.createValidatingAdmissionPolicyBinding({
        body: {
          metadata: { name: policy },
          spec: {
            policyName: policy,
            validationActions: ['Deny'],
            matchResources: {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
            },
          },
        },
      });
      // The API server enforces a new policy once its informer has it.
      await eventually(
        async () =>
          (await rejection(() =>
            batch.createNamespacedJob({
              namespace: ns,
              dryRun: 'All',
              body: {
                metadata: { name: 'probe' },
                spec: {
                  template: {
                    spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] },
                  },
                },
              },
            }),
          )) !== undefined || undefined,
        { what: 'the admission policy to be enforced' },
      );
      await createTrainingJob(ns, 'refused', { resources: { cpu: '1' } });
      const stalled = await eventuallyReason(ns, 'refused', 'InvalidSpec');
      expect(readyOf(stalled)!.message).toMatch(
        /refused the Job built from this spec.*resources\.limits\.cpu: every container needs a CPU limit/,
      );
      const condition = (type: string) => stalled.status!.conditions!.find((c) => c.type === type)!;
      expect(condition('Stalled').status).toBe('True');
      expect(condition('Reconciling').status).toBe('False');
      // Not retried: the Ready condition keeps the transition time of the first (and only) refusal.
      const first = readyOf(stalled)!.lastTransitionTime;
      await new Promise((r) => setTimeout(r, 3_000));
      expect(readyOf(await getTrainingJob(ns, 'refused'))!.lastTransitionTime).toBe(first);
    } finally {
      await admission.deleteValidatingAdmissionPolicyBinding({ name: policy }).catch(() => {});
      await admission.deleteValidatingAdmissionPolicy({ name: policy });
    }
  });

  it('retries a transient trainer failure with a new pod', async () => {
    const ns = await freshNamespace(kc);
    await createTrainingJob(ns, 'flaky', { backoffLimit: 2 });
    const first = await trainerPod(ns, 'flaky');
    await setPodStatus(
      first,
      'Failed',
      75,
      JSON.stringify({ error: { code: 'Transient', message: 'storage unreachable' } }),
    );
    await eventually(
      async () => {
        const pods = await core.listNamespacedPod({
          namespace: ns,
          labelSelector: 'k2k.dev/trainingjob=flaky',
        });
        return pods.items.length === 2 || undefined;
      },
      { what: 'a second trainer pod' },
    );
    const tj = await eventually(
      async () => {
        const current = await getTrainingJob(ns, 'flaky');
        return current.status?.attempts === 2 ? current : undefined;
      },
      { what: 'two attempts in the status' },
    );
    expect(readyOf(tj)!.message).toMatch(/retrying after 1 failed attempt/);
    expect(tj.status!.phase).toBe('Pending');
  });

  it.each([
    {
      how: 'exited 143 on SIGTERM (deleted through the API)',
      exit: 143,
      conditions: [],
      says: /deleted or evicted/,
    },
    {
      how: 'was marked DisruptionTarget (evicted, then killed after its grace period)',
      exit: 137,
      conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI' }],
      says: /stopped \(EvictionByEvictionAPI\)/,
    },
  ])(
    'replaces a trainer pod that $how without spending backoffLimit, and records the resume',
    async ({ exit, conditions, says }) => {
      const ns = await freshNamespace(kc);
      await createTrainingJob(ns, 'stopped', { backoffLimit: 0 });
      const first = await trainerPod(ns, 'stopped');
      await setPodStatus(first, 'Running');
      await reportProgress(ns, 'stopped', { epoch: 3, epochs: 10, metrics: {}, pod: first.metadata!.name! });
      await eventuallyReason(ns, 'stopped', 'Running');
      await setPodStatus(
        first,
        'Failed',
        exit,
        JSON.stringify({ error: { code: 'Stopped', message: 'stopped by SIGTERM' } }),
        conditions.map((c) => ({ ...c, lastTransitionTime: new Date() })),
      );
      const restarting = await eventuallyReason(ns, 'stopped', 'Restarting');
      expect(readyOf(restarting)!.message).toMatch(says);

      // backoffLimit is 0: had the Job counted the stop, it would have failed instead.
      const second = await eventually(
        async () => {
          const pods = await core.listNamespacedPod({
            namespace: ns,
            labelSelector: 'k2k.dev/trainingjob=stopped',
          });
          return pods.items.find((p) => p.metadata!.name !== first.metadata!.name);
        },
        { what: 'a replacement trainer pod' },
      );
      const job = await batch.readNamespacedJob({ namespace: ns, name: 'stopped' });
      expect(job.status?.failed ?? 0).toBe(0);
      expect(job.status?.conditions?.filter((c) => c.type === 'Failed' && c.status === 'True') ?? []).toEqual(
        [],
      );

      await setPodStatus(second, 'Running');
      await reportProgress(ns, 'stopped', {
        epoch: 3,
        epochs: 10,
        metrics: {},
        pod: second.metadata!.name!,
        resumedFromEpoch: 3,
      });
      const resumed = await eventually(
        async () => {
          const tj = await getTrainingJob(ns, 'stopped');
          return tj.status?.resumes?.length ? tj : undefined;
        },
        { what: 'the resume in the status' },
      );
      expect(resumed.status!.resumes).toEqual([
        { pod: second.metadata!.name, epoch: 3, time: expect.any(String) },
      ]);
      expect(readyOf(resumed)!.reason).toBe('Running');
      expect(readyOf(resumed)!.message).toMatch(/resumed from the checkpoint of epoch 3/);
      const events = kc.makeApiClient(EventsV1Api);
      const event = await eventually(
        async () =>
          (await events.listNamespacedEvent({ namespace: ns })).items.find(
            (e) => e.reason === 'Resumed' && e.regarding?.name === 'stopped',
          ),
        { what: 'a Resumed event' },
      );
      expect(event.type).toBe('Normal');
      expect(event.note).toBe(
        `Resumed from checkpoint at epoch 3 in pod ${second.metadata!.name}: the epochs before it were not trained again`,
      );
    },
  );

  it('suspends and resumes the trainer Job', async () => {
    const ns = await freshNamespace(kc);
    await createTrainingJob(ns, 'pause', { suspend: true });
    await eventuallyReason(ns, 'pause', 'Suspended');
    expect((await batch.readNamespacedJob({ namespace: ns, name: 'pause' })).spec!.suspend).toBe(true);
    await custom.patchNamespacedCustomObject(
      { ...group, namespace: ns, name: 'pause', body: { spec: { suspend: false } } },
      mergePatch,
    );
    await eventually(
      async () =>
        (await batch.readNamespacedJob({ namespace: ns, name: 'pause' })).spec!.suspend === false ||
        undefined,
      {
        what: 'the Job to resume',
      },
    );
    await trainerPod(ns, 'pause');
  });

  const stopTrainingJob = (namespace: string, name: string, stop: Record<string, unknown> | null) =>
    custom.patchNamespacedCustomObject({ ...group, namespace, name, body: { spec: { stop } } }, mergePatch);

  it('stops a running TrainingJob: Stopped with its reason, the progress kept, its Job suspended and its pod deleted', async () => {
    const ns = await freshNamespace(kc);
    await createTrainingJob(ns, 'halt', { hyperparameters: { epochs: 3 } });
    const pod = await trainerPod(ns, 'halt');
    await setPodStatus(pod, 'Running');
    await eventuallyReason(ns, 'halt', 'Running');
    const progress = epochProgress('val_loss', [2.3], 3);
    await reportProgress(ns, 'halt', progress);

    const message = 'val_loss 2.3 at epoch 1 is worse than the median 0.4 of 3 other trials';
    await stopTrainingJob(ns, 'halt', { reason: 'EarlyStopped', message });
    const stopped = await eventuallyReason(ns, 'halt', 'EarlyStopped');
    expect(stopped.status).toMatchObject({ phase: 'Stopped', progress });
    expect(stopped.status!.completionTime).toBeTruthy();
    const conditions = Object.fromEntries(stopped.status!.conditions!.map((c) => [c.type, c]));
    expect(conditions.Failed).toMatchObject({ status: 'True', reason: 'EarlyStopped', message });
    expect(conditions.Ready).toMatchObject({ status: 'False', reason: 'EarlyStopped' });
    // Ended without an artifact, for good: Stalled, so kstatus reads it as Failed rather than waiting.
    expect(conditions.Stalled).toMatchObject({ status: 'True', reason: 'EarlyStopped' });
    expect(conditions.Reconciling!.status).toBe('False');
    await eventually(
      async () => (await batch.readNamespacedJob({ namespace: ns, name: 'halt' })).spec!.suspend || undefined,
      { what: 'the stopped TrainingJob’s Job to be suspended' },
    );
    // Gone, or being deleted while the Job controller’s tracking finalizer still holds it.
    await eventually(
      async () =>
        (
          await core.listNamespacedPod({ namespace: ns, labelSelector: 'k2k.dev/trainingjob=halt' })
        ).items.every((p) => p.metadata?.deletionTimestamp) || undefined,
      { what: 'its trainer pod to be deleted', timeoutMs: 60_000 },
    );
    // Someone deletes the suspended Job: a later pass (a new generation) keeps the TrainingJob
    // stopped and makes no Job again.
    await batch.deleteNamespacedJob({ namespace: ns, name: 'halt', propagationPolicy: 'Background' });
    await eventually(
      async () => (await batch.listNamespacedJob({ namespace: ns })).items.length === 0 || undefined,
      { what: 'the Job to be deleted' },
    );
    const after = await patchAndObserve(ns, 'halt', { activeDeadlineSeconds: 3600 });
    expect(after.status).toMatchObject({ phase: 'Stopped', progress });
    expect((await batch.listNamespacedJob({ namespace: ns })).items).toHaveLength(0);
  });

  it('keeps a succeeded TrainingJob Succeeded with its artifact and Job when a stop arrives afterwards', async () => {
    const ns = await freshNamespace(kc);
    await createTrainingJob(ns, 'late');
    const result = {
      artifact: { uri: 's3://models/late/1/', version: '1', manifestSha256: 'f00d' },
      metrics: { val_acc: 0.95 },
    };
    await setPodStatus(await trainerPod(ns, 'late'), 'Succeeded', 0, JSON.stringify(result));
    const done = await eventuallyReason(ns, 'late', 'Succeeded');
    const after = await patchAndObserve(ns, 'late', { stop: { reason: 'Stopped' } });
    expect(after.metadata.generation).toBeGreaterThan(done.metadata.generation!);
    expect(after.status).toMatchObject({
      phase: 'Succeeded',
      artifact: result.artifact,
      metrics: result.metrics,
    });
    expect(readyOf(after)).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect(after.status!.conditions!.find((c) => c.type === 'Failed')!.status).toBe('False');
    const jobs = (await batch.listNamespacedJob({ namespace: ns })).items;
    expect(jobs.map((j) => [j.metadata!.name, j.spec!.suspend])).toEqual([['late', false]]);
  });

  it.each([
    ['removed', null],
    ['changed', { reason: 'Stopped', message: 'another reason' }],
  ])('refuses a stop being %s once set, naming the field', async (_what, stop) => {
    const ns = await freshNamespace(kc);
    await createTrainingJob(ns, 'once', {
      suspend: true,
      stop: { reason: 'EarlyStopped', message: 'worse' },
    });
    const result = await rejection(() => stopTrainingJob(ns, 'once', stop));
    expect(result, 'the API server accepted the change').toBeDefined();
    expect(result!.code).toBe(422);
    expect(result!.message).toMatch(/spec\.stop.*cannot be removed or changed once set/);
  });

  it('lets garbage collection remove the Job when the TrainingJob is deleted', async () => {
    const ns = await freshNamespace(kc);
    await createTrainingJob(ns, 'gone');
    await eventually(
      async () => (await batch.listNamespacedJob({ namespace: ns })).items.length === 1 || undefined,
      {
        what: 'the Job',
      },
    );
    await custom.deleteNamespacedCustomObject({ ...group, namespace: ns, name: 'gone' });
    await eventually(
      async () => (await batch.listNamespacedJob({ namespace: ns })).items.length === 0 || undefined,
      {
        what: 'garbage collection of the Job',
        timeoutMs: 60_000,
      },
    );
  });
});

describe('the operator process', () => {
  beforeAll(async () => {
    await operator?.stop();
    operator = undefined;
  });

  it('leaves exactly one Job per TrainingJob when killed in the middle of reconciling 50 of them', async () => {
    const ns = await freshNamespace(kc);
    await Promise.all(Array.from({ length: 50 }, (_, i) => createTrainingJob(ns, `tj-${i}`)));
    const first = startOperator({
      kubeconfig: operatorKubeconfig,
      identity: 'crashy',
      namespace: ns,
      workers: 2,
    });
    // Kill it once it has created some of the Jobs but (most likely) not all.
    await eventually(
      async () => (await batch.listNamespacedJob({ namespace: ns })).items.length >= 5 || undefined,
      {
        what: 'the first Jobs',
        intervalMs: 50,
      },
    );
    await first.kill();
    const before = (await batch.listNamespacedJob({ namespace: ns })).items.length;

    const second = startOperator({ kubeconfig: operatorKubeconfig, identity: 'restarted', namespace: ns });
    try {
      await eventually(
        async () => {
          const tjs = (await custom.listNamespacedCustomObject({ ...group, namespace: ns })) as {
            items: TrainingJob[];
          };
          return tjs.items.every((tj) => tj.status?.jobName) || undefined;
        },
        { what: 'every TrainingJob to have a Job in its status', timeoutMs: 120_000 },
      );
      const jobs = (await batch.listNamespacedJob({ namespace: ns })).items;
      const owners = jobs.map((j) => j.metadata!.ownerReferences![0]!.name);
      expect(jobs).toHaveLength(50);
      expect(new Set(owners).size).toBe(50);
      expect(before).toBeLessThanOrEqual(50);
    } finally {
      await second.stop();
    }
  });

  it('elects exactly one leader among two instances, and the other takes over within the lease duration', async () => {
    const leaseDurationSeconds = 6;
    const ns = await freshNamespace(kc);
    const a = startOperator({
      kubeconfig: operatorKubeconfig,
      identity: 'op-a',
      leaderElect: true,
      leaseDurationSeconds,
      namespace: ns,
    });
    const b = startOperator({
      kubeconfig: operatorKubeconfig,
      identity: 'op-b',
      leaderElect: true,
      leaseDurationSeconds,
      namespace: ns,
    });
    const coordination = await import('@kubernetes/client-node').then((m) =>
      kc.makeApiClient(m.CoordinationV1Api),
    );
    const holder = async () =>
      (await coordination.readNamespacedLease({ namespace: OPERATOR_NAMESPACE, name: 'k2k-operator' })).spec
        ?.holderIdentity;
    try {
      const leader = await eventually(
        async () => {
          const h = await holder();
          return h === 'op-a' || h === 'op-b' ? h : undefined;
        },
        { what: 'a leader' },
      );
      // Only the leader reconciles.
      await createTrainingJob(ns, 'led');
      await eventuallyReason(ns, 'led', 'Unschedulable');
      const [leading, standby] = leader === 'op-a' ? [a, b] : [b, a];
      expect(leading.logs()).toMatch(/"msg":"[^"]*status updated/);
      expect(standby.logs()).not.toMatch(/status updated/);

      // The leader stops; the standby takes over within the lease duration.
      const stoppedAt = Date.now();
      await leading.stop();
      await eventually(async () => ((await holder()) === standby.identity ? true : undefined), {
        what: 'the standby to take the lease',
        timeoutMs: leaseDurationSeconds * 1000 + 5000,
        intervalMs: 100,
      });
      expect(Date.now() - stoppedAt).toBeLessThan(leaseDurationSeconds * 1000);
      // ...and reconciles.
      await createTrainingJob(ns, 'after');
      await eventuallyReason(ns, 'after', 'Unschedulable');
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
