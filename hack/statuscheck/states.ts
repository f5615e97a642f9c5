// Every state a k2k resource can be in, computed by the operator's own status functions
// (operator/controllers/*/status.ts) from what a reconcile pass would observe, with what Argo CD's
// health check and kstatus must make of it. files.ts writes them as argo-cd's health_test.yaml
// fixtures; main.go runs both tools on them. A state missing here is a state nobody checks.
import { readFileSync } from 'node:fs';
import type { KubernetesObject, V1Deployment, V1Job, V1Pod } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { Value } from 'typebox/value';
import {
  API_VERSION,
  type Condition,
  encodeTermination,
  type HyperparameterSweep,
  HyperparameterSweepSpec,
  MODELDEPLOYMENT_KIND,
  type ModelDeployment,
  ModelDeploymentSpec,
  ModelLoadFailure,
  ServerExitCode,
  SWEEP_KIND,
  TRAININGJOB_KIND,
  type TrainingJob,
  TrainingJobSpec,
} from '../../api/index.ts';
import { InvalidSpecError } from '../../operator/controllers/invalid-spec.ts';
import {
  computeStatus as modelDeploymentStatus,
  resolveArtifact,
} from '../../operator/controllers/modeldeployment/status.ts';
import { conflict } from '../../operator/controllers/ownership.ts';
import { checkPodPolicy, type PodPolicy } from '../../operator/controllers/policy.ts';
import { planTrials } from '../../operator/controllers/sweep/plan.ts';
import {
  computeSweepStatus,
  invalidSearchSpace,
  sweepOutcome,
} from '../../operator/controllers/sweep/status.ts';
import { type TrialOutcome, trialOf } from '../../operator/controllers/sweep/testing.ts';
import { forAlgorithm, sweepTrials } from '../../operator/controllers/sweep/trials.ts';
import { computeStatus as trainingJobStatus } from '../../operator/controllers/trainingjob/status.ts';

/** Argo CD's health status codes that k2k's scripts return. */
export type ArgoHealth = 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended';
/** kstatus results a k2k resource can have (Terminating is kstatus's own, from deletionTimestamp). */
export type KStatus = 'Current' | 'InProgress' | 'Failed';

export interface HealthCase {
  /** The testdata file's name, without .yaml. */
  name: string;
  object: KubernetesObject & { status?: { conditions?: Condition[] } };
  health: { status: ArgoHealth; message: string };
  kstatus: KStatus;
}

const NOW = new Date('2026-11-25T10:00:00Z');
const CREATED = '2026-11-25T09:55:00Z';
const STARTED = '2026-11-25T09:56:00Z';
const RETRIED = '2026-11-25T09:58:00Z';
const NODE = 'k2k-node';
/** What the scripts say before the operator wrote any status. */
export const NOT_OBSERVED = 'Waiting for the k2k operator to report status';
const RESTRICTED: PodPolicy = {
  allowedImages: ['registry.example.com/ml/'],
  allowedServiceAccounts: ['ml-trainer'],
};

function sample(file: string): { metadata: { name: string }; spec: unknown } {
  const text = readFileSync(new URL(`../../config/samples/${file}`, import.meta.url), 'utf8');
  return yaml.load(text) as { metadata: { name: string }; spec: unknown };
}

/** As the API server stores it: the CRD's defaults filled in. */
function metadata(name: string, generation: number) {
  return { name, namespace: 'ml', uid: `${name}-uid`, generation, creationTimestamp: new Date(CREATED) };
}

/** The condition of `type` in the object's status, as the scripts show it: "reason: message". */
export function said(object: HealthCase['object'], type: string): string {
  const c = object.status?.conditions?.find((x) => x.type === type);
  if (!c) throw new Error(`${object.kind} ${object.metadata?.name} has no ${type} condition`);
  return `${c.reason}: ${c.message}`;
}

/** The object with its spec changed since the status was written (metadata.generation bumped). */
function newerSpec<T extends HealthCase['object']>(object: T): T {
  const generation = (object.metadata?.generation ?? 1) + 1;
  return { ...object, metadata: { ...object.metadata, generation } };
}

export const lagMessage = (object: HealthCase['object']) =>
  `Waiting for the operator to observe generation ${object.metadata?.generation}`;

/** Dates as the API server writes metav1.Time: RFC 3339 in whole seconds. */
const apiTime = (_key: string, value: unknown) =>
  typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/.test(value)
    ? value.replace('.000Z', 'Z')
    : value;

/** The case, its object cut loose from the builders (plain JSON, as read back from the API). */
function state(
  name: string,
  object: HealthCase['object'],
  health: ArgoHealth,
  message: string | ((o: HealthCase['object']) => string),
  kstatus: KStatus,
): HealthCase {
  const plain = JSON.parse(JSON.stringify(object, apiTime)) as HealthCase['object'];
  return {
    name,
    object: plain,
    health: { status: health, message: typeof message === 'string' ? message : message(plain) },
    kstatus,
  };
}

const because = (type: string) => (o: HealthCase['object']) => said(o, type);

// ---------------------------------------------------------------------------------------------
// TrainingJob

const TJ_SAMPLE = sample('trainingjob.yaml');

function trainingJob(spec: Partial<TrainingJob['spec']> = {}, status?: TrainingJob['status']): TrainingJob {
  return {
    apiVersion: API_VERSION,
    kind: TRAININGJOB_KIND,
    metadata: metadata(TJ_SAMPLE.metadata.name, 1),
    spec: Value.Default(TrainingJobSpec, {
      ...structuredClone(TJ_SAMPLE.spec as object),
      ...spec,
    }) as TrainingJob['spec'],
    ...(status ? { status } : {}),
  };
}

interface TrainingJobPass {
  job?: V1Job;
  pods?: V1Pod[];
  error?: Error;
  refusal?: ReturnType<typeof checkPodPolicy>;
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
      name: TJ_SAMPLE.metadata.name,
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
      name: `${TJ_SAMPLE.metadata.name}-${suffix}`,
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

function trainingJobCases(): HealthCase[] {
  const fresh = trainingJob();
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
    metadata: { name: `${TJ_SAMPLE.metadata.name}-trainer`, namespace: 'ml' },
  };
  const otherImage = trainingJob({ image: 'docker.io/someone/trainer:latest' });
  const suspendedOtherImage = trainingJob({ image: 'docker.io/someone/trainer:latest', suspend: true });
  const ownAccount = trainingJob({ serviceAccountName: 'default' });
  return [
    state('not-observed', fresh, 'Progressing', NOT_OBSERVED, 'Current'),
    state('job-created', trainingJobAfter(fresh), 'Progressing', because('Ready'), 'InProgress'),
    state(
      'pending-waiting-for-node',
      trainingJobAfter(fresh, {
        job: trainerJob({ active: 1 }),
        pods: [trainerPod('a1b2c', 'Pending', {}, false)],
      }),
      'Progressing',
      because('Ready'),
      'InProgress',
    ),
    state(
      'pending-starting',
      trainingJobAfter(fresh, {
        job: trainerJob({ active: 1 }),
        pods: [trainerPod('a1b2c', 'Pending', trainerState({ waiting: { reason: 'ContainerCreating' } }))],
      }),
      'Progressing',
      because('Ready'),
      'InProgress',
    ),
    state(
      'unschedulable',
      trainingJobAfter(fresh, {
        job: trainerJob({ active: 1 }),
        pods: [
          trainerPod(
            'a1b2c',
            'Pending',
            {
              conditions: [
                {
                  type: 'PodScheduled',
                  status: 'False',
                  reason: 'Unschedulable',
                  message: '0/1 nodes are available: 1 Insufficient nvidia.com/gpu.',
                },
              ],
            },
            false,
          ),
        ],
      }),
      'Progressing',
      because('Ready'),
      'InProgress',
    ),
    state(
      'image-pull-failed',
      trainingJobAfter(fresh, {
        job: trainerJob({ active: 1 }),
        pods: [
          trainerPod(
            'a1b2c',
            'Pending',
            trainerState({
              waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "k2k-trainer"' },
            }),
          ),
        ],
      }),
      'Progressing',
      because('Ready'),
      'InProgress',
    ),
    state('running', running, 'Progressing', because('Ready'), 'InProgress'),
    state(
      'restarting',
      trainingJobAfter(fresh, {
        job: trainerJob({ active: 1, failed: 1 }),
        pods: [
          failedPod('Internal', 'out of memory', 137),
          trainerPod(
            'd4e5f',
            'Pending',
            trainerState({ waiting: { reason: 'ContainerCreating' } }),
            true,
            RETRIED,
          ),
        ],
      }),
      'Progressing',
      because('Ready'),
      'InProgress',
    ),
    state(
      'trainer-exited-job-not-complete',
      trainingJobAfter(fresh, { job: trainerJob({ active: 0 }), pods: [trainerPod('a1b2c', 'Succeeded')] }),
      'Progressing',
      because('Ready'),
      'InProgress',
    ),
    state(
      'job-deleted-before-result-read',
      trainingJobAfter(fresh, {
        job: {
          ...trainerJob(
            { succeeded: 1, conditions: [jobCondition('Complete', 'CompletionsReached', '')] },
            true,
          ),
        },
      }),
      'Progressing',
      because('Ready'),
      'InProgress',
    ),
    state('succeeded', succeeded, 'Healthy', healthy, 'Current'),
    state('succeeded-job-deleted', trainingJobAfter(succeeded), 'Healthy', healthy, 'Current'),
    state(
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
      'Degraded',
      because('Failed'),
      'Failed',
    ),
    state(
      'failed-backoff-limit-exceeded',
      trainingJobAfter(fresh, {
        job: failedJob('BackoffLimitExceeded', 'Job has reached the specified backoff limit', 4),
        pods: [failedPod('Internal', 'out of memory', 137)],
      }),
      'Degraded',
      because('Failed'),
      'Failed',
    ),
    state(
      'failed-deadline-exceeded',
      trainingJobAfter(fresh, {
        job: failedJob('DeadlineExceeded', 'Job was active longer than specified deadline'),
      }),
      'Degraded',
      because('Failed'),
      'Failed',
    ),
    state(
      'failed-other-reason',
      trainingJobAfter(fresh, { job: failedJob('FailedIndexes', 'Job has failed indexes') }),
      'Degraded',
      because('Failed'),
      'Failed',
    ),
    state(
      'suspended',
      trainingJobAfter(trainingJob({ suspend: true })),
      'Suspended',
      because('Suspended'),
      'InProgress',
    ),
    state(
      'reconcile-error',
      trainingJobAfter(fresh, { error: new Error('Internal error occurred: etcdserver: request timed out') }),
      'Progressing',
      because('Ready'),
      'InProgress',
    ),
    state(
      'conflict',
      trainingJobAfter(fresh, { refusal: conflict(foreignRole, fresh) }),
      'Degraded',
      because('Stalled'),
      'Failed',
    ),
    state(
      'image-not-allowed',
      trainingJobAfter(otherImage, { refusal: refused(otherImage) }),
      'Degraded',
      because('Stalled'),
      'Failed',
    ),
    state(
      'suspended-image-not-allowed',
      trainingJobAfter(suspendedOtherImage, { refusal: refused(suspendedOtherImage) }),
      'Degraded',
      because('Stalled'),
      'Failed',
    ),
    state(
      'service-account-not-allowed',
      trainingJobAfter(ownAccount, { refusal: refused(ownAccount) }),
      'Degraded',
      because('Stalled'),
      'Failed',
    ),
    state(
      'invalid-spec',
      trainingJobAfter(fresh, {
        error: new InvalidSpecError(
          'the API server refused the Job built from this spec (change the spec): Job.batch "mnist-mlp" is invalid: spec.template.spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
        ),
      }),
      'Degraded',
      because('Stalled'),
      'Failed',
    ),
    state('generation-not-observed', newerSpec(running), 'Progressing', lagMessage, 'InProgress'),
    state('succeeded-generation-not-observed', newerSpec(succeeded), 'Progressing', lagMessage, 'InProgress'),
  ];
}

// ---------------------------------------------------------------------------------------------
// HyperparameterSweep

const SWEEP_SAMPLE = sample('hyperparametersweep.yaml');

function sweep(spec: Partial<HyperparameterSweep['spec']> = {}): HyperparameterSweep {
  return {
    apiVersion: API_VERSION,
    kind: SWEEP_KIND,
    metadata: metadata(SWEEP_SAMPLE.metadata.name, 1),
    spec: Value.Default(HyperparameterSweepSpec, {
      ...structuredClone(SWEEP_SAMPLE.spec as object),
      ...spec,
    }) as HyperparameterSweep['spec'],
  };
}

interface SweepPass {
  trials?: TrialOutcome[];
  /** Trials that succeeded without reporting the objective's metric. */
  withoutObjective?: boolean;
  conflict?: boolean;
  error?: Error;
}

/** The sweep after one pass with these trials, deciding its outcome as reconcileSweep does. */
function sweepAfter(s: HyperparameterSweep, pass: SweepPass = {}): HyperparameterSweep {
  const trialJobs = (pass.trials ?? []).map((outcome, index) => {
    const tj = trialOf(s, index, outcome);
    if (pass.withoutObjective && tj.status?.metrics) tj.status.metrics = { loss: 0.2 };
    return tj;
  });
  const trials = sweepTrials(s, trialJobs);
  let outcome = sweepOutcome(s, trials);
  let stalled: ReturnType<typeof conflict> | undefined;
  if (!outcome && !s.spec.suspend) {
    const end = planTrials(s, forAlgorithm(trials)).end;
    stalled = invalidSearchSpace(end);
    outcome = sweepOutcome(s, trials, end);
  }
  if (pass.conflict) {
    const taken = trialOf(s, trials.length, { state: 'Pending' });
    stalled = conflict({ ...taken, metadata: { ...taken.metadata, ownerReferences: [] } }, s);
  }
  const status = computeSweepStatus(s, { trials, outcome, stalled, error: pass.error, now: NOW });
  return { ...s, status };
}

function sweepCases(): HealthCase[] {
  const fresh = sweep();
  const objectives = [0.31, 0.27, 0.29, 0.24, 0.26, 0.22, 0.25, 0.23];
  const finished = (n: number): TrialOutcome[] =>
    objectives.slice(0, n).map((objective) => ({ state: 'Succeeded', objective }));
  const running = sweepAfter(fresh, {
    trials: [
      { state: 'Succeeded', objective: 0.21 },
      { state: 'Failed' },
      { state: 'Running', history: [0.3] },
      { state: 'Pending' },
    ],
  });
  const succeeded = sweepAfter(fresh, { trials: finished(8) });
  const healthy = (o: HealthCase['object']) =>
    `${said(o, 'Succeeded')} (${(o as HyperparameterSweep).status?.bestTrial?.artifact?.uri})`;
  const grid = sweep({
    algorithm: 'grid',
    parameters: [{ name: 'optimizer', type: 'categorical', values: ['adam', 'sgd'], scale: 'linear' }],
  });
  const badGrid = sweep({ algorithm: 'grid' });
  const suspendedSweep = sweep({ suspend: true });
  return [
    state('not-observed', fresh, 'Progressing', NOT_OBSERVED, 'Current'),
    state('starting', sweepAfter(fresh), 'Progressing', because('Ready'), 'InProgress'),
    state('running', running, 'Progressing', because('Ready'), 'InProgress'),
    state(
      'suspended',
      sweepAfter(suspendedSweep, {
        trials: [{ state: 'Succeeded', objective: 0.21 }, { state: 'Suspended' }],
      }),
      'Suspended',
      because('Suspended'),
      'InProgress',
    ),
    state('succeeded', succeeded, 'Healthy', healthy, 'Current'),
    state(
      'target-reached',
      sweepAfter(sweep({ objective: { metric: 'val_loss', goal: 'minimize', target: 0.2 } }), {
        trials: [
          { state: 'Succeeded', objective: 0.25 },
          { state: 'Succeeded', objective: 0.19 },
          { state: 'Running' },
        ],
      }),
      'Healthy',
      healthy,
      'Current',
    ),
    state('search-exhausted', sweepAfter(grid, { trials: finished(2) }), 'Healthy', healthy, 'Current'),
    state(
      'succeeded-then-suspended',
      sweepAfter({ ...suspendedSweep, status: succeeded.status }, { trials: finished(8) }),
      'Healthy',
      healthy,
      'Current',
    ),
    state(
      'too-many-failed-trials',
      sweepAfter(fresh, {
        trials: [
          { state: 'Failed' },
          { state: 'Failed', reason: 'InvalidInput' },
          { state: 'Failed' },
          { state: 'Running' },
        ],
      }),
      'Degraded',
      because('Failed'),
      'Failed',
    ),
    state(
      'no-trial-succeeded',
      sweepAfter(fresh, { trials: finished(8), withoutObjective: true }),
      'Degraded',
      because('Failed'),
      'Failed',
    ),
    state('invalid-search-space', sweepAfter(badGrid), 'Degraded', because('Stalled'), 'Failed'),
    state('conflict', sweepAfter(fresh, { conflict: true }), 'Degraded', because('Stalled'), 'Failed'),
    state(
      'reconcile-error',
      sweepAfter(fresh, {
        trials: [{ state: 'Running' }],
        error: new Error('Internal error occurred: etcdserver: request timed out'),
      }),
      'Progressing',
      because('Ready'),
      'InProgress',
    ),
    state('generation-not-observed', newerSpec(running), 'Progressing', lagMessage, 'InProgress'),
  ];
}

// ---------------------------------------------------------------------------------------------
// ModelDeployment

const MD_SAMPLE = sample('modeldeployment.yaml');
const MD_NAME = MD_SAMPLE.metadata.name;

function modelDeployment(spec: Partial<ModelDeployment['spec']> = {}): ModelDeployment {
  return {
    apiVersion: API_VERSION,
    kind: MODELDEPLOYMENT_KIND,
    metadata: metadata(MD_NAME, 1),
    spec: Value.Default(ModelDeploymentSpec, {
      ...structuredClone(MD_SAMPLE.spec as object),
      ...spec,
    }) as ModelDeployment['spec'],
  };
}

interface ModelDeploymentPass {
  /** The referenced TrainingJob as the cache has it (undefined: not found). */
  trainingJob?: TrainingJob;
  deployment?: V1Deployment;
  pods?: V1Pod[];
  error?: Error;
  refusal?: ReturnType<typeof conflict>;
}

function modelDeploymentAfter(md: ModelDeployment, pass: ModelDeploymentPass): ModelDeployment {
  const status = modelDeploymentStatus(md, {
    resolution: resolveArtifact(md, pass.trainingJob),
    deployment: pass.deployment,
    pods: pass.pods ?? [],
    error: pass.error,
    refusal: pass.refusal,
    now: NOW,
  });
  return { ...md, status };
}

interface DeploymentShape {
  generation?: number;
  replicas?: number;
  updated?: number;
  ready?: number;
  available: boolean;
  deadlineExceeded?: boolean;
  /** The URI the running Deployment serves (an earlier artifact). */
  serves?: string;
}

function serverDeployment(s: DeploymentShape): V1Deployment {
  const replicas = s.replicas ?? 1;
  const ready = s.ready ?? (s.available ? replicas : 0);
  const generation = s.generation ?? 1;
  const conditions = [
    {
      type: 'Available',
      status: s.available ? 'True' : 'False',
      reason: s.available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
      message: s.available
        ? 'Deployment has minimum availability.'
        : 'Deployment does not have minimum availability.',
    },
    s.deadlineExceeded
      ? {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: `ReplicaSet "${MD_NAME}-7d9c5b" has timed out progressing.`,
        }
      : {
          type: 'Progressing',
          status: 'True',
          reason: 'ReplicaSetUpdated',
          message: `ReplicaSet "${MD_NAME}-7d9c5b" is progressing.`,
        },
  ];
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: MD_NAME, namespace: 'ml', generation },
    spec: {
      replicas,
      selector: {},
      template: {
        spec: {
          containers: [{ name: 'server', env: s.serves ? [{ name: 'K2K_MODEL_URI', value: s.serves }] : [] }],
        },
      },
    },
    status: {
      observedGeneration: generation,
      replicas,
      updatedReplicas: s.updated ?? replicas,
      readyReplicas: ready,
      availableReplicas: ready,
      conditions,
    },
  };
}

function serverPod(
  status: Partial<NonNullable<V1Pod['status']>> = {},
  onNode = true,
  suffix = 'x7k2p',
): V1Pod {
  return {
    metadata: { name: `${MD_NAME}-7d9c5b-${suffix}`, namespace: 'ml', creationTimestamp: new Date(STARTED) },
    spec: { containers: [], ...(onNode ? { nodeName: NODE } : {}) },
    status: { phase: onNode ? 'Running' : 'Pending', ...status },
  };
}

const serverState = (state: object, lastState: object = {}, restartCount = 0) => ({
  containerStatuses: [
    { name: 'server', image: 'k2k-server', imageID: '', ready: false, restartCount, state, lastState },
  ],
});

/** A model server pod that gave up loading with `code` and restarts (api/model-load.ts). */
function gaveUp(code: string, message: string, permanent: boolean, suffix?: string): V1Pod {
  const exitCode = permanent ? ServerExitCode.ModelUnusable : ServerExitCode.ModelUnavailable;
  return serverPod(
    serverState(
      { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' } },
      { terminated: { exitCode, reason: 'Error', message: JSON.stringify({ error: { code, message } }) } },
      3,
    ),
    true,
    suffix,
  );
}

const UNREACHABLE = gaveUp(
  ModelLoadFailure.StorageUnreachable,
  'cannot reach http://k2k-s3.k2k-system.svc:7070 (ENOTFOUND) after 3 attempts',
  false,
);
const TAMPERED = gaveUp(
  ModelLoadFailure.ArtifactInvalid,
  `s3://k2k-models/mnist-mlp/1795582197/weights.bin does not match manifest.json (sha256 9f2c… instead of 1a7e…)`,
  true,
);

function modelDeploymentCases(): HealthCase[] {
  const fresh = modelDeployment();
  const training = new Map(trainingJobCases().map((c) => [c.name, c.object as TrainingJob]));
  const runningTraining = training.get('running')!;
  const failedTraining = training.get('failed-backoff-limit-exceeded')!;
  const withModel = { trainingJob: training.get('succeeded')! };
  const serving = modelDeploymentAfter(fresh, {
    ...withModel,
    deployment: serverDeployment({ available: true, replicas: 2 }),
  });
  const foreignService = { apiVersion: 'v1', kind: 'Service', metadata: { name: MD_NAME, namespace: 'ml' } };
  const otherImage = modelDeployment({ image: 'docker.io/someone/server:latest' });
  const account = modelDeployment({ serviceAccountName: 'default' });
  const refused = (md: ModelDeployment) => checkPodPolicy(md.spec, RESTRICTED, MODELDEPLOYMENT_KIND);
  const starting = serverDeployment({ available: false });
  const progressing = (pass: ModelDeploymentPass) =>
    [
      modelDeploymentAfter(fresh, { ...withModel, ...pass }),
      'Progressing',
      because('Ready'),
      'InProgress',
    ] as const;
  const degraded = (md: ModelDeployment, pass: ModelDeploymentPass) =>
    [modelDeploymentAfter(md, { ...withModel, ...pass }), 'Degraded', because('Stalled'), 'Failed'] as const;
  return [
    state('not-observed', fresh, 'Progressing', NOT_OBSERVED, 'Current'),
    state('training-job-not-found', ...progressing({ trainingJob: undefined })),
    state('waiting-for-training-job', ...progressing({ trainingJob: runningTraining })),
    state('training-job-failed', ...degraded(fresh, { trainingJob: failedTraining })),
    state('deployment-created', ...progressing({})),
    state(
      'model-loading',
      ...progressing({ deployment: starting, pods: [serverPod(serverState({ running: {} }))] }),
    ),
    state('pod-waiting-for-node', ...progressing({ deployment: starting, pods: [serverPod({}, false)] })),
    state(
      'unschedulable',
      ...progressing({
        deployment: starting,
        pods: [
          serverPod(
            {
              conditions: [
                {
                  type: 'PodScheduled',
                  status: 'False',
                  reason: 'Unschedulable',
                  message: '0/1 nodes are available: 1 Insufficient cpu.',
                },
              ],
            },
            false,
          ),
        ],
      }),
    ),
    state(
      'image-pull-failed',
      ...progressing({
        deployment: starting,
        pods: [
          serverPod(
            serverState({ waiting: { reason: 'ErrImagePull', message: 'image "k2k-server" not found' } }),
          ),
        ],
      }),
    ),
    state(
      'server-crash-looping',
      ...progressing({
        deployment: starting,
        pods: [
          serverPod(
            serverState(
              { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s' } },
              { terminated: { exitCode: 2, message: 'K2K_PORT: must be a port number' } },
              2,
            ),
          ),
        ],
      }),
    ),
    state('storage-unreachable', ...progressing({ deployment: starting, pods: [UNREACHABLE] })),
    state(
      'artifact-not-found',
      ...progressing({
        deployment: starting,
        pods: [
          gaveUp(
            ModelLoadFailure.ArtifactNotFound,
            's3://k2k-models/mnist-mlp/1795582197/manifest.json does not exist',
            false,
          ),
        ],
      }),
    ),
    state(
      'storage-access-denied',
      ...progressing({
        deployment: starting,
        pods: [
          gaveUp(
            ModelLoadFailure.StorageAccessDenied,
            'the object store refused the credentials (403 AccessDenied)',
            false,
          ),
        ],
      }),
    ),
    state('artifact-invalid', ...degraded(fresh, { deployment: starting, pods: [TAMPERED] })),
    state(
      'model-load-failed',
      ...degraded(fresh, {
        deployment: starting,
        pods: [
          gaveUp(
            ModelLoadFailure.ModelLoadFailed,
            'TensorFlow.js cannot build layer dense_3: unknown activation "swish2"',
            true,
          ),
        ],
      }),
    ),
    state(
      'progress-deadline-exceeded',
      ...degraded(fresh, {
        deployment: serverDeployment({ available: false, deadlineExceeded: true }),
        pods: [UNREACHABLE],
      }),
    ),
    state('serving', serving, 'Healthy', because('Ready'), 'Current'),
    state(
      'rolling-out',
      ...progressing({
        deployment: serverDeployment({ available: true, replicas: 2, updated: 1, ready: 2, generation: 2 }),
        pods: [serverPod(serverState({ running: {} }), true, 'n3w1p')],
      }),
    ),
    state(
      'rolling-out-new-pods-cannot-load',
      ...progressing({
        deployment: serverDeployment({ available: true, replicas: 2, updated: 1, ready: 2, generation: 2 }),
        pods: [
          gaveUp(ModelLoadFailure.ArtifactInvalid, 'weights.bin does not match manifest.json', true, 'n3w1p'),
        ],
      }),
    ),
    state(
      'serving-previous-model-while-waiting',
      ...progressing({
        trainingJob: runningTraining,
        deployment: serverDeployment({ available: true, serves: 's3://k2k-models/mnist-mlp/1795500000/' }),
      }),
    ),
    state(
      'reconcile-error',
      ...progressing({ error: new Error('Internal error occurred: etcdserver: request timed out') }),
    ),
    state('conflict', ...degraded(fresh, { refusal: conflict(foreignService, fresh) })),
    state('image-not-allowed', ...degraded(otherImage, { refusal: refused(otherImage) })),
    state('service-account-not-allowed', ...degraded(account, { refusal: refused(account) })),
    state(
      'invalid-spec',
      ...degraded(fresh, {
        error: new InvalidSpecError(
          'the API server refused the HorizontalPodAutoscaler built from this spec (change the spec): HorizontalPodAutoscaler.autoscaling "mnist-mlp" is invalid: spec.maxReplicas: Invalid value: 1: must be greater than or equal to minReplicas',
        ),
      }),
    ),
    state('generation-not-observed', newerSpec(serving), 'Progressing', lagMessage, 'InProgress'),
  ];
}

/** The states of each kind, by kind. */
export function healthCases(): Map<string, HealthCase[]> {
  return new Map([
    [TRAININGJOB_KIND, trainingJobCases()],
    [SWEEP_KIND, sweepCases()],
    [MODELDEPLOYMENT_KIND, modelDeploymentCases()],
  ]);
}
