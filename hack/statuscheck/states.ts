// Every state a k2k resource can be in, computed by the operator's own status functions
// (operator/controllers/*/status.ts) from what a reconcile pass would observe, with what Argo CD's
// health check and kstatus must make of it. files.ts writes them as argo-cd's health_test.yaml
// fixtures; main.go runs both tools on them. A state missing here is a state nobody checks.
import { readFileSync } from 'node:fs';
import type { KubernetesObject, V1Deployment, V1Job, V1Pod } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import type { TSchema } from 'typebox';
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

function sample(file: string): { metadata: { name: string }; spec: object } {
  const text = readFileSync(new URL(`../../config/samples/${file}`, import.meta.url), 'utf8');
  return yaml.load(text) as { metadata: { name: string }; spec: object };
}

/** The sample in config/samples/`file` with `spec` changed, as the API server stores it (defaults filled in). */
function fromSample<T>(kind: string, file: string, schema: TSchema, spec: object): T {
  const { metadata: meta, spec: base } = sample(file);
  return {
    apiVersion: API_VERSION,
    kind,
    metadata: metadata(meta.name, 1),
    spec: Value.Default(schema, { ...base, ...spec }),
  } as T;
}

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

/** On its way to Ready: Argo CD Progressing with the Ready reason, kstatus InProgress. */
const progressing = (name: string, object: HealthCase['object']) =>
  state(name, object, 'Progressing', because('Ready'), 'InProgress');

/** Cannot get there without someone acting: Argo CD Degraded with the reason of `type`, kstatus Failed. */
const degraded = (name: string, object: HealthCase['object'], type: 'Stalled' | 'Failed' = 'Stalled') =>
  state(name, object, 'Degraded', because(type), 'Failed');

// ---------------------------------------------------------------------------------------------
// TrainingJob

const TJ_NAME = sample('trainingjob.yaml').metadata.name;

function trainingJob(spec: Partial<TrainingJob['spec']> = {}, status?: TrainingJob['status']): TrainingJob {
  const tj = fromSample<TrainingJob>(TRAININGJOB_KIND, 'trainingjob.yaml', TrainingJobSpec, spec);
  return status ? { ...tj, status } : tj;
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

/** The pod status the scheduler writes when no node fits. */
const unschedulable = (message: string) => ({
  conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }],
});

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

// ---------------------------------------------------------------------------------------------
// HyperparameterSweep

const sweep = (spec: Partial<HyperparameterSweep['spec']> = {}) =>
  fromSample<HyperparameterSweep>(SWEEP_KIND, 'hyperparametersweep.yaml', HyperparameterSweepSpec, spec);

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
    progressing('starting', sweepAfter(fresh)),
    progressing('running', running),
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
    degraded(
      'too-many-failed-trials',
      sweepAfter(fresh, {
        trials: [
          { state: 'Failed' },
          { state: 'Failed', reason: 'InvalidInput' },
          { state: 'Failed' },
          { state: 'Running' },
        ],
      }),
      'Failed',
    ),
    degraded(
      'no-trial-succeeded',
      sweepAfter(fresh, { trials: finished(8), withoutObjective: true }),
      'Failed',
    ),
    degraded('invalid-search-space', sweepAfter(badGrid)),
    degraded('conflict', sweepAfter(fresh, { conflict: true })),
    progressing(
      'reconcile-error',
      sweepAfter(fresh, {
        trials: [{ state: 'Running' }],
        error: new Error('Internal error occurred: etcdserver: request timed out'),
      }),
    ),
    state('generation-not-observed', newerSpec(running), 'Progressing', lagMessage, 'InProgress'),
  ];
}

// ---------------------------------------------------------------------------------------------
// ModelDeployment

const MD_NAME = sample('modeldeployment.yaml').metadata.name;

const modelDeployment = (spec: Partial<ModelDeployment['spec']> = {}) =>
  fromSample<ModelDeployment>(MODELDEPLOYMENT_KIND, 'modeldeployment.yaml', ModelDeploymentSpec, spec);

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
  const after = (pass: ModelDeploymentPass, md = fresh) =>
    modelDeploymentAfter(md, { ...withModel, ...pass });
  return [
    state('not-observed', fresh, 'Progressing', NOT_OBSERVED, 'Current'),
    progressing('training-job-not-found', after({ trainingJob: undefined })),
    progressing('waiting-for-training-job', after({ trainingJob: runningTraining })),
    degraded('training-job-failed', after({ trainingJob: failedTraining })),
    progressing('deployment-created', after({})),
    progressing(
      'model-loading',
      after({ deployment: starting, pods: [serverPod(serverState({ running: {} }))] }),
    ),
    progressing('pod-waiting-for-node', after({ deployment: starting, pods: [serverPod({}, false)] })),
    progressing(
      'unschedulable',
      after({
        deployment: starting,
        pods: [serverPod(unschedulable('0/1 nodes are available: 1 Insufficient cpu.'), false)],
      }),
    ),
    progressing(
      'image-pull-failed',
      after({
        deployment: starting,
        pods: [
          serverPod(
            serverState({ waiting: { reason: 'ErrImagePull', message: 'image "k2k-server" not found' } }),
          ),
        ],
      }),
    ),
    progressing(
      'server-crash-looping',
      after({
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
    progressing('storage-unreachable', after({ deployment: starting, pods: [UNREACHABLE] })),
    progressing(
      'artifact-not-found',
      after({
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
    progressing(
      'storage-access-denied',
      after({
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
    degraded('artifact-invalid', after({ deployment: starting, pods: [TAMPERED] })),
    degraded(
      'model-load-failed',
      after({
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
    degraded(
      'progress-deadline-exceeded',
      after({
        deployment: serverDeployment({ available: false, deadlineExceeded: true }),
        pods: [UNREACHABLE],
      }),
    ),
    state('serving', serving, 'Healthy', because('Ready'), 'Current'),
    progressing(
      'rolling-out',
      after({
        deployment: serverDeployment({ available: true, replicas: 2, updated: 1, ready: 2, generation: 2 }),
        pods: [serverPod(serverState({ running: {} }), true, 'n3w1p')],
      }),
    ),
    progressing(
      'rolling-out-new-pods-cannot-load',
      after({
        deployment: serverDeployment({ available: true, replicas: 2, updated: 1, ready: 2, generation: 2 }),
        pods: [
          gaveUp(ModelLoadFailure.ArtifactInvalid, 'weights.bin does not match manifest.json', true, 'n3w1p'),
        ],
      }),
    ),
    progressing(
      'serving-previous-model-while-waiting',
      after({
        trainingJob: runningTraining,
        deployment: serverDeployment({ available: true, serves: 's3://k2k-models/mnist-mlp/1795500000/' }),
      }),
    ),
    progressing(
      'reconcile-error',
      after({ error: new Error('Internal error occurred: etcdserver: request timed out') }),
    ),
    degraded('conflict', after({ refusal: conflict(foreignService, fresh) })),
    degraded('image-not-allowed', after({ refusal: refused(otherImage) }, otherImage)),
    degraded('service-account-not-allowed', after({ refusal: refused(account) }, account)),
    degraded(
      'invalid-spec',
      after({
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
