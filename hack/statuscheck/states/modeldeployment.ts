// The states of a ModelDeployment: waiting for its TrainingJob, each reason no model server pod is
// ready, each load failure, rollouts, serving, refused (Stalled) and with its spec not yet observed.
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { Value } from 'typebox/value';
import {
  CanaryPhase,
  CanarySpec,
  type CanaryStatus,
  type HyperparameterSweep,
  MODELDEPLOYMENT_KIND,
  type ModelDeployment,
  ModelDeploymentSpec,
  ModelLoadFailure,
  ServerExitCode,
  type TrainingJob,
} from '../../../api/index.ts';
import type { Refusal } from '../../../operator/controllers/conditions.ts';
import { InvalidSpecError } from '../../../operator/controllers/invalid-spec.ts';
import {
  computeStatus as modelDeploymentStatus,
  type Observed,
  resolveArtifact,
} from '../../../operator/controllers/modeldeployment/status.ts';
import { conflict } from '../../../operator/controllers/ownership.ts';
import { checkPodPolicy } from '../../../operator/controllers/policy.ts';
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
  STARTED,
  sample,
  state,
  unschedulable,
} from './case.ts';
import { sweepCases } from './sweep.ts';
import { trainingJobCases } from './trainingjob.ts';

const MD_NAME = sample('modeldeployment.yaml').metadata.name;

const modelDeployment = (spec: Partial<ModelDeployment['spec']> = {}) =>
  fromSample<ModelDeployment>(MODELDEPLOYMENT_KIND, 'modeldeployment.yaml', ModelDeploymentSpec, spec);

interface ModelDeploymentPass {
  /** The referenced TrainingJob (or the sweep's best trial) as the cache has it (undefined: not found). */
  trainingJob?: TrainingJob;
  /** The referenced sweep as the cache has it (spec.model.sweepRef). */
  sweep?: HyperparameterSweep;
  deployment?: V1Deployment;
  pods?: V1Pod[];
  error?: Error;
  refusal?: Refusal;
  canary?: Observed['canary'];
}

function modelDeploymentAfter(md: ModelDeployment, pass: ModelDeploymentPass): ModelDeployment {
  const status = modelDeploymentStatus(md, {
    resolution: resolveArtifact(md, pass.trainingJob, pass.sweep),
    deployment: pass.deployment,
    pods: pass.pods ?? [],
    error: pass.error,
    refusal: pass.refusal,
    ...(pass.canary ? { canary: pass.canary } : {}),
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

export function modelDeploymentCases(): HealthCase[] {
  const fresh = modelDeployment();
  const training = new Map(trainingJobCases().map((c) => [c.name, c.object as TrainingJob]));
  const runningTraining = training.get('running')!;
  const sweeps = new Map(sweepCases().map((c) => [c.name, c.object as HyperparameterSweep]));
  const bestOfSweep = modelDeployment({ model: { sweepRef: { name: 'mnist-lr' } } });
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
    progressing('sweep-not-found', modelDeploymentAfter(bestOfSweep, {})),
    progressing('waiting-for-sweep', modelDeploymentAfter(bestOfSweep, { sweep: sweeps.get('running') })),
    degraded('sweep-failed', modelDeploymentAfter(bestOfSweep, { sweep: sweeps.get('no-trial-succeeded') })),
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
    ...canaryStates(after, withModel.trainingJob),
  ];
}

/** A canary of the TrainingJob's artifact against an earlier stable one, in each phase (docs/canary.md). */
function canaryStates(
  after: (pass: ModelDeploymentPass, md?: ModelDeployment) => ModelDeployment,
  trainingJob: TrainingJob,
): HealthCase[] {
  const md = modelDeployment({ canary: Value.Default(CanarySpec, {}) as CanarySpec });
  const artifact = { uri: trainingJob.status!.artifact!.uri };
  const stable = { uri: 's3://k2k-models/mnist-mlp/1795500000/' };
  const deployment = serverDeployment({ available: true, replicas: 2, serves: stable.uri });
  const base: CanaryStatus = {
    phase: CanaryPhase.Progressing,
    artifact,
    step: 0,
    weight: 10,
    stepStartedAt: new Date(STARTED).toISOString(),
    failedAnalyses: 0,
    message: `step 1 of 3: 10% of requests to ${artifact.uri}`,
  };
  const at = (status: Partial<CanaryStatus>) =>
    after({ deployment, canary: { status: { ...base, ...status }, stable } }, md);
  return [
    progressing('canary-progressing', at({})),
    progressing(
      'canary-paused',
      at({ phase: CanaryPhase.Paused, weight: 0, message: 'waiting for a canary pod to be ready' }),
    ),
    progressing(
      'canary-scaling',
      at({
        phase: CanaryPhase.Scaling,
        step: 1,
        message: 'step 2 of 3 waits for canary pods: 1 of the 2 that 25% needs are ready',
      }),
    ),
    progressing(
      'canary-promoting',
      at({
        phase: CanaryPhase.Promoting,
        step: 2,
        weight: 50,
        message: 'every step passed: the stable pods roll',
      }),
    ),
    degraded(
      'canary-rolled-back',
      at({
        phase: CanaryPhase.RolledBack,
        weight: 0,
        failedAnalyses: 1,
        message: 'rolled back at step 1 (1 failed analyses): failed: errorRate 0.2 > 0.01',
      }),
    ),
    degraded(
      'canary-aborted',
      at({ phase: CanaryPhase.Aborted, weight: 0, message: 'aborted by spec.canary.abort at step 2' }),
    ),
  ];
}

/** The states of each kind, by kind. */
