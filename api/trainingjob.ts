import Type, { type Static } from 'typebox';
import { type API_VERSION, Conditions, RefusalReason, Resources, Scheduling } from './common.ts';
import { extendObject } from './schema.ts';
import { Storage } from './storage.ts';
import { TrainingProgress, TrainingSpecProperties, trainingSpecRules } from './training.ts';

export const TRAININGJOB_KIND = 'TrainingJob';
export const TRAININGJOB_PLURAL = 'trainingjobs';

/** Condition types of a TrainingJob. Ready is the summary: True once the artifact is written and verified. */
export const TrainingJobConditionType = {
  Ready: 'Ready',
  Running: 'Running',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  Suspended: 'Suspended',
  /** kstatus: the controller is still converging (GitOps tools wait while True). */
  Reconciling: 'Reconciling',
  /** kstatus: the controller cannot make progress without a change of spec or environment. */
  Stalled: 'Stalled',
} as const;

/** Condition reasons a user can act on. */
export const TrainingJobReason = {
  JobCreated: 'JobCreated',
  Pending: 'Pending',
  Unschedulable: 'Unschedulable',
  ImagePullFailed: 'ImagePullFailed',
  Running: 'Running',
  Restarting: 'Restarting',
  Succeeded: 'Succeeded',
  InvalidInput: 'InvalidInput',
  BackoffLimitExceeded: 'BackoffLimitExceeded',
  DeadlineExceeded: 'DeadlineExceeded',
  TrainerFailed: 'TrainerFailed',
  Suspended: 'Suspended',
  NotSuspended: 'NotSuspended',
  ReconcileError: 'ReconcileError',
  ...RefusalReason,
} as const;

const Immutable = (what: string) => ({
  'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: `${what} is immutable` }],
});

export const TrainingJobSpec = Type.Object(
  {
    model: extendObject(TrainingSpecProperties.model, Immutable('spec.model')),
    dataset: extendObject(TrainingSpecProperties.dataset, Immutable('spec.dataset')),
    hyperparameters: extendObject(TrainingSpecProperties.hyperparameters, Immutable('spec.hyperparameters')),
    output: extendObject(TrainingSpecProperties.output, Immutable('spec.output')),
    backend: TrainingSpecProperties.backend,
    storage: Type.Optional(Storage),
    resources: extendObject(Resources, { default: {} }),
    image: Type.Optional(
      Type.String({
        description:
          'Trainer image. Default: the operator’s trainer image (the GPU variant when resources.gpus > 0).',
        minLength: 1,
        maxLength: 512,
      }),
    ),
    ...Scheduling,
    backoffLimit: Type.Integer({
      description:
        'Retries of a failed trainer pod before the TrainingJob fails. Invalid input is never retried; evictions and preemptions do not count.',
      minimum: 0,
      maximum: 100,
      default: 3,
    }),
    activeDeadlineSeconds: Type.Optional(
      Type.Integer({
        description: 'Fail the TrainingJob after it ran this long, retries included.',
        minimum: 1,
      }),
    ),
    ttlSecondsAfterFinished: Type.Optional(
      Type.Integer({
        description:
          'Delete the trainer Job (not the TrainingJob or its artifact) this long after it finished. Unset keeps it.',
        minimum: 0,
      }),
    ),
    suspend: Type.Boolean({
      description: 'Suspend the TrainingJob: its trainer pod is deleted and re-created when resumed.',
      default: false,
    }),
  },
  {
    description: 'What to train, on what data, with which resources, and where the artifact goes.',
    ...trainingSpecRules,
  },
);
export type TrainingJobSpec = Static<typeof TrainingJobSpec>;

export const ArtifactStatus = Type.Object(
  {
    uri: Type.String({ description: 'URI of the artifact version (…/<model>/<version>/).' }),
    version: Type.String({ description: 'Artifact version.' }),
    manifestSha256: Type.Optional(
      Type.String({ description: 'sha256 of manifest.json: pins the exact artifact.' }),
    ),
  },
  { description: 'The artifact this TrainingJob writes.' },
);
export type ArtifactStatus = Static<typeof ArtifactStatus>;

export const TrainingJobStatus = Type.Object(
  {
    observedGeneration: Type.Optional(
      Type.Integer({ description: 'The .metadata.generation this status describes.', minimum: 0 }),
    ),
    conditions: Type.Optional(Conditions),
    phase: Type.Optional(
      Type.String({
        description:
          'One word for humans: Pending, Running, Succeeded, Failed or Suspended. Automation reads conditions.',
      }),
    ),
    jobName: Type.Optional(Type.String({ description: 'Name of the batch/v1 Job that runs the trainer.' })),
    startTime: Type.Optional(
      Type.String({ description: 'When the trainer Job started.', format: 'date-time' }),
    ),
    completionTime: Type.Optional(
      Type.String({ description: 'When the TrainingJob succeeded or failed.', format: 'date-time' }),
    ),
    attempts: Type.Optional(
      Type.Integer({ description: 'Trainer pods started so far (1 + retries).', minimum: 0 }),
    ),
    artifact: Type.Optional(ArtifactStatus),
    metrics: Type.Optional(
      Type.Unsafe<Record<string, number>>({
        type: 'object',
        additionalProperties: { type: 'number' },
        description: 'Final metrics reported by the trainer.',
      }),
    ),
    progress: Type.Optional(TrainingProgress),
  },
  { description: 'Observed state of the TrainingJob.' },
);
export type TrainingJobStatus = Static<typeof TrainingJobStatus>;

export interface TrainingJob {
  apiVersion: typeof API_VERSION;
  kind: typeof TRAININGJOB_KIND;
  metadata: import('@kubernetes/client-node').V1ObjectMeta;
  spec: TrainingJobSpec;
  status?: TrainingJobStatus;
}
