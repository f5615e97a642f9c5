// Pure builders for a sweep's trials: TrainingJob `<sweep>-<index>` owned by the sweep, carrying
// on its labels and annotations everything the search algorithms read back (ADR 0012), so the
// sweep's TrainingJobs are the whole state of the search.
import { createHash } from 'node:crypto';
import type { V1OwnerReference } from '@kubernetes/client-node';
import {
  API_VERSION,
  type HyperparameterSweep,
  TRAININGJOB_KIND,
  type TrainingJob,
} from '../../../api/index.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../labels.ts';
import { controllerReference } from '../ownership.ts';
import type { Assignment, Suggestion } from './algorithms/index.ts';

export const LABEL_SWEEP = 'k2k.dev/sweep';
export const ANNOTATION_TRIAL_INDEX = 'k2k.dev/trial-index';
/** JSON of the trial's searched values, as the algorithm suggested them. */
export const ANNOTATION_TRIAL_PARAMETERS = 'k2k.dev/trial-parameters';
/** The epoch budget an algorithm gave the trial (ASHA's rung). */
export const ANNOTATION_TRIAL_EPOCHS = 'k2k.dev/trial-epochs';
/** ASHA: the index of the trial this one continues. */
export const ANNOTATION_TRIAL_RESUMES = 'k2k.dev/trial-resumes';

/**
 * A trial's TrainingJob names its Job and is a pod label value, so it stays within 63 characters:
 * a longer sweep name is cut and a hash of the whole name keeps two such sweeps apart.
 */
export const MAX_TRIAL_NAME = 63;

const hash8 = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 8);

/** `value` if it fits in `max` characters, else its cut prefix and a hash of the whole, then `suffix`. */
export function boundedName(value: string, suffix: string, max: number): string {
  if (value.length + suffix.length <= max) return value + suffix;
  const keep = max - suffix.length - 9;
  return `${value.slice(0, keep).replace(/[-.]+$/, '')}-${hash8(value)}${suffix}`;
}

export const trialName = (sweep: HyperparameterSweep, index: number) =>
  boundedName(sweep.metadata.name!, `-${index}`, MAX_TRIAL_NAME);

/** The sweep label's value: label values have at most 63 characters. */
export const sweepLabelValue = (sweep: HyperparameterSweep) => boundedName(sweep.metadata.name!, '', 63);

/**
 * A trial's artifact version: the sweep's creation time in Unix seconds × 1000 + the index, a
 * positive integer for index 0 too, and new for a sweep deleted and created again.
 */
export function trialVersion(sweep: HyperparameterSweep, index: number): string {
  const created = new Date(sweep.metadata.creationTimestamp ?? Number.NaN).getTime();
  if (Number.isNaN(created)) throw new Error('HyperparameterSweep has no creationTimestamp');
  return String(Math.floor(created / 1000) * 1000 + index);
}

export const sweepOwnerReference = (sweep: HyperparameterSweep): V1OwnerReference =>
  controllerReference(sweep);

export type TrialSuggestion = Extract<Suggestion, { kind: 'trial' | 'promote' }>;

/**
 * Trial `index` as the algorithm suggested it. A promotion continues the promoted trial's run
 * (`promoted`, its TrainingJob): spec.resumeFrom names its artifact, pinned by its manifest digest,
 * so the trial trains only the epochs from the rung below up to its own budget (ADR 0033). A
 * promoted trial without an artifact in its status (never so for a Succeeded one) trains from scratch.
 */
export function desiredTrial(
  sweep: HyperparameterSweep,
  index: number,
  suggestion: TrialSuggestion,
  promoted?: TrainingJob,
): TrainingJob {
  const { trialTemplate } = sweep.spec;
  const annotations: Record<string, string> = {
    [ANNOTATION_TRIAL_INDEX]: String(index),
    [ANNOTATION_TRIAL_PARAMETERS]: JSON.stringify(suggestion.parameters),
  };
  if (suggestion.epochs !== undefined) annotations[ANNOTATION_TRIAL_EPOCHS] = String(suggestion.epochs);
  if (suggestion.kind === 'promote') annotations[ANNOTATION_TRIAL_RESUMES] = String(suggestion.trial);
  const source = suggestion.kind === 'promote' ? promoted?.status?.artifact : undefined;
  return {
    apiVersion: API_VERSION,
    kind: TRAININGJOB_KIND,
    metadata: {
      name: trialName(sweep, index),
      namespace: sweep.metadata.namespace!,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_SWEEP]: sweepLabelValue(sweep) },
      annotations,
      ownerReferences: [sweepOwnerReference(sweep)],
    },
    spec: {
      ...trialTemplate,
      hyperparameters: {
        ...trialTemplate.hyperparameters,
        ...(suggestion.parameters as Partial<TrainingJob['spec']['hyperparameters']>),
        ...(suggestion.epochs === undefined ? {} : { epochs: suggestion.epochs }),
      },
      output: { ...trialTemplate.output, version: trialVersion(sweep, index) },
      ...(source
        ? {
            resumeFrom: {
              artifactURI: source.uri,
              ...(source.manifestSha256 ? { manifestSha256: source.manifestSha256 } : {}),
            },
          }
        : {}),
      suspend: sweep.spec.suspend ?? false,
    } as TrainingJob['spec'],
  };
}

/**
 * An existing unfinished trial as the sweep wants it now: its own spec (the sweep's template may
 * have changed since, and a trial's training spec is immutable) with the sweep's suspend.
 */
export function desiredExistingTrial(sweep: HyperparameterSweep, trial: TrainingJob): TrainingJob {
  const { name, namespace, labels, annotations } = trial.metadata;
  return {
    apiVersion: API_VERSION,
    kind: TRAININGJOB_KIND,
    metadata: { name, namespace, labels, annotations, ownerReferences: [sweepOwnerReference(sweep)] },
    spec: { ...trial.spec, suspend: sweep.spec.suspend ?? false },
  };
}

/** An existing running trial the sweep's early-stopping rule rejected: stopped for good (ADR 0020). */
export function desiredStoppedTrial(
  sweep: HyperparameterSweep,
  trial: TrainingJob,
  message: string,
): TrainingJob {
  const desired = desiredExistingTrial(sweep, trial);
  return { ...desired, spec: { ...desired.spec, stop: { reason: 'EarlyStopped', message } } };
}

/** What the algorithms read back from a trial's annotations; undefined when it is not a trial. */
export function trialRecord(
  tj: TrainingJob,
): { index: number; parameters: Assignment; epochs?: number; resumes?: number } | undefined {
  const a = tj.metadata.annotations ?? {};
  const index = Number(a[ANNOTATION_TRIAL_INDEX]);
  if (!Number.isInteger(index) || index < 0) return undefined;
  let parameters: Assignment = {};
  try {
    parameters = JSON.parse(a[ANNOTATION_TRIAL_PARAMETERS] ?? '{}') as Assignment;
  } catch {
    // A hand-edited annotation: the trial still counts, with no parameters for the algorithm.
  }
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  return {
    index,
    parameters,
    epochs: num(a[ANNOTATION_TRIAL_EPOCHS]),
    resumes: num(a[ANNOTATION_TRIAL_RESUMES]),
  };
}
