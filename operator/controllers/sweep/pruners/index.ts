// Early-stopping rules a sweep can name in spec.earlyStopping.rule: each decides, from the trials'
// progress alone, whether a running trial should stop now. Adding one: a file and a line here.
import type { Trial } from '../algorithms/types.ts';
import { type MedianRule, medianShouldStop, type PruneDecision } from './median.ts';

export interface Pruner<Rule> {
  name: string;
  shouldStop(rule: Rule, trial: Trial, others: readonly Trial[]): PruneDecision;
}

export const PRUNERS = {
  median: { name: 'median', shouldStop: medianShouldStop } satisfies Pruner<MedianRule>,
} as const;

export type { MedianRule, PruneDecision } from './median.ts';
