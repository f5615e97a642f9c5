import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { type Condition, MAX_RESUMES, type TrainingJob } from '../../../api/index.ts';
import { InvalidSpecError } from '../invalid-spec.ts';
import { attemptsOf, computeStatus, finishedSummary, newResumes, statusChanged } from './status.ts';

const now = new Date('2026-11-25T10:00:00Z');

function trainingJob(
  overrides: { suspend?: boolean; stop?: TrainingJob['spec']['stop']; status?: TrainingJob['status'] } = {},
): TrainingJob {
  return {
    apiVersion: 'k2k.dev/v1alpha1',
    kind: 'TrainingJob',
    metadata: { name: 'mnist', namespace: 'ml', uid: 'u', generation: 2 },
    spec: {
      suspend: overrides.suspend ?? false,
      ...(overrides.stop ? { stop: overrides.stop } : {}),
    } as TrainingJob['spec'],
    status: overrides.status,
  };
}

const job = (status: V1Job['status'] = {}): V1Job => ({
  metadata: { name: 'mnist' },
  spec: { activeDeadlineSeconds: 60, template: {} },
  status,
});
const failedJob = (reason: string, failed = 1) =>
  job({
    failed,
    conditions: [
      { type: 'Failed', status: 'True', reason, message: `Job has ${reason}`, lastTransitionTime: now },
    ],
  });

function pod(
  phase: string,
  extra: Partial<V1Pod['status']> = {},
  created = '2026-11-25T09:00:00Z',
  nodeName?: string,
): V1Pod {
  return {
    metadata: { name: `mnist-${phase.toLowerCase()}`, creationTimestamp: new Date(created) },
    spec: { containers: [], ...(nodeName ? { nodeName } : {}) },
    status: { phase, ...extra },
  };
}

const terminated = (message: string, exitCode: number) => ({
  containerStatuses: [
    {
      name: 'trainer',
      image: 'i',
      imageID: '',
      ready: false,
      restartCount: 0,
      state: { terminated: { exitCode, message } },
    },
  ],
});

const condition = (conditions: Condition[] | undefined, type: string) =>
  conditions?.find((c) => c.type === type);

describe('computeStatus', () => {
  it.each([
    {
      name: 'says the Job is being created before it exists',
      tj: trainingJob(),
      job: undefined,
      pods: [],
      phase: 'Pending',
      reason: 'JobCreated',
    },
    {
      name: 'reports Unschedulable with the scheduler’s message when no node has a GPU',
      tj: trainingJob(),
      job: job({ active: 1 }),
      pods: [
        pod('Pending', {
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: '0/1 nodes are available: 1 Insufficient nvidia.com/gpu.',
            },
          ],
        }),
      ],
      phase: 'Pending',
      reason: 'Unschedulable',
      message: /Insufficient nvidia\.com\/gpu/,
    },
    {
      name: 'says plainly that the pod waits for a node when none is assigned',
      tj: trainingJob(),
      job: job({ active: 1 }),
      pods: [pod('Pending')],
      phase: 'Pending',
      reason: 'Pending',
      message: /waiting to be scheduled on a node/,
    },
    {
      name: 'reports an image that cannot be pulled',
      tj: trainingJob(),
      job: job({ active: 1 }),
      pods: [
        pod(
          'Pending',
          {
            containerStatuses: [
              {
                name: 'trainer',
                image: 'x',
                imageID: '',
                ready: false,
                restartCount: 0,
                state: { waiting: { reason: 'ErrImagePull', message: 'not found' } },
              },
            ],
          },
          undefined,
          'node-1',
        ),
      ],
      phase: 'Pending',
      reason: 'ImagePullFailed',
    },
    {
      name: 'is Running while the trainer pod runs, with the epoch the trainer reported',
      tj: trainingJob({ status: { progress: { epoch: 3, epochs: 10, metrics: {} } } }),
      job: job({ active: 1, startTime: now }),
      pods: [pod('Running')],
      phase: 'Running',
      reason: 'Running',
      message: /epoch 3\/10/,
    },
    {
      name: 'stays Running between the trainer’s exit and the Job being marked Complete',
      tj: trainingJob({ status: { progress: { epoch: 10, epochs: 10, metrics: {} } } }),
      job: job({
        active: 0,
        conditions: [{ type: 'SuccessCriteriaMet', status: 'True', lastTransitionTime: now }],
      }),
      pods: [pod('Succeeded', terminated('{}', 0), '2026-11-25T09:00:00Z', 'node-a')],
      phase: 'Running',
      reason: 'Running',
      message: /mnist-succeeded finished; waiting for Job mnist to complete/,
    },
    {
      name: 'says it is restarting after a failed attempt',
      tj: trainingJob(),
      job: job({ active: 1, failed: 1 }),
      pods: [pod('Failed', {}, '2026-11-25T08:00:00Z'), pod('Pending')],
      phase: 'Pending',
      reason: 'Restarting',
    },
    {
      name: 'says it is restarting, not pending, while a deleted trainer pod terminates',
      tj: trainingJob({ status: { progress: { epoch: 3, epochs: 10, metrics: {} } } }),
      job: job({ active: 0 }),
      pods: [{ ...pod('Running'), metadata: { ...pod('Running').metadata, deletionTimestamp: now } }],
      phase: 'Pending',
      reason: 'Restarting',
      message:
        /mnist-running is being deleted; the Job replaces it and training resumes from the newest checkpoint/,
    },
    {
      name: 'says an evicted trainer pod was stopped, which the Job does not count as a failure',
      tj: trainingJob({ status: { progress: { epoch: 3, epochs: 10, metrics: {} } } }),
      job: job({ active: 1 }),
      pods: [
        pod(
          'Failed',
          {
            conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI' }],
          },
          '2026-11-25T08:00:00Z',
        ),
        pod('Pending', {}, '2026-11-25T09:00:00Z', 'node-1'),
      ],
      phase: 'Pending',
      reason: 'Restarting',
      message: /mnist-failed was stopped \(EvictionByEvictionAPI\).*mnist-pending is starting on node node-1/,
    },
    {
      name: 'says a trainer pod that exited on SIGTERM (143) was deleted or evicted',
      tj: trainingJob(),
      job: job({ active: 1 }),
      pods: [pod('Failed', terminated('{}', 143), '2026-11-25T08:00:00Z'), pod('Pending')],
      phase: 'Pending',
      reason: 'Restarting',
      message: /mnist-failed was stopped \(deleted or evicted\)/,
    },
    {
      name: 'does not promise a replacement for a trainer that rejected its input, before the Job fails',
      tj: trainingJob(),
      job: job({ active: 0 }),
      pods: [pod('Failed', terminated('{}', 65))],
      phase: 'Pending',
      reason: 'Pending',
      message: /^(?!.*replaces it)/,
    },
    {
      name: 'says it is restarting from the trainer’s last report once the stopped pod is gone and no new one exists yet',
      tj: trainingJob({ status: { progress: { epoch: 3, epochs: 10, metrics: {}, pod: 'mnist-abc' } } }),
      job: job({ active: 0 }),
      pods: [],
      phase: 'Pending',
      reason: 'Restarting',
      message:
        /the trainer pod mnist-abc that reported epoch 3\/10 stopped before it finished.*waiting for the trainer pod to be created/,
    },
    {
      name: 'is plainly Pending, not restarting, when the trainer pod went because the Job was suspended and resumed',
      tj: trainingJob({
        status: { progress: { epoch: 3, epochs: 10, metrics: {}, updateTime: '2026-11-25T09:00:00Z' } },
      }),
      job: job({
        active: 0,
        conditions: [
          {
            type: 'Suspended',
            status: 'False',
            reason: 'JobResumed',
            lastTransitionTime: new Date('2026-11-25T09:30:00Z'),
          },
        ],
      }),
      pods: [],
      phase: 'Pending',
      reason: 'Pending',
      message: /waiting for the trainer pod to be created/,
    },
    {
      name: 'says from which checkpoint the running trainer pod resumed, once that pod reported it',
      tj: trainingJob({
        status: {
          progress: { epoch: 4, epochs: 10, metrics: {}, pod: 'mnist-running', resumedFromEpoch: 3 },
        },
      }),
      job: job({ active: 1 }),
      pods: [pod('Running')],
      phase: 'Running',
      reason: 'Running',
      message: /training in pod mnist-running, epoch 4\/10, resumed from the checkpoint of epoch 3$/,
    },
    {
      name: 'does not say the running pod resumed while the progress is still the stopped pod’s',
      tj: trainingJob({
        status: { progress: { epoch: 4, epochs: 10, metrics: {}, pod: 'mnist-old', resumedFromEpoch: 3 } },
      }),
      job: job({ active: 1 }),
      pods: [pod('Running')],
      phase: 'Running',
      reason: 'Running',
      message: /^training in pod mnist-running, epoch 4\/10$/,
    },
    {
      name: 'succeeds with the artifact from the trainer’s termination message',
      tj: trainingJob(),
      job: job({
        succeeded: 1,
        completionTime: now,
        conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: now }],
      }),
      pods: [
        pod(
          'Succeeded',
          terminated(
            JSON.stringify({
              artifact: { uri: 's3://m/mnist/1/', version: '1', manifestSha256: 'abc' },
              metrics: { val_acc: 0.93 },
            }),
            0,
          ),
        ),
      ],
      phase: 'Succeeded',
      reason: 'Succeeded',
    },
    {
      name: 'fails as InvalidInput with the trainer’s error when the pod failure policy stopped it',
      tj: trainingJob(),
      job: failedJob('PodFailurePolicy'),
      pods: [
        pod(
          'Failed',
          terminated(JSON.stringify({ error: { code: 'InvalidInput', message: 'loss became NaN' } }), 65),
        ),
      ],
      phase: 'Failed',
      reason: 'InvalidInput',
      message: /loss became NaN/,
    },
    {
      name: 'fails as BackoffLimitExceeded after the retries',
      tj: trainingJob(),
      job: failedJob('BackoffLimitExceeded', 4),
      pods: [pod('Failed', terminated('Error: storage unreachable\n', 75))],
      phase: 'Failed',
      reason: 'BackoffLimitExceeded',
      message: /failed 4 times: Error: storage unreachable/,
    },
    {
      name: 'fails as DeadlineExceeded past activeDeadlineSeconds',
      tj: trainingJob(),
      job: failedJob('DeadlineExceeded'),
      pods: [],
      phase: 'Failed',
      reason: 'DeadlineExceeded',
    },
    {
      name: 'is Suspended when spec.suspend is true',
      tj: trainingJob({ suspend: true }),
      job: job({}),
      pods: [],
      phase: 'Suspended',
      reason: 'Suspended',
    },
  ])('$name', ({ tj, job, pods, phase, reason, message }) => {
    const status = computeStatus(tj, { job, pods, now });
    expect(status.phase).toBe(phase);
    const ready = condition(status.conditions, 'Ready')!;
    expect(ready.reason).toBe(reason);
    expect(ready.status).toBe(phase === 'Succeeded' ? 'True' : 'False');
    expect(ready.observedGeneration).toBe(2);
    if (message) expect(ready.message).toMatch(message);
    expect(condition(status.conditions, 'Stalled')?.status).toBe(phase === 'Failed' ? 'True' : 'False');
    expect(condition(status.conditions, 'Reconciling')?.status).toBe(
      phase === 'Pending' || phase === 'Running' ? 'True' : 'False',
    );
    expect(status.observedGeneration).toBe(2);
  });

  const earlyStop = {
    reason: 'EarlyStopped' as const,
    message: 'val_loss 2.1 at epoch 1 is worse than the median 0.4',
  };
  const artifactMessage = JSON.stringify({
    artifact: { uri: 's3://m/mnist/1/', version: '1', manifestSha256: 'abc' },
    metrics: { val_acc: 0.93 },
  });
  const running = pod('Running', {}, '2026-11-25T09:00:00Z', 'node-1');
  it.each([
    {
      name: 'stops a running TrainingJob with the stop’s reason and message, Failed and Stalled',
      tj: trainingJob({ stop: earlyStop }),
      job: job({ active: 1 }),
      pods: [running],
      phase: 'Stopped',
      reason: 'EarlyStopped',
      message: earlyStop.message,
    },
    {
      name: 'stops a TrainingJob whose Job was never made, with the default reason Stopped',
      tj: trainingJob({ stop: { reason: 'Stopped' } }),
      job: undefined,
      pods: [],
      phase: 'Stopped',
      reason: 'Stopped',
      message: 'spec.stop is set: the trainer was stopped',
    },
    {
      name: 'stops a suspended TrainingJob for good',
      tj: trainingJob({ suspend: true, stop: earlyStop }),
      job: job({}),
      pods: [],
      phase: 'Stopped',
      reason: 'EarlyStopped',
      message: earlyStop.message,
    },
    {
      name: 'records success when the trainer committed its artifact before the stop was seen',
      tj: trainingJob({ stop: earlyStop }),
      job: job({ active: 1 }),
      pods: [pod('Succeeded', terminated(artifactMessage, 0))],
      phase: 'Succeeded',
      reason: 'Succeeded',
      message: 'the model was trained and its artifact written',
    },
    {
      name: 'records the failure when the Job had failed before the stop was seen',
      tj: trainingJob({ stop: earlyStop }),
      job: failedJob('BackoffLimitExceeded', 4),
      pods: [],
      phase: 'Failed',
      reason: 'BackoffLimitExceeded',
      message: 'the trainer failed 4 times',
    },
  ])('$name', ({ tj, job, pods, phase, reason, message }) => {
    const status = computeStatus(tj, { job, pods, now });
    expect(status.phase).toBe(phase);
    expect(condition(status.conditions, 'Ready')).toMatchObject({
      status: phase === 'Succeeded' ? 'True' : 'False',
      reason,
      message,
    });
    expect(condition(status.conditions, 'Failed')?.status).toBe(phase === 'Succeeded' ? 'False' : 'True');
    expect(condition(status.conditions, 'Stalled')?.status).toBe(phase === 'Succeeded' ? 'False' : 'True');
    expect(condition(status.conditions, 'Reconciling')?.status).toBe('False');
    expect(status.completionTime).toBeDefined();
  });

  it.each([
    {
      name: 'keeps a succeeded TrainingJob succeeded, artifact and all, when a stop arrives afterwards',
      finished: {
        phase: 'Succeeded',
        artifact: { uri: 's3://m/mnist/1/', version: '1' },
        metrics: { val_acc: 0.9 },
        conditions: [
          {
            type: 'Succeeded',
            status: 'True',
            reason: 'Succeeded',
            message: 'trained',
            lastTransitionTime: '2026-11-25T09:30:00Z',
          },
          {
            type: 'Ready',
            status: 'True',
            reason: 'Succeeded',
            message: 'trained',
            lastTransitionTime: '2026-11-25T09:30:00Z',
          },
        ],
      },
      phase: 'Succeeded',
    },
    {
      name: 'keeps a stopped TrainingJob stopped whatever its Job shows afterwards',
      finished: {
        phase: 'Stopped',
        conditions: [
          {
            type: 'Failed',
            status: 'True',
            reason: 'EarlyStopped',
            message: 'worse',
            lastTransitionTime: '2026-11-25T09:30:00Z',
          },
        ],
      },
      phase: 'Stopped',
    },
  ])('$name', ({ finished, phase }) => {
    const tj = trainingJob({ stop: earlyStop, status: finished as TrainingJob['status'] });
    const status = computeStatus(tj, {
      job: job({ succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] }),
      pods: [pod('Succeeded', terminated(artifactMessage, 0))],
      now,
    });
    expect(status.phase).toBe(phase);
    expect(finishedSummary(status)?.phase).toBe(phase);
    if (phase === 'Succeeded') {
      expect(status.artifact).toEqual({ uri: 's3://m/mnist/1/', version: '1' });
      expect(condition(status.conditions, 'Failed')?.status).toBe('False');
    } else expect(status.artifact).toBeUndefined();
  });

  it('sets every condition from the first reconcile, so tools never see an empty status', () => {
    const types = computeStatus(trainingJob(), { pods: [], now }).conditions!.map((c) => c.type);
    expect(types.sort()).toEqual([
      'Failed',
      'Ready',
      'Reconciling',
      'Running',
      'Stalled',
      'Succeeded',
      'Suspended',
    ]);
  });

  it('records the artifact and final metrics once the Job completes', () => {
    const status = computeStatus(trainingJob(), {
      job: job({ succeeded: 1, completionTime: now, conditions: [{ type: 'Complete', status: 'True' }] }),
      pods: [
        pod(
          'Succeeded',
          terminated(
            JSON.stringify({ artifact: { uri: 's3://m/x/1/', version: '1' }, metrics: { loss: 0.1 } }),
            0,
          ),
        ),
      ],
      now,
    });
    expect(status.artifact).toEqual({ uri: 's3://m/x/1/', version: '1' });
    expect(status.metrics).toEqual({ loss: 0.1 });
    expect(status.completionTime).toBe('2026-11-25T10:00:00Z');
  });

  it('leaves out metrics the trainer could not compute (null), which the status schema cannot hold', () => {
    const status = computeStatus(trainingJob(), {
      job: job({ succeeded: 1, completionTime: now, conditions: [{ type: 'Complete', status: 'True' }] }),
      pods: [pod('Succeeded', terminated(JSON.stringify({ metrics: { loss: 0.1, val_loss: null } }), 0))],
      now,
    });
    expect(status.metrics).toEqual({ loss: 0.1 });
  });

  it('shows a reconcile error as a condition, not only as an event', () => {
    const status = computeStatus(trainingJob(), {
      pods: [],
      now,
      error: new Error('jobs.batch is forbidden'),
    });
    expect(condition(status.conditions, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ReconcileError',
      message: 'jobs.batch is forbidden',
    });
    expect(condition(status.conditions, 'Reconciling')?.status).toBe('True');
  });

  it('stalls with InvalidSpec, not retrying, when the API server refused a child built from the spec', () => {
    const message =
      'the API server refused the Job built from this spec (change the spec): Job.batch "x" is invalid: spec.template.spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1';
    const status = computeStatus(trainingJob(), { pods: [], now, error: new InvalidSpecError(message) });
    expect(condition(status.conditions, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'InvalidSpec',
      message,
    });
    expect(condition(status.conditions, 'Stalled')).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(condition(status.conditions, 'Reconciling')?.status).toBe('False');
  });

  it('counts attempts from the Job’s pods', () => {
    expect(
      computeStatus(trainingJob(), { job: job({ active: 1, failed: 2 }), pods: [pod('Running')], now })
        .attempts,
    ).toBe(3);
  });

  it.each([
    {
      name: 'counts a finished pod the Job controller has not moved out of uncountedTerminatedPods yet',
      status: { failed: 1, uncountedTerminatedPods: { succeeded: ['uid-2'] } },
      pods: 1,
      attempts: 2,
    },
    {
      name: 'counts the pods it sees when the Job’s counters lag behind them',
      status: { active: 1 },
      pods: 2,
      attempts: 2,
    },
    { name: 'counts the Job’s counters when its pods are gone', status: { failed: 3 }, pods: 0, attempts: 3 },
  ])('$name', ({ status, pods, attempts }) => {
    expect(
      attemptsOf(
        job(status),
        Array.from({ length: pods }, () => pod('Failed')),
      ),
    ).toBe(attempts);
  });

  it('keeps a condition’s transition time while its status does not change', () => {
    const first = computeStatus(trainingJob(), { job: job({ active: 1 }), pods: [pod('Running')], now });
    const later = new Date(now.getTime() + 60_000);
    const second = computeStatus(trainingJob({ status: first }), {
      job: job({ active: 1 }),
      pods: [pod('Running')],
      now: later,
    });
    expect(condition(second.conditions, 'Running')?.lastTransitionTime).toBe('2026-11-25T10:00:00Z');
    expect(statusChanged(first, second)).toBe(false);
  });
});

describe('computeStatus of a refused TrainingJob', () => {
  const refusal = { reason: 'Conflict', message: 'Role mnist-trainer already exists' };
  it.each([
    {
      name: 'is stalled, not reconciling, with the refusal on Ready when nothing was created',
      observed: { pods: [], refusal, now },
      phase: 'Pending',
      expected: { Ready: 'False', Reconciling: 'False', Stalled: 'True' },
      reason: 'Conflict',
    },
    {
      name: 'outranks an error of the same pass',
      observed: { pods: [], refusal, error: new Error('boom'), now },
      phase: 'Pending',
      expected: { Ready: 'False', Reconciling: 'False', Stalled: 'True' },
      reason: 'Conflict',
    },
    {
      name: 'never turns a succeeded TrainingJob into a refused one',
      observed: {
        job: job({ succeeded: 1, completionTime: now, conditions: [{ type: 'Complete', status: 'True' }] }),
        pods: [],
        refusal: { reason: 'ImageNotAllowed', message: 'spec.image x is not allowed' },
        now,
      },
      phase: 'Succeeded',
      expected: { Ready: 'True', Reconciling: 'False', Stalled: 'False' },
      reason: 'Succeeded',
    },
  ])('$name', ({ observed, phase, expected, reason }) => {
    const status = computeStatus(trainingJob(), observed);
    expect(status.phase).toBe(phase);
    for (const [type, value] of Object.entries(expected))
      expect({ type, status: condition(status.conditions, type)?.status }).toEqual({ type, status: value });
    expect(condition(status.conditions, 'Ready')?.reason).toBe(reason);
    expect(condition(status.conditions, 'Stalled')?.reason).toBe(
      reason === 'Succeeded' ? 'Succeeded' : reason,
    );
  });
});

describe('status.resumes', () => {
  const resumedProgress = (pod: string, resumedFromEpoch?: number) => ({
    epoch: 4,
    epochs: 10,
    metrics: {},
    pod,
    ...(resumedFromEpoch ? { resumedFromEpoch } : {}),
  });
  const running = job({ active: 1 });

  it('records the trainer pod that reported it resumed, with its checkpoint epoch and when it was seen', () => {
    const tj = trainingJob({ status: { progress: resumedProgress('mnist-b', 3) } });
    const status = computeStatus(tj, { job: running, pods: [pod('Running')], now });
    expect(status.resumes).toEqual([{ pod: 'mnist-b', epoch: 3, time: '2026-11-25T10:00:00Z' }]);
    expect(newResumes(tj.status, status)).toEqual(status.resumes);
  });

  it.each([
    { name: 'the same pod reports again', progress: resumedProgress('mnist-b', 3) },
    { name: 'a pod that trained from the first epoch reports', progress: resumedProgress('mnist-c') },
    { name: 'the trainer has not reported yet', progress: undefined },
  ])('keeps what it recorded, and announces nothing new, when $name', ({ progress }) => {
    const recorded = [{ pod: 'mnist-b', epoch: 3, time: '2026-11-25T09:30:00Z' }];
    const tj = trainingJob({ status: { resumes: recorded, ...(progress ? { progress } : {}) } });
    const status = computeStatus(tj, { job: running, pods: [pod('Running')], now });
    expect(status.resumes).toEqual(recorded);
    expect(newResumes(tj.status, status)).toEqual([]);
  });

  it('adds a second resume of the same epoch by another pod', () => {
    const recorded = [{ pod: 'mnist-b', epoch: 3, time: '2026-11-25T09:30:00Z' }];
    const tj = trainingJob({ status: { resumes: recorded, progress: resumedProgress('mnist-c', 3) } });
    const status = computeStatus(tj, { job: running, pods: [pod('Running')], now });
    expect(status.resumes?.map((r) => r.pod)).toEqual(['mnist-b', 'mnist-c']);
    expect(newResumes(tj.status, status).map((r) => r.pod)).toEqual(['mnist-c']);
  });

  it(`keeps only the newest ${MAX_RESUMES}, so a job evicted over and over does not grow its status`, () => {
    const recorded = Array.from({ length: MAX_RESUMES }, (_, i) => ({
      pod: `mnist-${i}`,
      epoch: 1,
      time: '2026-11-25T09:30:00Z',
    }));
    const tj = trainingJob({ status: { resumes: recorded, progress: resumedProgress('mnist-new', 2) } });
    const status = computeStatus(tj, { job: running, pods: [pod('Running')], now });
    expect(status.resumes).toHaveLength(MAX_RESUMES);
    expect(status.resumes?.at(0)?.pod).toBe('mnist-1');
    expect(status.resumes?.at(-1)).toMatchObject({ pod: 'mnist-new', epoch: 2 });
  });

  it('records the last trainer’s resume even when it is first seen after the TrainingJob succeeded', () => {
    const succeeded = computeStatus(trainingJob(), {
      job: job({ succeeded: 1, conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: now }] }),
      pods: [
        pod('Succeeded', terminated(JSON.stringify({ artifact: { uri: 's3://m/1/', version: '1' } }), 0)),
      ],
      now,
    });
    const tj = trainingJob({ status: { ...succeeded, progress: resumedProgress('mnist-b', 3) } });
    const status = computeStatus(tj, { pods: [], now });
    expect(status.phase).toBe('Succeeded');
    expect(status.resumes).toEqual([{ pod: 'mnist-b', epoch: 3, time: '2026-11-25T10:00:00Z' }]);
  });
});

describe('statusChanged', () => {
  it('ignores the trainer-owned progress field', () => {
    const status = computeStatus(trainingJob(), { pods: [], now });
    expect(statusChanged({ ...status, progress: { epoch: 1, epochs: 2, metrics: {} } }, status)).toBe(false);
  });

  it('sees a changed condition', () => {
    const a = computeStatus(trainingJob(), { pods: [], now });
    const b = computeStatus(trainingJob(), { job: job({ active: 1 }), pods: [pod('Running')], now });
    expect(statusChanged(a, b)).toBe(true);
  });
});

describe('a finished TrainingJob', () => {
  const trained = {
    artifact: { uri: 's3://m/mnist/1/', version: '1', manifestSha256: 'abc' },
    metrics: { val_acc: 0.93, loss: 0.1 },
  };
  const completeJob = job({
    succeeded: 1,
    startTime: new Date('2026-11-25T09:00:00Z'),
    completionTime: now,
    conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: now }],
  });
  const trainerPod = pod('Succeeded', terminated(JSON.stringify(trained), 0));
  const progress = { epoch: 5, epochs: 5, metrics: { loss: 0.1 } };
  /** The status as the reconciler recorded it when the trainer succeeded, plus the trainer's progress. */
  const succeeded = {
    ...computeStatus(trainingJob(), { job: completeJob, pods: [trainerPod], now }),
    progress,
  };
  const failed = {
    ...computeStatus(trainingJob(), {
      job: failedJob('PodFailurePolicy'),
      pods: [
        pod(
          'Failed',
          terminated(
            JSON.stringify({ error: { code: 'InvalidDataset', message: 'row 3: not a number' } }),
            65,
          ),
        ),
      ],
      now,
    }),
    progress,
  };
  const later = new Date(now.getTime() + 3_600_000);
  const freshJob = job({ active: 1, startTime: later });

  it.each([
    { name: 'stays Succeeded with its artifact and metrics when its Job is deleted', status: succeeded },
    {
      name: 'stays Succeeded when its Job is replaced by a fresh one that has not run yet',
      status: succeeded,
      job: freshJob,
      pods: [pod('Pending', {}, later.toISOString())],
    },
    {
      name: 'stays Succeeded when someone else’s Job of that name is running',
      status: succeeded,
      job: freshJob,
      pods: [pod('Running', {}, later.toISOString())],
    },
    {
      name: 'stays Succeeded when its trainer pods are gone but the Job is left',
      status: succeeded,
      job: completeJob,
    },
    {
      name: 'stays Succeeded when a fresh Job of that name failed',
      status: succeeded,
      job: failedJob('BackoffLimitExceeded'),
    },
    {
      name: 'stays Succeeded when the apply of this pass failed',
      status: succeeded,
      error: new Error('jobs.batch is forbidden'),
    },
    { name: 'stays Succeeded when it is suspended afterwards', status: succeeded, suspend: true },
    { name: 'stays Failed with the trainer’s reason when its Job is deleted', status: failed },
    {
      name: 'stays Failed when its Job is replaced by a fresh one that runs',
      status: failed,
      job: freshJob,
      pods: [pod('Running', {}, later.toISOString())],
    },
  ])('$name', ({ status, job: observedJob, pods = [], error, suspend }) => {
    const tj = trainingJob({ status, suspend });
    const next = computeStatus(tj, { job: observedJob, pods, error, now: later });
    const { progress: _trainerOwned, ...recorded } = status;
    expect(next).toEqual(recorded);
    // Nothing to patch, and so nothing the next server-side apply could drop.
    expect(statusChanged(tj.status, next)).toBe(false);
  });

  it('recorded the trainer’s artifact, metrics and the Job’s times when it succeeded', () => {
    expect(succeeded).toMatchObject({
      phase: 'Succeeded',
      artifact: trained.artifact,
      metrics: trained.metrics,
      jobName: 'mnist',
      startTime: '2026-11-25T09:00:00Z',
      completionTime: '2026-11-25T10:00:00Z',
    });
    expect(failed).toMatchObject({ phase: 'Failed' });
    expect(condition(failed.conditions, 'Ready')).toMatchObject({
      reason: 'InvalidInput',
      message: 'the trainer rejected its input: row 3: not a number',
    });
  });

  it('follows a new generation of its spec without changing its result', () => {
    const tj = trainingJob({ status: succeeded });
    tj.metadata.generation = 3;
    const next = computeStatus(tj, { pods: [], now: later });
    expect(next.observedGeneration).toBe(3);
    expect(next.conditions!.every((c) => c.observedGeneration === 3)).toBe(true);
    expect(next.conditions!.map(({ observedGeneration: _g, ...c }) => c)).toEqual(
      succeeded.conditions!.map(({ observedGeneration: _g, ...c }) => c),
    );
    expect(next).toMatchObject({ phase: 'Succeeded', artifact: trained.artifact, metrics: trained.metrics });
  });

  it.each([
    {
      name: 'succeeds as soon as the trainer pod exited 0 with its artifact, before the Job is marked Complete',
      job: job({ conditions: [{ type: 'SuccessCriteriaMet', status: 'True', lastTransitionTime: now }] }),
    },
    {
      name: 'succeeds from the trainer pod’s termination message when the Job was deleted before it completed',
      job: undefined,
    },
  ])('$name', ({ job: observedJob }) => {
    const next = computeStatus(trainingJob(), { job: observedJob, pods: [trainerPod], now });
    expect(next).toMatchObject({ phase: 'Succeeded', artifact: trained.artifact, metrics: trained.metrics });
    expect(condition(next.conditions, 'Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
  });

  it('does not finish without its artifact when the completed Job is deleted before its pods were read', () => {
    const deleting = { ...completeJob, metadata: { ...completeJob.metadata, deletionTimestamp: now } };
    const next = computeStatus(trainingJob(), { job: deleting, pods: [], now });
    expect(next).toMatchObject({ phase: 'Running' });
    expect(next.artifact).toBeUndefined();
    expect(finishedSummary(next)).toBeUndefined();
    expect(condition(next.conditions, 'Ready')!.message).toMatch(/will run again to report its artifact/);
  });

  it('is not finished while no trainer has succeeded or failed, so a deleted Job is made again', () => {
    const running = computeStatus(trainingJob(), { job: job({ active: 1 }), pods: [pod('Running')], now });
    expect(finishedSummary(running)).toBeUndefined();
    expect(finishedSummary(succeeded)).toMatchObject({ phase: 'Succeeded', reason: 'Succeeded' });
    expect(finishedSummary(failed)).toMatchObject({ phase: 'Failed', reason: 'InvalidInput' });
    const deleted = computeStatus(trainingJob({ status: running }), { pods: [], now: later });
    expect(deleted).toMatchObject({ phase: 'Pending' });
  });
});
