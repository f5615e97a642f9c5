// The states of a TrainingJob: from creation through scheduling, training and retries to Succeeded or
// Failed, suspended, refused (Stalled) and with its spec not yet observed.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import {
  encodeTermination,
  TRAININGJOB_KIND,
  type TrainingJob,
  TrainingJobSpec,
} from '../../../api/index.ts';
import type { Refusal } from '../../../operator/controllers/conditions.ts';
import { InvalidSpecError } from '../../../operator/controllers/invalid-spec.ts';
import { conflict } from '../../../operator/controllers/ownership.ts';
import { checkPodPolicy } from '../../../operator/controllers/policy.ts';
import { computeStatus as trainingJobStatus } from '../../../operator/controllers/trainingjob/status.ts';
import {
  because,
  degraded,
  fromSample,
  type HealthCase,
  lagMessage,
  NODE,
  NOT_OBSERVED,
  NOW,
  newerSpec,
  progressing,
  RESTRICTED,
  RETRIED,
  STARTED,
  said,
  sample,
  state,
  unschedulable,
} from './case.ts';

const TJ_NAME = sample('trainingjob.yaml').metadata.name;

function trainingJob(spec: Partial<TrainingJob['spec']> = {}, status?: TrainingJob['status']): TrainingJob {
  const tj = fromSample<TrainingJob>(TRAININGJOB_KIND, 'trainingjob.yaml', TrainingJobSpec, spec);
  return status ? { ...tj, status } : tj;
}

interface TrainingJobPass {
  job?: V1Job;
  pods?: V1Pod[];
  error?: Error;
  refusal?: Refusal;
}

/** The TrainingJob after one reconcile pass observed `pass`; status.progress stays the trainer's. */
function trainingJobAfter(tj: TrainingJob, pass: TrainingJobPass = {}): TrainingJob {
  const status = trainingJobStatus(tj, { pods: [], ...pass, now: NOW });
  const progress = tj.status?.progress;
  return { ...tj, status: { ...status, ...(progress ? { progress } : {}) } };
}

function trainerJob(status: V1Job['status'] = {}, deleting = false): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: TJ_NAME,
      namespace: 'ml',
      ...(deleting ? { deletionTimestamp: NOW } : {}),
    },
    spec: { activeDeadlineSeconds: 3600, backoffLimit: 3, template: {} },
    status: { startTime: new Date(STARTED), ...status },
  };
}

const jobCondition = (type: string, reason: string, message: string) => ({
  type,
  status: 'True',
  reason,
  message,
  lastTransitionTime: NOW,
});

const failedJob = (reason: string, message: string, failed = 1) =>
  trainerJob({ failed, conditions: [jobCondition('Failed', reason, message)] });

function trainerPod(
  suffix: string,
  phase: string,
  status: Partial<NonNullable<V1Pod['status']>> = {},
  onNode = true,
  created = STARTED,
): V1Pod {
  return {
    metadata: {
      name: `${TJ_NAME}-${suffix}`,
      namespace: 'ml',
      creationTimestamp: new Date(created),
    },
    spec: { containers: [], ...(onNode ? { nodeName: NODE } : {}) },
    status: { phase, ...status },
  };
}

function trainerContainer(state: NonNullable<V1Pod['status']>['containerStatuses']) {
  return { containerStatuses: state };
}

const trainerState = (state: object, ready = false) =>
  trainerContainer([{ name: 'trainer', image: 'k2k-trainer', imageID: '', ready, restartCount: 0, state }]);

const ARTIFACT = {
  uri: 's3://k2k-models/mnist-mlp/1795582197/',
  version: '1795582197',
  manifestSha256: '78af2144e1c2c1f0d6b7c1d5a3e39b8e0c7f6a1d2b3c4d5e6f708192a3b4c5d6',
};

const succeededPod = trainerPod(
  'a1b2c',
  'Succeeded',
  trainerState({
    terminated: {
      exitCode: 0,
      message: encodeTermination({
        artifact: ARTIFACT,
        metrics: { loss: 0.1217, acc: 0.9683, val_loss: 0.1628, val_acc: 0.955 },
        backend: 'tensorflow',
      }),
    },
  }),
);

/** The pod the Job started after the first one stopped. */
const replacement = (phase: string, status: Partial<NonNullable<V1Pod['status']>>) =>
  trainerPod('d4e5f', phase, status, true, RETRIED);

function failedPod(code: string, message: string, exitCode: number) {
  return trainerPod(
    'f9x8z',
    'Failed',
    trainerState({ terminated: { exitCode, message: encodeTermination({ error: { code, message } }) } }),
  );
}

const progress = {
  epoch: 2,
  epochs: 5,
  metrics: { loss: 0.2717, acc: 0.9251, val_loss: 0.2273, val_acc: 0.9375 },
  history: [
    { epoch: 1, metrics: { loss: 0.4102, acc: 0.8813, val_loss: 0.2911, val_acc: 0.9188 } },
    { epoch: 2, metrics: { loss: 0.2717, acc: 0.9251, val_loss: 0.2273, val_acc: 0.9375 } },
  ],
  backend: 'tensorflow',
  updateTime: '2026-11-25T09:59:30Z',
};

export function trainingJobCases(): HealthCase[] {
  const fresh = trainingJob();
  const withPod = (pod: V1Pod) => trainingJobAfter(fresh, { job: trainerJob({ active: 1 }), pods: [pod] });
  const running = trainingJobAfter(trainingJob({}, { progress }), {
    job: trainerJob({ active: 1 }),
    pods: [trainerPod('a1b2c', 'Running', trainerState({ running: { startedAt: new Date(STARTED) } }, true))],
  });
  const succeeded = trainingJobAfter(fresh, {
    job: trainerJob({
      succeeded: 1,
      completionTime: NOW,
      conditions: [
        jobCondition('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods'),
      ],
    }),
    pods: [succeededPod],
  });
  const healthy = (o: HealthCase['object']) =>
    `${said(o, 'Succeeded')} (${(o as TrainingJob).status?.artifact?.uri})`;
  const refused = (tj: TrainingJob) => checkPodPolicy(tj.spec, RESTRICTED, TRAININGJOB_KIND);
  const foreignRole = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: `${TJ_NAME}-trainer`, namespace: 'ml' },
  };
  const otherImage = trainingJob({ image: 'docker.io/someone/trainer:latest' });
  const suspendedOtherImage = trainingJob({ image: 'docker.io/someone/trainer:latest', suspend: true });
  const ownAccount = trainingJob({ serviceAccountName: 'default' });
  return [
    state('not-observed', fresh, 'Progressing', NOT_OBSERVED, 'Current'),
    progressing('job-created', trainingJobAfter(fresh)),
    progressing('pending-waiting-for-node', withPod(trainerPod('a1b2c', 'Pending', {}, false))),
    progressing(
      'pending-starting',
      withPod(trainerPod('a1b2c', 'Pending', trainerState({ waiting: { reason: 'ContainerCreating' } }))),
    ),
    progressing(
      'unschedulable',
      withPod(
        trainerPod(
          'a1b2c',
          'Pending',
          unschedulable('0/1 nodes are available: 1 Insufficient nvidia.com/gpu.'),
          false,
        ),
      ),
    ),
    progressing(
      'image-pull-failed',
      withPod(
        trainerPod(
          'a1b2c',
          'Pending',
          trainerState({
            waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "k2k-trainer"' },
          }),
        ),
      ),
    ),
    progressing('running', running),
    progressing(
      'evicted-pod-being-replaced',
      trainingJobAfter(trainingJob({}, { progress: { ...progress, pod: `${TJ_NAME}-a1b2c` } }), {
        job: trainerJob({ active: 1 }),
        pods: [
          trainerPod('a1b2c', 'Failed', {
            conditions: [
              {
                type: 'DisruptionTarget',
                status: 'True',
                reason: 'EvictionByEvictionAPI',
                message: 'Eviction API: evicting',
              },
            ],
          }),
          replacement('Pending', trainerState({ waiting: { reason: 'ContainerCreating' } })),
        ],
      }),
    ),
    progressing(
      'running-resumed-from-checkpoint',
      trainingJobAfter(
        trainingJob(
          {},
          { progress: { ...progress, epoch: 3, pod: `${TJ_NAME}-d4e5f`, resumedFromEpoch: 2 } },
        ),
        {
          job: trainerJob({ active: 1 }),
          pods: [replacement('Running', trainerState({ running: { startedAt: new Date(RETRIED) } }, true))],
        },
      ),
    ),
    progressing(
      'restarting',
      trainingJobAfter(fresh, {
        job: trainerJob({ active: 1, failed: 1 }),
        pods: [
          failedPod('Internal', 'out of memory', 137),
          replacement('Pending', trainerState({ waiting: { reason: 'ContainerCreating' } })),
        ],
      }),
    ),
    progressing(
      'trainer-exited-job-not-complete',
      trainingJobAfter(fresh, { job: trainerJob({ active: 0 }), pods: [trainerPod('a1b2c', 'Succeeded')] }),
    ),
    progressing(
      'job-deleted-before-result-read',
      trainingJobAfter(fresh, {
        job: {
          ...trainerJob(
            { succeeded: 1, conditions: [jobCondition('Complete', 'CompletionsReached', '')] },
            true,
          ),
        },
      }),
    ),
    state('succeeded', succeeded, 'Healthy', healthy, 'Current'),
    state(
      'stopped-early',
      trainingJobAfter(
        trainingJob(
          {
            stop: {
              reason: 'EarlyStopped',
              message: 'best 0.2911 at epoch 1 is worse than the median 0.2405 of 2 other trials',
            },
          },
          { progress },
        ),
        {
          job: trainerJob({ active: 1 }),
          pods: [
            trainerPod('a1b2c', 'Running', trainerState({ running: { startedAt: new Date(STARTED) } }, true)),
          ],
        },
      ),
      'Degraded',
      because('Failed'),
      'Failed',
    ),
    state(
      'stopped-by-hand',
      trainingJobAfter(trainingJob({ stop: { reason: 'Stopped' } }, { progress }), {
        job: trainerJob({ active: 0 }),
      }),
      'Degraded',
      because('Failed'),
      'Failed',
    ),
    state('succeeded-job-deleted', trainingJobAfter(succeeded), 'Healthy', healthy, 'Current'),
    degraded(
      'failed-invalid-input',
      trainingJobAfter(fresh, {
        job: failedJob(
          'PodFailurePolicy',
          'Container trainer for pod ml/mnist-mlp-f9x8z failed with exit code 65',
        ),
        pods: [
          failedPod(
            'InvalidDataset',
            'dataset s3://k2k-datasets/mnist/: train-images-idx3-ubyte is missing',
            65,
          ),
        ],
      }),
      'Failed',
    ),
    degraded(
      'failed-backoff-limit-exceeded',
      trainingJobAfter(fresh, {
        job: failedJob('BackoffLimitExceeded', 'Job has reached the specified backoff limit', 4),
        pods: [failedPod('Internal', 'out of memory', 137)],
      }),
      'Failed',
    ),
    degraded(
      'failed-deadline-exceeded',
      trainingJobAfter(fresh, {
        job: failedJob('DeadlineExceeded', 'Job was active longer than specified deadline'),
      }),
      'Failed',
    ),
    degraded(
      'failed-other-reason',
      trainingJobAfter(fresh, { job: failedJob('FailedIndexes', 'Job has failed indexes') }),
      'Failed',
    ),
    state(
      'suspended',
      trainingJobAfter(trainingJob({ suspend: true })),
      'Suspended',
      because('Suspended'),
      'InProgress',
    ),
    progressing(
      'reconcile-error',
      trainingJobAfter(fresh, { error: new Error('Internal error occurred: etcdserver: request timed out') }),
    ),
    degraded('conflict', trainingJobAfter(fresh, { refusal: conflict(foreignRole, fresh) })),
    degraded('image-not-allowed', trainingJobAfter(otherImage, { refusal: refused(otherImage) })),
    degraded(
      'suspended-image-not-allowed',
      trainingJobAfter(suspendedOtherImage, { refusal: refused(suspendedOtherImage) }),
    ),
    degraded('service-account-not-allowed', trainingJobAfter(ownAccount, { refusal: refused(ownAccount) })),
    degraded(
      'invalid-spec',
      trainingJobAfter(fresh, {
        error: new InvalidSpecError(
          'the API server refused the Job built from this spec (change the spec): Job.batch "mnist-mlp" is invalid: spec.template.spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
        ),
      }),
    ),
    state('generation-not-observed', newerSpec(running), 'Progressing', lagMessage, 'InProgress'),
    state('succeeded-generation-not-observed', newerSpec(succeeded), 'Progressing', lagMessage, 'InProgress'),
  ];
}
