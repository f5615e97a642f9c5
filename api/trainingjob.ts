import Type, { type Static } from 'typebox';
import { type API_VERSION, Conditions, RefusalReason, Resources, Scheduling } from './common.ts';
import { DatasetRead } from './lineage.ts';
import { extendObject, Image, StringEnum, type ValidationRule } from './schema.ts';
import { Storage } from './storage.ts';
import { ResumeFrom, TrainingProgress, TrainingSpecProperties, trainingSpecRules } from './training.ts';

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

/** Reasons of events that are not a Ready condition's reason. */
export const TrainingJobEventReason = {
  /** A trainer pod resumed from a checkpoint (Normal): the epochs before it were not trained again. */
  Resumed: 'Resumed',
} as const;

/**
 * Why a TrainingJob was stopped (spec.stop.reason): its Failed and Ready conditions carry it. A
 * sweep stops the trials its early-stopping rule rejects with EarlyStopped.
 */
export const STOP_REASONS = ['Stopped', 'EarlyStopped'] as const;
export type StopReason = (typeof STOP_REASONS)[number];
export const isStopReason = (reason: string | undefined): reason is StopReason =>
  (STOP_REASONS as readonly (string | undefined)[]).includes(reason);

export const TrainingJobStop = Type.Object(
  {
    reason: StringEnum(STOP_REASONS, {
      description:
        'Recorded as the reason of the Failed and Ready conditions: Stopped, or EarlyStopped when a sweep’s early-stopping rule stopped the trial.',
      default: 'Stopped',
    }),
    message: Type.Optional(
      Type.String({ description: 'Why, in words: recorded as the conditions’ message.', maxLength: 1024 }),
    ),
  },
  {
    description:
      'Stop the TrainingJob for good: its trainer Job and pod are deleted and it ends with phase Stopped (conditions Failed and Stalled True with this reason, like a failure: no artifact), keeping the per-epoch status.progress already reported. It cannot be removed or changed once set. A TrainingJob that already succeeded or failed stays as it was.',
  },
);
export type TrainingJobStop = Static<typeof TrainingJobStop>;

/**
 * The fields the trainer pod is built from. A Job's pod template cannot change once the Job
 * exists, so a change to any of these would be silently ignored: the API server refuses it
 * instead (ADR 0014). suspend, backoffLimit, activeDeadlineSeconds and ttlSecondsAfterFinished
 * stay mutable because the Job takes their changes.
 */
export const TRAININGJOB_IMMUTABLE_FIELDS = {
  required: ['model', 'dataset', 'hyperparameters', 'output', 'backend', 'resources'],
  optional: ['storage', 'image', 'nodeSelector', 'tolerations', 'serviceAccountName', 'resumeFrom'],
} as const;

function immutable(field: string, optional: boolean): ValidationRule {
  const same = `self.${field} == oldSelf.${field}`;
  return {
    rule: optional ? `has(self.${field}) == has(oldSelf.${field}) && (!has(self.${field}) || ${same})` : same,
    message: `spec.${field} is immutable: the trainer pod is built from it (create a new TrainingJob to change it)`,
    fieldPath: `.${field}`,
  };
}

/** A continued run takes its weights from the run it continues, so nothing else may bring weights. */
const resumeFromRules: ValidationRule[] = [
  {
    rule: '!has(self.resumeFrom) || !has(self.model.baseArtifact)',
    message:
      'resumeFrom continues a run with its own weights: it cannot be combined with model.baseArtifact (which starts a new run from an artifact’s weights)',
    fieldPath: '.resumeFrom',
  },
  {
    rule: '!has(self.resumeFrom) || !has(self.model.kerasURI)',
    message:
      'resumeFrom continues a run with its own weights: it cannot be combined with model.kerasURI; give the architecture or topology the run was trained with',
    fieldPath: '.resumeFrom',
  },
];

const immutableFields: ValidationRule[] = [
  ...TRAININGJOB_IMMUTABLE_FIELDS.required.map((f) => immutable(f, false)),
  ...TRAININGJOB_IMMUTABLE_FIELDS.optional.map((f) => immutable(f, true)),
  {
    rule: '!has(oldSelf.stop) || (has(self.stop) && self.stop == oldSelf.stop)',
    message: 'spec.stop cannot be removed or changed once set: a stopped TrainingJob stays stopped',
    fieldPath: '.stop',
  },
];

/** A TrainingJob's name becomes its trainer Job's name and a label value of every child. */
export const trainingJobNameRules: ValidationRule[] = [
  {
    rule: 'self.metadata.name.size() <= 63',
    message:
      'metadata.name must be at most 63 characters: the trainer Job and the label values of its pods (batch.kubernetes.io/job-name, k2k.dev/trainingjob) take this name',
  },
];

export const TrainingJobSpec = Type.Object(
  {
    model: TrainingSpecProperties.model,
    dataset: TrainingSpecProperties.dataset,
    hyperparameters: TrainingSpecProperties.hyperparameters,
    output: TrainingSpecProperties.output,
    backend: TrainingSpecProperties.backend,
    resumeFrom: Type.Optional(ResumeFrom),
    storage: Type.Optional(Storage),
    resources: extendObject(Resources, { default: {} }),
    image: Type.Optional(
      Image(
        'Trainer image. Default: the operator’s trainer image (the GPU variant when resources.gpus > 0).',
      ),
    ),
    ...Scheduling,
    backoffLimit: Type.Integer({
      description:
        'Retries of a failed trainer pod before the TrainingJob fails. Invalid input is never retried; a trainer pod stopped from outside (deleted, evicted, preempted, its node lost) does not count.',
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
        // The Job's field is an int32: a larger value would only fail when the Job is applied.
        maximum: 2147483647,
      }),
    ),
    suspend: Type.Boolean({
      description: 'Suspend the TrainingJob: its trainer pod is deleted and re-created when resumed.',
      default: false,
    }),
    stop: Type.Optional(TrainingJobStop),
  },
  {
    description: 'What to train, on what data, with which resources, and where the artifact goes.',
    'x-kubernetes-validations': [
      ...trainingSpecRules['x-kubernetes-validations'],
      ...resumeFromRules,
      ...immutableFields,
    ],
  },
);
export type TrainingJobSpec = Static<typeof TrainingJobSpec>;

/** status.resumes keeps this many entries: a job evicted over and over does not grow its status. */
export const MAX_RESUMES = 20;

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
          'One word for humans: Pending, Running, Succeeded, Failed, Stopped (spec.stop) or Suspended. Automation reads conditions.',
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
    resumes: Type.Optional(
      Type.Array(
        Type.Object(
          {
            pod: Type.String({ description: 'The trainer pod that resumed.' }),
            epoch: Type.Integer({ description: 'The checkpoint epoch it resumed from.', minimum: 1 }),
            time: Type.String({ description: 'When the operator saw it resume.', format: 'date-time' }),
          },
          { description: 'One trainer pod that resumed from a checkpoint.' },
        ),
        {
          description: `Trainer pods that resumed from a checkpoint after an earlier pod stopped (deleted, evicted, preempted or failed), oldest first (the newest ${MAX_RESUMES}). Epochs before the checkpoint were not trained again.`,
          maxItems: MAX_RESUMES,
        },
      ),
    ),
    artifact: Type.Optional(ArtifactStatus),
    dataset: Type.Optional(DatasetRead),
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
