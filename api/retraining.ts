// spec.retraining and status.retraining of a ModelDeployment: when Drifting has held long enough,
// the operator trains a new model from a TrainingJob template and rolls its artifact out as a
// canary (docs/retraining.md, docs/decisions/0032-retraining-on-drift.md).
import Type, { type Static } from 'typebox';
import { DatasetDigest } from './lineage.ts';
import { StringEnum, type ValidationRule } from './schema.ts';
import { TrainingTemplateProperties, trainingSpecRules } from './training.ts';
import { TrainingJobSpec } from './trainingjob.ts';

/** Reasons of the events a retrain records on its ModelDeployment, one per step. */
export const RetrainEventReason = {
  RetrainStarted: 'RetrainStarted',
  RetrainSucceeded: 'RetrainSucceeded',
  RetrainFailed: 'RetrainFailed',
  /** The retrained artifact's canary ended: promoted, rolled back or aborted (the message says which). */
  RetrainCanaryFinished: 'RetrainCanaryFinished',
} as const;

export const RetrainOutcome = { Succeeded: 'Succeeded', Failed: 'Failed' } as const;
export type RetrainOutcome = (typeof RetrainOutcome)[keyof typeof RetrainOutcome];

export const RetrainingSpec = Type.Object(
  {
    template: Type.Object(
      {
        ...TrainingTemplateProperties,
        backoffLimit: TrainingJobSpec.properties.backoffLimit,
        activeDeadlineSeconds: TrainingJobSpec.properties.activeDeadlineSeconds,
      },
      {
        description:
          'The spec of every retraining TrainingJob, used as written: dataset.uri is read when the trainer starts (for mnist-idx the IDX files under the prefix), so the newest data is whatever the data pipeline put there by then. Each retrain writes a new artifact version (its creation time in Unix seconds).',
        'x-kubernetes-validations': [
          ...trainingSpecRules['x-kubernetes-validations'],
          {
            rule: '!has(self.output.version)',
            message: 'each retrain writes a version of its own; leave output.version unset',
            fieldPath: '.output.version',
          },
        ],
      },
    ),
    driftForSeconds: Type.Integer({
      minimum: 0,
      maximum: 2592000,
      default: 900,
      description:
        'How long the Drifting condition must have been True (since its lastTransitionTime) before a retrain starts.',
    }),
    cooldownSeconds: Type.Integer({
      minimum: 0,
      maximum: 2592000,
      default: 3600,
      description:
        'After a retrain fails, or after the canary of a retrained artifact ends (promoted, rolled back or aborted), no retrain starts for this long.',
    }),
    maxConcurrent: Type.Integer({
      minimum: 1,
      maximum: 1,
      default: 1,
      description:
        'Retrains running at once: 1, the only value (two models trained on the same drift would race for one canary).',
    }),
  },
  {
    description:
      'Retrain when the inputs drift: once Drifting has held for driftForSeconds, the operator creates TrainingJob <name>-retrain-<n> from the template (owned by this ModelDeployment); its artifact then rolls out through spec.canary, which promotes or rolls it back. Needs spec.canary and spec.monitoring, and an operator started with --prometheus-url (without one Drifting is Unknown and no retrain starts).',
  },
);
export type RetrainingSpec = Static<typeof RetrainingSpec>;

/** The CEL rules a ModelDeployment with spec.retraining must meet (they need spec.canary and spec.monitoring in scope). */
export const retrainingRules: ValidationRule[] = [
  {
    rule: '!has(self.retraining) || has(self.canary)',
    message:
      'spec.retraining needs spec.canary: a retrained artifact is always rolled out as a canary, never in one step',
    fieldPath: '.retraining',
    reason: 'FieldValueRequired',
  },
  {
    rule: '!has(self.retraining) || !has(self.monitoring) || !has(self.monitoring.enabled) || self.monitoring.enabled',
    message:
      'spec.retraining needs spec.monitoring.enabled: retrains start from the Drifting condition, which Prometheus answers from the monitoring objects',
    fieldPath: '.monitoring.enabled',
  },
];

const ArtifactRef = Type.Object(
  {
    uri: Type.String({ description: 'Its URI.' }),
    version: Type.Optional(Type.String({ description: 'Its version.' })),
  },
  { description: 'The artifact the retrain wrote.' },
);

export const RetrainingStatus = Type.Object(
  {
    count: Type.Integer({
      minimum: 0,
      description:
        'Retrains started so far; the next TrainingJob is <name>-retrain-<count + 1>, so a restarted operator never starts one twice.',
    }),
    current: Type.Optional(
      Type.Object(
        {
          name: Type.String({ description: 'The running retrain’s TrainingJob.' }),
          phase: Type.String({ description: 'Its status.phase (Pending until it has one).' }),
          startedAt: Type.String({ format: 'date-time', description: 'When the operator created it.' }),
          reason: Type.String({ description: 'Why it started: the Drifting condition then.' }),
          replaces: Type.String({
            description:
              'What spec.model named when it started: a spec.model changed since supersedes the retrained artifact.',
          }),
        },
        { description: 'The retrain running now (at most one).' },
      ),
    ),
    last: Type.Optional(
      Type.Object(
        {
          name: Type.String({ description: 'The TrainingJob.' }),
          outcome: StringEnum(Object.values(RetrainOutcome), { description: 'Succeeded or Failed.' }),
          finishedAt: Type.String({ format: 'date-time', description: 'When the operator saw it end.' }),
          message: Type.String({ description: 'What happened, in words.' }),
          replaces: Type.String({ description: 'What spec.model named when it started.' }),
          artifact: Type.Optional(ArtifactRef),
          dataset: Type.Optional(DatasetDigest),
          canary: Type.Optional(
            StringEnum(['Promoted', 'RolledBack', 'Aborted'] as const, {
              description: 'How the retrained artifact’s canary ended (absent: it has not yet).',
            }),
          ),
        },
        { description: 'The newest retrain that ended.' },
      ),
    ),
    nextAllowedAt: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'No retrain starts before this time (spec.retraining.cooldownSeconds).',
      }),
    ),
    message: Type.String({ description: 'Where the retraining loop is, in words.' }),
  },
  { description: 'Retraining on drift: what runs, what ended last, and when the next may start.' },
);
export type RetrainingStatus = Static<typeof RetrainingStatus>;
