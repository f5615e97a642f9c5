// The sweep's status, computed once per pass from the sweep and its trials: counts per state, the
// best trial, bounded per-trial summaries, the outcome and kstatus conditions.
import {
  type BestTrial,
  type HyperparameterSweep,
  type HyperparameterSweepStatus,
  SweepReason as Reason,
  TRIAL_SUMMARY_LIMIT,
  type TrialStatus,
  SweepConditionType as Type,
} from '../../../api/index.ts';
import { type ConditionInput, findCondition, type Refusal, sameStatus, setCondition } from '../conditions.ts';
import { compareObjective } from './algorithms/types.ts';
import type { SearchEnd } from './plan.ts';
import { isFinishedState, type TrialView } from './trials.ts';

/** How many of the summaries are kept for the best trials; the rest go to the newest. */
export const BEST_SUMMARIES = 10;

export interface Outcome {
  succeeded: boolean;
  reason: string;
  message: string;
}

/** The outcome the sweep's status already records: a finished sweep stays finished. */
export function finishedOutcome(status: HyperparameterSweepStatus | undefined): Outcome | undefined {
  for (const [type, succeeded] of [
    [Type.Succeeded, true],
    [Type.Failed, false],
  ] as const) {
    const c = findCondition(status?.conditions, type);
    if (c?.status === 'True') return { succeeded, reason: c.reason, message: c.message };
  }
  return undefined;
}

const count = (trials: readonly TrialView[], state: TrialStatus['state']) =>
  trials.filter((t) => t.state === state).length;

/** Succeeded trials with an objective, best first (ties: the lower index). */
function ranked(sweep: HyperparameterSweep, trials: readonly TrialView[]): TrialView[] {
  const { goal } = sweep.spec.objective;
  return trials
    .filter((t) => t.state === 'Succeeded' && t.objective !== undefined && Number.isFinite(t.objective))
    .sort((a, b) => compareObjective(goal, a.objective!, b.objective!) || a.index - b.index);
}

/**
 * How the sweep ends, or undefined while it goes on. `end` is what the algorithm said in this pass
 * (exhausted or invalid), `none` whether no trial can be started any more.
 */
export function sweepOutcome(
  sweep: HyperparameterSweep,
  trials: readonly TrialView[],
  end?: SearchEnd,
): Outcome | undefined {
  const previous = finishedOutcome(sweep.status);
  if (previous) return previous;
  const { maxFailedTrials, maxTrials, objective } = sweep.spec;
  const failed = count(trials, 'Failed');
  if (failed >= maxFailedTrials)
    return {
      succeeded: false,
      reason: Reason.TooManyFailedTrials,
      message: `${failed} trials failed (maxFailedTrials ${maxFailedTrials})`,
    };
  const best = ranked(sweep, trials)[0];
  if (
    best &&
    objective.target !== undefined &&
    compareObjective(objective.goal, best.objective!, objective.target) <= 0
  )
    return {
      succeeded: true,
      reason: Reason.TargetReached,
      message: `trial ${best.trainingJob.metadata.name} reached ${objective.metric} ${best.objective} (target ${objective.target})`,
    };
  const created = Math.max(-1, ...trials.map((t) => t.index)) + 1;
  const searchOver = created >= maxTrials || end?.kind === 'exhausted';
  if (!searchOver || !trials.every((t) => isFinishedState(t.state))) return undefined;
  if (!best)
    return {
      succeeded: false,
      reason: Reason.NoTrialSucceeded,
      message: `none of ${trials.length} trials succeeded`,
    };
  return {
    succeeded: true,
    reason: end?.kind === 'exhausted' ? Reason.SearchExhausted : Reason.Succeeded,
    message: `best trial ${best.trainingJob.metadata.name}: ${objective.metric} ${best.objective}`,
  };
}

/** The refusal (Stalled) of a search the algorithm cannot run on this space, naming the field. */
export function invalidSearchSpace(end: SearchEnd | undefined): Refusal | undefined {
  if (end?.kind !== 'invalid') return undefined;
  const { field, message } = end;
  return {
    reason: Reason.InvalidSearchSpace,
    message: message.startsWith(field) ? message : `${field}: ${message}`,
  };
}

const summary = (t: TrialView): TrialStatus => ({
  name: t.trainingJob.metadata.name!,
  index: t.index,
  parameters: Object.fromEntries(Object.entries(t.parameters).map(([k, v]) => [k, String(v)])),
  state: t.state,
  ...(t.objective === undefined ? {} : { objective: t.objective }),
});

/** The best BEST_SUMMARIES trials and the newest others, TRIAL_SUMMARY_LIMIT in all, by index. */
export function boundedSummaries(sweep: HyperparameterSweep, trials: readonly TrialView[]): TrialStatus[] {
  const keep = new Set(ranked(sweep, trials).slice(0, BEST_SUMMARIES));
  for (const t of [...trials].sort((a, b) => b.index - a.index)) {
    if (keep.size >= TRIAL_SUMMARY_LIMIT) break;
    keep.add(t);
  }
  return [...keep].sort((a, b) => a.index - b.index).map(summary);
}

function bestTrial(sweep: HyperparameterSweep, trials: readonly TrialView[]): BestTrial | undefined {
  const best = ranked(sweep, trials)[0];
  if (!best) return undefined;
  const artifact = best.trainingJob.status?.artifact;
  return {
    ...summary(best),
    ...(artifact ? { artifact: { uri: artifact.uri, manifestSha256: artifact.manifestSha256 } } : {}),
  };
}

export interface SweepObserved {
  trials: readonly TrialView[];
  outcome?: Outcome;
  /** The search cannot go on until the spec changes. */
  stalled?: Refusal;
  error?: Error;
  now: Date;
}

export function computeSweepStatus(
  sweep: HyperparameterSweep,
  observed: SweepObserved,
): HyperparameterSweepStatus {
  const { trials, outcome, stalled, error, now } = observed;
  const finished = trials.filter((t) => isFinishedState(t.state)).length;
  const best = bestTrial(sweep, trials);
  const suspended = sweep.spec.suspend === true && !outcome;
  const generation = sweep.metadata.generation;

  let ready: ConditionInput;
  if (outcome)
    ready = {
      type: Type.Ready,
      status: outcome.succeeded ? 'True' : 'False',
      reason: outcome.reason,
      message: outcome.message,
    };
  else if (stalled) ready = { type: Type.Ready, status: 'False', ...stalled };
  else if (error)
    ready = { type: Type.Ready, status: 'False', reason: Reason.ReconcileError, message: error.message };
  else if (suspended)
    ready = {
      type: Type.Ready,
      status: 'False',
      reason: Reason.Suspended,
      message: 'the sweep is suspended',
    };
  else
    ready = {
      type: Type.Ready,
      status: 'False',
      reason: Reason.Running,
      message: `${finished} of ${sweep.spec.maxTrials} trials finished, ${count(trials, 'Running')} running`,
    };
  const condition = (
    type: string,
    on: boolean,
    reason = ready.reason,
    message = ready.message,
  ): ConditionInput => ({
    type,
    status: on ? 'True' : 'False',
    reason,
    message,
  });
  const inputs: ConditionInput[] = [
    ready,
    condition(Type.Running, !outcome && !stalled && !suspended),
    condition(Type.Succeeded, outcome?.succeeded === true),
    condition(Type.Failed, outcome?.succeeded === false),
    condition(
      Type.Suspended,
      suspended,
      suspended ? Reason.Suspended : 'NotSuspended',
      suspended ? ready.message : '',
    ),
    condition(Type.Reconciling, !outcome && !stalled && !suspended),
    condition(Type.Stalled, Boolean(stalled) || outcome?.succeeded === false),
  ];
  const conditions = inputs.reduce(
    (list, input) => setCondition(list, input, generation, now),
    sweep.status?.conditions ?? [],
  );

  return {
    observedGeneration: generation,
    conditions,
    trialsCreated: Math.max(-1, ...trials.map((t) => t.index)) + 1,
    trialsPending: count(trials, 'Pending'),
    trialsRunning: count(trials, 'Running'),
    trialsSuspended: count(trials, 'Suspended'),
    trialsSucceeded: count(trials, 'Succeeded'),
    trialsFailed: count(trials, 'Failed'),
    trialsEarlyStopped: count(trials, 'EarlyStopped'),
    progress: `${finished}/${sweep.spec.maxTrials}`,
    ...(best ? { bestTrial: best, bestObjective: Number(best.objective!.toPrecision(4)) } : {}),
    trials: boundedSummaries(sweep, trials),
  };
}

export const sweepStatusChanged = (
  current: HyperparameterSweepStatus | undefined,
  next: HyperparameterSweepStatus,
) => !sameStatus(current, next);
