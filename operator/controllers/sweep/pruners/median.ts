// The median stopping rule (Golovin et al., "Google Vizier", 2017), computed as a median: Katib's
// medianstop averages the other trials instead, so one diverged trial drags the bar far enough to
// let every mediocre trial run to the end.
import { compareObjective, type EpochValue, type Goal, type Trial } from '../algorithms/types.ts';

export interface MedianRule {
  goal: Goal;
  /** Never stop a trial before it completed this many epochs. */
  minEpochs: number;
  /** Compare only once this many other trials reported the epoch. */
  minTrials: number;
}

export type PruneDecision =
  | { stop: false; reason: string }
  | { stop: true; epoch: number; best: number; median: number; reason: string };

/** Best objective over epochs 1..e; a non-finite value (a diverged loss) counts as the worst possible. */
export function bestSoFar(progress: readonly EpochValue[], epoch: number, goal: Goal): number | undefined {
  const worst = goal === 'minimize' ? Infinity : -Infinity;
  const seen = progress
    .filter((p) => p.epoch <= epoch)
    .map((p) => (Number.isFinite(p.value) ? p.value : worst));
  if (seen.length === 0) return undefined;
  return seen.reduce((a, b) => (compareObjective(goal, b, a) < 0 ? b : a));
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Whether `trial` should stop now: at its latest epoch e (>= minEpochs), its best objective so far
 * is strictly worse than the median of the other trials' best-so-far values at e, counting only
 * the others that reached e — finished ones as well as running ones.
 */
export function medianShouldStop(rule: MedianRule, trial: Trial, others: readonly Trial[]): PruneDecision {
  const progress = trial.progress ?? [];
  const epoch = Math.max(0, ...progress.map((p) => p.epoch));
  if (epoch < rule.minEpochs) return { stop: false, reason: `epoch ${epoch} < minEpochs ${rule.minEpochs}` };
  const best = bestSoFar(progress, epoch, rule.goal)!;
  const reached = (t: Trial) => (t.progress ?? []).some((p) => p.epoch === epoch);
  // A promotion continues its source's run, so its history repeats the source's epochs: counted
  // once, through the source, when the source is among the trials.
  const inherited = (o: Trial) =>
    o.resumes !== undefined && [trial, ...others].some((s) => s.index === o.resumes && reached(s));
  const peers = others
    .filter((o) => o.index !== trial.index && reached(o) && !inherited(o))
    .map((o) => bestSoFar(o.progress!, epoch, rule.goal)!);
  if (peers.length < rule.minTrials)
    return {
      stop: false,
      reason: `${peers.length} other trials reached epoch ${epoch} (minTrials ${rule.minTrials})`,
    };
  const m = median(peers);
  if (compareObjective(rule.goal, m, best) < 0)
    return {
      stop: true,
      epoch,
      best,
      median: m,
      reason: `best ${best} at epoch ${epoch} is worse than the median ${m} of ${peers.length} other trials`,
    };
  return { stop: false, reason: `best ${best} at epoch ${epoch} is no worse than the median ${m}` };
}
