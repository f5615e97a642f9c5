// Retraining on drift as a pure state machine (docs/retraining.md, ADR 0032): status.retraining
// and the retrain TrainingJobs this ModelDeployment owns are the only state, so a restarted
// operator makes the same decisions. Each reconcile asks nextRetrainState what the loop is now,
// given the Drifting condition and the canary as the last pass published them; the reconcile then
// creates the TrainingJob it says to start and rolls the artifact it names out as the canary.
import {
  CanaryPhase,
  type CanaryStatus,
  type Condition,
  type DatasetDigest,
  describeDatasetRead,
  digestOf,
  RetrainEventReason,
  type RetrainingSpec,
  type RetrainingStatus,
  RetrainOutcome,
  type TrainingJob,
  TrainingJobConditionType,
} from '../../../api/index.ts';
import { findCondition, isTrue, toRFC3339 } from '../conditions.ts';
import type { Artifact, CanaryEvent } from './canary.ts';
import {
  ANNOTATION_RETRAIN_REASON,
  ANNOTATION_RETRAIN_REPLACES,
  type RetrainStart,
  retrainName,
} from './desired-retrain.ts';

export interface OwnedRetrain {
  index: number;
  trainingJob: TrainingJob;
}

/** What the reconcile saw in this pass. */
export interface RetrainObserved {
  /** The ModelDeployment's name (retrains are named after it). */
  name: string;
  /** The Drifting condition as the last pass published it. */
  drifting?: Condition;
  /** status.canary as the last pass published it. */
  canary?: CanaryStatus;
  /** What spec.model resolves to now (undefined: nothing yet). */
  specModel?: string;
  /** The retrain TrainingJobs this ModelDeployment owns, from the cache. */
  retrains: OwnedRetrain[];
}

export interface RetrainDecision {
  status: RetrainingStatus;
  /** Create this retrain's TrainingJob in this pass. */
  start?: RetrainStart;
  /** The artifact spec.canary rolls out in place of spec.model's: the newest retrained one. */
  artifact?: Artifact;
  event?: CanaryEvent;
  /** When the decision can change without any event (drift held long enough, cooldown over). */
  dueInMs?: number;
}

/** A TrainingJob just created may not be in the cache yet; after this long its absence means it is gone. */
export const CACHE_GRACE_MS = 120_000;
const MAX_REASON = 1024;

const ENDED_CANARY = new Set<string>([CanaryPhase.Promoted, CanaryPhase.RolledBack, CanaryPhase.Aborted]);

const finished = (tj: TrainingJob) =>
  isTrue(tj.status?.conditions, TrainingJobConditionType.Succeeded) ||
  isTrue(tj.status?.conditions, TrainingJobConditionType.Failed);

const at = (now: Date, plusSeconds: number) => toRFC3339(new Date(now.getTime() + plusSeconds * 1000));

function duration(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.ceil(s / 60);
  return m < 120 ? `${m}m` : `${Math.floor(m / 60)}h${m % 60 ? `${m % 60}m` : ''}`;
}

/**
 * The retrain the status does not know of: one created by a pass whose status write was lost (an
 * operator killed between the two), or an unfinished one the status forgot. It is followed, never
 * started again.
 */
function unrecorded(s: RetrainingStatus, retrains: OwnedRetrain[]): OwnedRetrain | undefined {
  return retrains
    .filter(
      (r) => r.index > s.count || (!finished(r.trainingJob) && r.trainingJob.metadata.name !== s.last?.name),
    )
    .sort((a, b) => b.index - a.index)[0];
}

/** The artifact the canary rolls out: the last retrain's, while spec.model still names what it replaced. */
export function retrainedArtifact(
  s: RetrainingStatus | undefined,
  specModel: string | undefined,
): Artifact | undefined {
  const last = s?.last;
  if (last?.outcome !== RetrainOutcome.Succeeded || !last.artifact) return undefined;
  return last.replaces === specModel ? last.artifact : undefined;
}

export function nextRetrainState(
  current: RetrainingStatus | undefined,
  spec: RetrainingSpec,
  observed: RetrainObserved,
  now: Date,
): RetrainDecision {
  let s: RetrainingStatus = current ?? { count: 0, message: '' };
  const decide = (
    status: RetrainingStatus,
    extra: Omit<RetrainDecision, 'status' | 'artifact'> = {},
  ): RetrainDecision => {
    const artifact = retrainedArtifact(status, observed.specModel);
    return { status, ...extra, ...(artifact ? { artifact } : {}) };
  };

  const adopted = s.current ? undefined : unrecorded(s, observed.retrains);
  if (adopted) {
    const tj = adopted.trainingJob;
    s = {
      ...s,
      count: Math.max(s.count, adopted.index),
      current: {
        name: tj.metadata.name!,
        phase: tj.status?.phase ?? 'Pending',
        startedAt: tj.metadata.creationTimestamp
          ? toRFC3339(new Date(tj.metadata.creationTimestamp))
          : toRFC3339(now),
        reason: tj.metadata.annotations?.[ANNOTATION_RETRAIN_REASON] ?? '',
        replaces: tj.metadata.annotations?.[ANNOTATION_RETRAIN_REPLACES] ?? observed.specModel ?? '',
      },
    };
  }

  if (s.current) {
    const running = s.current;
    const tj = observed.retrains.find((r) => r.trainingJob.metadata.name === running.name)?.trainingJob;
    const ended = (
      outcome: RetrainOutcome,
      message: string,
      artifact?: Artifact,
      dataset?: DatasetDigest,
    ) => ({
      name: running.name,
      outcome,
      finishedAt: toRFC3339(now),
      message,
      replaces: running.replaces,
      ...(artifact ? { artifact } : {}),
      ...(dataset ? { dataset } : {}),
    });
    if (!tj) {
      if (now.getTime() - Date.parse(running.startedAt) < CACHE_GRACE_MS) return decide(s);
      const message = `retrain ${running.name} failed: its TrainingJob no longer exists`;
      const status = {
        ...s,
        current: undefined,
        last: ended(RetrainOutcome.Failed, message),
        nextAllowedAt: at(now, spec.cooldownSeconds),
        message: `${message}; no retrain before the cooldown ends`,
      };
      return decide(status, {
        event: { type: 'Warning', reason: RetrainEventReason.RetrainFailed, message },
      });
    }
    const conditions = tj.status?.conditions;
    const artifact = tj.status?.artifact;
    if (isTrue(conditions, TrainingJobConditionType.Succeeded) && artifact) {
      const read = tj.status?.dataset;
      const dataset = read ? digestOf(read) : undefined;
      // Which data made the model: the trainer's record of the objects it read (api/lineage.ts).
      const trainedOn = dataset
        ? `trained on ${describeDatasetRead(dataset)} (TrainingJob ${running.name} status.dataset lists them)`
        : `trained on ${tj.spec.dataset.uri} (its trainer recorded no objects)`;
      const message = `retrain ${running.name} succeeded, ${trainedOn}: its artifact ${artifact.uri} rolls out as a canary`;
      const status = {
        ...s,
        current: undefined,
        last: ended(
          RetrainOutcome.Succeeded,
          message,
          { uri: artifact.uri, version: artifact.version },
          dataset,
        ),
        message,
      };
      return decide(status, {
        event: { type: 'Normal', reason: RetrainEventReason.RetrainSucceeded, message },
      });
    }
    if (isTrue(conditions, TrainingJobConditionType.Failed)) {
      const failed = findCondition(conditions, TrainingJobConditionType.Failed);
      const message = `retrain ${running.name} failed (${failed?.reason}): ${failed?.message ?? ''}`.trim();
      const status = {
        ...s,
        current: undefined,
        last: ended(RetrainOutcome.Failed, message),
        nextAllowedAt: at(now, spec.cooldownSeconds),
        message: `${message}; the stable model keeps serving, no retrain before ${at(now, spec.cooldownSeconds)}`,
      };
      return decide(status, {
        event: { type: 'Warning', reason: RetrainEventReason.RetrainFailed, message },
      });
    }
    const phase = tj.status?.phase ?? 'Pending';
    return decide({
      ...s,
      current: { ...running, phase },
      message: `retrain ${running.name} is ${phase} (started ${running.startedAt}): ${running.reason}`,
    });
  }

  // The last retrain's canary: no new retrain while it runs; its end starts the cooldown.
  const last = s.last;
  if (last?.outcome === RetrainOutcome.Succeeded && last.artifact && !last.canary) {
    if (last.replaces !== observed.specModel) {
      const message = `spec.model changed since retrain ${last.name}: it rolls out instead of ${last.artifact.uri}`;
      return decide(
        {
          ...s,
          last: { ...last, canary: 'Aborted' },
          nextAllowedAt: at(now, spec.cooldownSeconds),
          message,
        },
        { event: { type: 'Normal', reason: RetrainEventReason.RetrainCanaryFinished, message } },
      );
    }
    const canary = observed.canary;
    if (canary?.artifact.uri === last.artifact.uri && ENDED_CANARY.has(canary.phase)) {
      const verdict = canary.phase as 'Promoted' | 'RolledBack' | 'Aborted';
      const message = `the canary of ${last.artifact.uri} from retrain ${last.name} ended ${verdict}: ${canary.message}`;
      return decide(
        {
          ...s,
          last: { ...last, canary: verdict },
          nextAllowedAt: at(now, spec.cooldownSeconds),
          message: `${message}; no retrain before ${at(now, spec.cooldownSeconds)}`,
        },
        {
          event: {
            type: verdict === 'Promoted' ? 'Normal' : 'Warning',
            reason: RetrainEventReason.RetrainCanaryFinished,
            message,
          },
        },
      );
    }
    const where = canary?.artifact.uri === last.artifact.uri ? canary.message : 'starting';
    return decide({
      ...s,
      message: `the canary of ${last.artifact.uri} from retrain ${last.name} runs (${where}); no retrain until it ends`,
    });
  }

  const drifting = observed.drifting;
  if (drifting?.status !== 'True') {
    const why = drifting
      ? `Drifting is ${drifting.status} (${drifting.reason})`
      : 'Drifting is not known yet';
    return decide({ ...s, message: `no retrain: ${why}` });
  }
  const dueAt = Date.parse(drifting.lastTransitionTime) + spec.driftForSeconds * 1000;
  const allowedAt = s.nextAllowedAt ? Date.parse(s.nextAllowedAt) : 0;
  if (now.getTime() < dueAt) {
    const left = dueAt - now.getTime();
    return decide(
      {
        ...s,
        message: `drifting since ${drifting.lastTransitionTime}: a retrain starts in ${duration(left)} if the drift holds (driftForSeconds ${spec.driftForSeconds})`,
      },
      { dueInMs: Math.max(left, allowedAt - now.getTime()) },
    );
  }
  if (now.getTime() < allowedAt) {
    const left = allowedAt - now.getTime();
    return decide(
      {
        ...s,
        message: `drifting since ${drifting.lastTransitionTime}, cooling down: no retrain before ${s.nextAllowedAt} (${duration(left)} left)`,
      },
      { dueInMs: left },
    );
  }
  if (observed.specModel === undefined) {
    return decide({ ...s, message: 'no retrain: spec.model does not name an artifact to replace yet' });
  }
  const index = s.count + 1;
  const name = retrainName(observed.name, index);
  const reason = `Drifting since ${drifting.lastTransitionTime}: ${drifting.message}`.slice(0, MAX_REASON);
  const message = `retrain ${name} started: ${reason}`;
  return decide(
    {
      ...s,
      count: index,
      current: { name, phase: 'Pending', startedAt: toRFC3339(now), reason, replaces: observed.specModel },
      message,
    },
    {
      start: { index, name, reason, replaces: observed.specModel },
      event: { type: 'Normal', reason: RetrainEventReason.RetrainStarted, message },
    },
  );
}
