import { describe, expect, it } from 'vitest';
import type { Trial } from '../algorithms/types.ts';
import { type MedianRule, medianShouldStop } from './median.ts';

/** A trial whose objective after epoch e+1 is values[e]. */
const trial = (index: number, values: number[], state: Trial['state'] = 'Running'): Trial => ({
  index,
  parameters: {},
  state,
  progress: values.map((value, e) => ({ epoch: e + 1, value })),
});
const rule: MedianRule = { goal: 'minimize', minEpochs: 2, minTrials: 3 };

describe('medianShouldStop', () => {
  it.each<{
    name: string;
    rule?: Partial<MedianRule>;
    trial: Trial;
    others: Trial[];
    stop: boolean;
    median?: number;
  }>([
    {
      // Others' best at epoch 3: 0.1, 0.2, 5.0 → median 0.2, mean 1.77. Katib's mean would keep 0.3.
      name: 'stops a trial worse than the median even though it is better than the mean',
      trial: trial(9, [0.9, 0.5, 0.3]),
      others: [trial(0, [0.4, 0.2, 0.1]), trial(1, [0.6, 0.3, 0.2]), trial(2, [9, 7, 5])],
      stop: true,
      median: 0.2,
    },
    {
      // Others' best at epoch 3: 0.1, 0.2, 0.3 → median 0.2, mean 0.2; but 0.15 is better than both.
      name: 'keeps a trial better than the median',
      trial: trial(9, [0.9, 0.5, 0.15]),
      others: [trial(0, [0.4, 0.2, 0.1]), trial(1, [0.6, 0.3, 0.2]), trial(2, [0.5, 0.4, 0.3])],
      stop: false,
    },
    {
      name: 'keeps a trial exactly at the median',
      trial: trial(9, [0.9, 0.5, 0.2]),
      others: [trial(0, [0.4, 0.2, 0.1]), trial(1, [0.6, 0.3, 0.2]), trial(2, [0.5, 0.4, 0.3])],
      stop: false,
    },
    {
      name: 'judges the trial by its best epoch so far, not its latest',
      trial: trial(9, [0.9, 0.1, 0.6]),
      others: [trial(0, [0.4, 0.2, 0.1]), trial(1, [0.6, 0.3, 0.2]), trial(2, [0.5, 0.4, 0.3])],
      stop: false,
    },
    {
      name: 'compares with the other trials as they were at the same epoch, not after it',
      trial: trial(9, [0.9, 0.5]),
      others: [
        trial(0, [0.6, 0.55, 0.01], 'Succeeded'),
        trial(1, [0.7, 0.6, 0.02]),
        trial(2, [0.8, 0.7, 0.03]),
      ],
      stop: false,
    },
    {
      name: 'counts finished and early-stopped trials that reached the epoch',
      trial: trial(9, [0.9, 0.5]),
      others: [trial(0, [0.4, 0.2], 'Succeeded'), trial(1, [0.6, 0.3], 'EarlyStopped'), trial(2, [0.5, 0.4])],
      stop: true,
      median: 0.3,
    },
    {
      name: 'never stops a trial before minEpochs',
      trial: trial(9, [0.9]),
      rule: { minEpochs: 2, minTrials: 1 },
      others: [trial(0, [0.1]), trial(1, [0.1]), trial(2, [0.1])],
      stop: false,
    },
    {
      // Trial 3 continues trial 0 (an ASHA promotion): its epochs 1-2 are trial 0's, counted once.
      // Counted twice, the others at epoch 2 would be 0.2, 0.2, 0.3, 0.9 → median 0.25, and 0.28 would stop.
      name: 'counts a promotion’s inherited epochs once, through the trial it continues',
      trial: trial(9, [0.9, 0.28]),
      others: [
        trial(0, [0.4, 0.2], 'Succeeded'),
        { ...trial(3, [0.4, 0.2, 0.15]), resumes: 0 },
        trial(1, [0.6, 0.3]),
        trial(2, [1.2, 0.9]),
      ],
      stop: false,
    },
    {
      name: 'waits until minTrials other trials reached the epoch',
      trial: trial(9, [0.9, 0.5, 0.3]),
      others: [trial(0, [0.4, 0.2, 0.1]), trial(1, [0.6, 0.3, 0.2]), trial(2, [0.5, 0.4])],
      stop: false,
    },
    {
      name: 'never compares the trial with itself',
      trial: trial(9, [0.9, 0.5, 0.3]),
      others: [trial(9, [0.9, 0.5, 0.3]), trial(0, [0.4, 0.2, 0.1]), trial(1, [0.6, 0.3, 0.2])],
      stop: false,
    },
    {
      name: 'takes the mean of the two middle values when an even number of trials reached the epoch',
      rule: { minTrials: 4 },
      trial: trial(9, [0.9, 0.26]),
      others: [trial(0, [0.5, 0.1]), trial(1, [0.5, 0.2]), trial(2, [0.5, 0.3]), trial(3, [0.5, 0.9])],
      stop: true,
      median: 0.25,
    },
    {
      name: 'stops a trial below the median when the goal is maximize',
      rule: { goal: 'maximize' },
      trial: trial(9, [0.5, 0.7]),
      others: [trial(0, [0.6, 0.8]), trial(1, [0.7, 0.9]), trial(2, [0.1, 0.2])],
      stop: true,
      median: 0.8,
    },
    {
      name: 'counts a diverged (NaN) objective as the worst value',
      trial: trial(9, [Number.NaN, Number.NaN]),
      others: [trial(0, [0.4, 0.2]), trial(1, [0.6, 0.3]), trial(2, [0.5, 0.4])],
      stop: true,
      median: 0.3,
    },
  ])('$name', ({ rule: over, trial: t, others, stop, median }) => {
    const decision = medianShouldStop({ ...rule, ...over }, t, others);
    expect(decision.stop, decision.reason).toBe(stop);
    if (median !== undefined) expect(decision).toMatchObject({ median });
  });
});
