// Which trials to start in this pass, derived from the trials that exist (level-based): the next
// index is one past the highest that exists, so a restarted operator continues where the old one
// stopped, and a name that exists is never suggested twice.
import type { HyperparameterSweep } from '../../../api/index.ts';
import {
  InvalidSpaceError,
  type SuggestContext,
  searchSpace,
  suggest,
  type Trial,
} from './algorithms/index.ts';
import type { TrialSuggestion } from './desired.ts';

export type SearchEnd =
  | { kind: 'exhausted'; reason: string }
  | { kind: 'invalid'; field: string; message: string };

export interface TrialPlan {
  start: { index: number; suggestion: TrialSuggestion }[];
  /** The algorithm has nothing left to try, or cannot search this space. */
  end?: SearchEnd;
}

export const nextIndex = (trials: readonly Trial[]) => Math.max(-1, ...trials.map((t) => t.index)) + 1;

const isUnfinished = (t: Trial) => t.state === 'Pending' || t.state === 'Running';

/** The trials to start now: as many as free slots allow under parallelTrials and maxTrials. */
export function planTrials(sweep: HyperparameterSweep, trials: readonly Trial[]): TrialPlan {
  const { spec } = sweep;
  let index = nextIndex(trials);
  let slots = Math.min(spec.parallelTrials - trials.filter(isUnfinished).length, spec.maxTrials - index);
  const start: TrialPlan['start'] = [];
  if (slots <= 0) return { start };
  let space: SuggestContext['space'];
  try {
    space = searchSpace(spec.parameters);
  } catch (err) {
    if (err instanceof InvalidSpaceError)
      return { start, end: { kind: 'invalid', field: err.field, message: err.message } };
    throw err;
  }
  const known: Trial[] = [...trials];
  for (; slots > 0; slots--, index++) {
    const suggestion = suggest(spec.algorithm, {
      seed: spec.seed,
      space,
      goal: spec.objective.goal,
      index,
      trials: known,
      budget: spec.maxTrials,
      resource: spec.asha,
    });
    if (suggestion.kind === 'exhausted' || suggestion.kind === 'invalid') return { start, end: suggestion };
    start.push({ index, suggestion });
    known.push({
      index,
      parameters: suggestion.parameters,
      state: 'Pending',
      epochs: suggestion.epochs,
      resumes: suggestion.kind === 'promote' ? suggestion.trial : undefined,
    });
  }
  return { start };
}
