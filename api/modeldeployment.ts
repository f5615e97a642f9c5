import Type, { type Static } from 'typebox';
import { CanaryReason, CanarySpec, CanaryStatus } from './canary.ts';
import { type API_VERSION, Conditions, RefusalReason, Resources, Scheduling } from './common.ts';
import { ModelLoadFailure } from './model-load.ts';
import { Monitoring } from './monitoring.ts';
import { RetrainingSpec, RetrainingStatus, retrainingRules } from './retraining.ts';
import {
  DNS1035_LABEL,
  extendObject,
  Image,
  ObjectName,
  ObjectURI,
  rules,
  type ValidationRule,
} from './schema.ts';
import { Storage } from './storage.ts';

export const MODELDEPLOYMENT_KIND = 'ModelDeployment';
export const MODELDEPLOYMENT_PLURAL = 'modeldeployments';

export const ModelDeploymentConditionType = {
  Ready: 'Ready',
  Available: 'Available',
  Progressing: 'Progressing',
  Drifting: 'Drifting',
  /** Whether the model's ServiceMonitor and PrometheusRule exist (api/monitoring.ts). */
  Monitoring: 'Monitoring',
  Reconciling: 'Reconciling',
  Stalled: 'Stalled',
} as const;

/** Condition reasons a user can act on. */
export const ModelDeploymentReason = {
  /** spec.model.trainingJobRef names a TrainingJob that has not produced its artifact yet. */
  WaitingForTrainingJob: 'WaitingForTrainingJob',
  TrainingJobNotFound: 'TrainingJobNotFound',
  TrainingJobFailed: 'TrainingJobFailed',
  /** spec.model.sweepRef names a sweep that has no best trial with an artifact yet. */
  WaitingForSweep: 'WaitingForSweep',
  SweepNotFound: 'SweepNotFound',
  /** The referenced sweep failed without a best trial: there is nothing to serve. */
  SweepFailed: 'SweepFailed',
  DeploymentCreated: 'DeploymentCreated',
  RolloutInProgress: 'RolloutInProgress',
  RolloutComplete: 'RolloutComplete',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  Available: 'Available',
  /** No model server pod is ready yet (starting, loading or warming up the model). */
  ModelLoading: 'ModelLoading',
  Unschedulable: 'Unschedulable',
  ImagePullFailed: 'ImagePullFailed',
  ServerCrashLooping: 'ServerCrashLooping',
  /** The model server gave up loading the artifact; the code is what failed (api/model-load.ts). */
  ...ModelLoadFailure,
  Serving: 'Serving',
  ReconcileError: 'ReconcileError',
  ...RefusalReason,
  /** A canary rollout's phase (api/canary.ts, docs/canary.md). */
  ...CanaryReason,
} as const;

export const ModelSource = Type.Object(
  {
    artifactURI: Type.Optional(
      ObjectURI(
        'A k2k artifact: a version (…/<model>/<version>/) or a model (…/<model>/: its newest complete version).',
      ),
    ),
    trainingJobRef: Type.Optional(
      Type.Object(
        {
          name: ObjectName(
            'Name of a TrainingJob in the same namespace; its status.artifact is served once it succeeded.',
          ),
        },
        { description: 'Serve what a TrainingJob produced.' },
      ),
    ),
    sweepRef: Type.Optional(
      Type.Object(
        {
          name: ObjectName(
            'Name of a HyperparameterSweep in the same namespace; the artifact of its best trial (status.bestTrial) is served as soon as there is one, and a better best trial later rolls the Deployment to it.',
          ),
        },
        { description: 'Serve the best trial of a sweep.' },
      ),
    ),
  },
  {
    description: 'What to serve: exactly one of artifactURI, trainingJobRef and sweepRef.',
    ...rules({
      rule: '[has(self.artifactURI), has(self.trainingJobRef), has(self.sweepRef)].filter(x, x).size() == 1',
      message: 'exactly one of artifactURI, trainingJobRef and sweepRef must be set',
    }),
  },
);

/** A ModelDeployment's name becomes the name of its Service, Deployment and HPA. */
export const modelDeploymentNameRules: ValidationRule[] = [
  {
    rule: `self.metadata.name.size() <= 63 && self.metadata.name.matches('${DNS1035_LABEL}')`,
    message:
      'metadata.name must be a DNS-1035 label (at most 63 characters: lowercase letters, digits and "-", starting with a letter): the Service that serves the model takes this name',
  },
  {
    rule: '!has(self.spec.canary) || self.metadata.name.size() <= 56',
    message:
      'metadata.name must be at most 56 characters with spec.canary: the canary Service is named <name>-canary',
  },
];

export const ModelDeploymentSpec = Type.Object(
  {
    model: ModelSource,
    storage: Type.Optional(Storage),
    replicas: Type.Object(
      {
        min: Type.Integer({ description: 'Fewest replicas.', minimum: 1, maximum: 1000, default: 1 }),
        max: Type.Integer({ description: 'Most replicas.', minimum: 1, maximum: 1000, default: 3 }),
      },
      {
        description: 'Replica bounds of the autoscaler.',
        default: { min: 1, max: 3 },
        ...rules({ rule: 'self.min <= self.max', message: 'replicas.min must not exceed replicas.max' }),
      },
    ),
    autoscaling: Type.Object(
      {
        targetCPUUtilization: Type.Integer({
          description:
            'Average CPU utilisation (percent of the request) the HorizontalPodAutoscaler aims for.',
          minimum: 1,
          maximum: 100,
          default: 70,
        }),
      },
      { description: 'Autoscaling on CPU.', default: {} },
    ),
    resources: extendObject(Resources, {
      default: {},
      description:
        'Compute resources for each model server pod. Without cpu and cpuLimit the server requests 250m CPU: the autoscaler’s targetCPUUtilization is a percentage of the request and cannot scale without one.',
    }),
    image: Type.Optional(Image('Model server image. Default: the operator’s server image.')),
    batching: Type.Object(
      {
        maxBatchSize: Type.Integer({
          description: 'Most rows in one predict call.',
          minimum: 1,
          maximum: 4096,
          default: 32,
        }),
        maxDelayMs: Type.Number({
          description:
            'Longest a request waits for others to fill a batch, in milliseconds. 0 adds no fixed wait: requests that arrive while a batch runs form the next one, and a batch waits only for the clients the last batch answered, at most twice its duration (never for a lone client).',
          minimum: 0,
          maximum: 1000,
          default: 0,
        }),
      },
      { description: 'Micro-batching of concurrent requests.', default: {} },
    ),
    drift: Type.Object(
      {
        windowSize: Type.Integer({
          description: 'Recent input rows the drift statistics are computed over.',
          minimum: 10,
          maximum: 1000000,
          default: 1000,
        }),
        psiThreshold: Type.Number({
          description:
            'Population stability index above which a feature drifts (rule of thumb: 0.1 slight, 0.25 significant).',
          exclusiveMinimum: 0,
          default: 0.2,
        }),
        ksPValueThreshold: Type.Number({
          description:
            'Kolmogorov-Smirnov p-value below which a feature drifts (before the correction for many features).',
          exclusiveMinimum: 0,
          exclusiveMaximum: 1,
          default: 0.05,
        }),
        minSamples: Type.Integer({
          description: 'Drift is not judged on fewer rows than this.',
          minimum: 1,
          default: 200,
        }),
      },
      {
        description: 'Data-drift monitoring against the artifact’s training-data profile.',
        default: {},
        ...rules({
          // has(): the API server checks the default {} before it fills the fields in.
          rule: '!has(self.minSamples) || !has(self.windowSize) || self.minSamples <= self.windowSize',
          message: 'drift.minSamples must not exceed drift.windowSize (drift would never be judged)',
          fieldPath: '.minSamples',
        }),
      },
    ),
    monitoring: Monitoring,
    canary: Type.Optional(CanarySpec),
    retraining: Type.Optional(RetrainingSpec),
    ...Scheduling,
  },
  {
    description: 'A model served by the k2k model server, autoscaled, with metrics and drift monitoring.',
    ...rules(...retrainingRules),
  },
);
export type ModelDeploymentSpec = Static<typeof ModelDeploymentSpec>;

export const ModelDeploymentStatus = Type.Object(
  {
    observedGeneration: Type.Optional(Type.Integer({ description: 'The generation this status describes.' })),
    conditions: Type.Optional(Conditions),
    url: Type.Optional(
      Type.String({
        description: 'In-cluster URL of the model’s Service: REST (TF Serving and Open Inference Protocol).',
      }),
    ),
    grpcURL: Type.Optional(
      Type.String({
        description:
          'In-cluster gRPC target of the model’s Service (dns:///<name>.<namespace>.svc:8500): TF Serving’s and the Open Inference Protocol’s gRPC services.',
      }),
    ),
    artifact: Type.Optional(
      Type.Object(
        {
          uri: Type.String({
            description: 'The artifact version being served (by the stable pods, while a canary runs).',
          }),
          version: Type.Optional(Type.String({ description: 'Its version.' })),
        },
        { description: 'What is being served.' },
      ),
    ),
    replicas: Type.Optional(Type.Integer({ description: 'Pods of the serving Deployment.' })),
    readyReplicas: Type.Optional(Type.Integer({ description: 'Ready pods of the serving Deployment.' })),
    canary: Type.Optional(CanaryStatus),
    retraining: Type.Optional(RetrainingStatus),
  },
  { description: 'Observed state of the ModelDeployment.' },
);
export type ModelDeploymentStatus = Static<typeof ModelDeploymentStatus>;

export interface ModelDeployment {
  apiVersion: typeof API_VERSION;
  kind: typeof MODELDEPLOYMENT_KIND;
  metadata: import('@kubernetes/client-node').V1ObjectMeta;
  spec: ModelDeploymentSpec;
  status?: ModelDeploymentStatus;
}
