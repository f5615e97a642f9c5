// A sweep's trials as the search algorithms and the status see them, read from the trial
// TrainingJobs: state from their conditions, objective from status.metrics and progress history.
import {
  type HyperparameterSweep,
  isStopReason,
  type TrainingJob,
  TrainingJobConditionType,
  type TrialStatus,
} from '../../../api/index.ts';
import { findCondition } from '../conditions.ts';
import { ownershipOf } from '../ownership.ts';
import type { Goal, Trial, TrialState } from './algorithms/index.ts';
import { trialRecord } from './desired.ts';
import { bestSoFar } from './pruners/median.ts';

/** A trial with the TrainingJob it came from. */
export interface TrialView extends Omit<Trial, 'state'> {
  trainingJob: TrainingJob;
  state: TrialStatus['state'];
}

export function trialState(tj: TrainingJob): TrialStatus['state'] {
  const c = tj.status?.conditions;
  for (const type of [TrainingJobConditionType.Succeeded, TrainingJobConditionType.Failed] as const) {
    const cond = findCondition(c, type);
    // A stopped trial (by the sweep's rule or by hand: spec.stop, ADR 0020) was pruned, not failed.
    if (cond?.status === 'True') return isStopReason(cond.reason) ? 'EarlyStopped' : type;
  }
  if (findCondition(c, TrainingJobConditionType.Suspended)?.status === 'True') return 'Suspended';
  if (findCondition(c, TrainingJobConditionType.Running)?.status === 'True') return 'Running';
  return 'Pending';
}

/**
 * The objective a trial reached: its final metric once it succeeded (the trainer's evaluation),
 * else the best value of its epochs so far.
 */
function objectiveOf(
  tj: TrainingJob,
  metric: string,
  goal: Goal,
  state: TrialState,
  progress: Trial['progress'],
) {
  const final = tj.status?.metrics?.[metric];
  if (state === 'Succeeded' && final !== undefined && Number.isFinite(final)) return final;
  if (!progress?.length) return undefined;
  const best = bestSoFar(progress, Number.POSITIVE_INFINITY, goal);
  return best !== undefined && Number.isFinite(best) ? best : undefined;
}

/** The sweep's trials among `trainingJobs` (those it controls and that carry a trial index), by index. */
export function sweepTrials(sweep: HyperparameterSweep, trainingJobs: readonly TrainingJob[]): TrialView[] {
  const { metric, goal } = sweep.spec.objective;
  return trainingJobs
    .filter((tj) => ownershipOf(tj, sweep.metadata.uid!) === 'ours')
    .flatMap((tj): TrialView[] => {
      const record = trialRecord(tj);
      if (!record) return [];
      const state = trialState(tj);
      const progress = (tj.status?.progress?.history ?? []).flatMap((h) => {
        const value = h.metrics[metric];
        return value === undefined ? [] : [{ epoch: h.epoch, value }];
      });
      // The algorithms know no Suspended: a suspended trial is one that will run again.
      const algorithmState: TrialState = state === 'Suspended' ? 'Pending' : state;
      const objective = objectiveOf(tj, metric, goal, algorithmState, progress);
      return [{ ...record, state, progress, objective, trainingJob: tj }];
    })
    .sort((a, b) => a.index - b.index);
}

export const isFinishedState = (s: TrialStatus['state']) =>
  s === 'Succeeded' || s === 'Failed' || s === 'EarlyStopped';

/** The trials as the algorithms take them (their state vocabulary has no Suspended). */
export const forAlgorithm = (trials: readonly TrialView[]): Trial[] =>
  trials.map(({ trainingJob: _tj, ...t }) => ({
    ...t,
    state: t.state === 'Suspended' ? 'Pending' : t.state,
  }));
