import { describe, expect, it } from 'vitest';
import type { HyperparameterSweepSpec } from '../../../api/index.ts';
import { trialsToStop } from './prune.ts';
import { sweepOf, type TrialOutcome, trialOf } from './testing.ts';
import { sweepTrials } from './trials.ts';

const median = { rule: 'median' as const, minEpochs: 1, minTrials: 2 };

describe('trialsToStop', () => {
  it.each<{
    name: string;
    spec?: Partial<HyperparameterSweepSpec>;
    trials: TrialOutcome[];
    stopped: number[];
  }>([
    {
      name: 'stops nothing when the sweep has no earlyStopping',
      spec: { earlyStopping: undefined },
      trials: [
        { state: 'Running', history: [0.1] },
        { state: 'Running', history: [0.2] },
        { state: 'Running', history: [2.3] },
      ],
      stopped: [],
    },
    {
      name: 'stops the running trial worse than the median of the others at its epoch',
      trials: [
        { state: 'Running', history: [0.1] },
        { state: 'Running', history: [0.2] },
        { state: 'Running', history: [2.3] },
      ],
      stopped: [2],
    },
    {
      name: 'compares with finished and early-stopped trials too',
      trials: [
        { state: 'Succeeded', objective: 0.05, history: [0.1, 0.05] },
        { state: 'Stopped', history: [1.9] },
        { state: 'Running', history: [1.2] },
      ],
      stopped: [2],
    },
    {
      name: 'does not ask a trial already asked to stop again',
      trials: [
        { state: 'Running', history: [0.1] },
        { state: 'Running', history: [0.2] },
        { state: 'Running', history: [2.3], stopRequested: true },
      ],
      stopped: [],
    },
    {
      name: 'waits for minTrials other trials at the epoch',
      spec: { earlyStopping: { ...median, minTrials: 3 } },
      trials: [
        { state: 'Running', history: [0.1] },
        { state: 'Running', history: [0.2] },
        { state: 'Running', history: [2.3] },
      ],
      stopped: [],
    },
    {
      name: 'never stops a trial before minEpochs',
      spec: { earlyStopping: { ...median, minEpochs: 2 } },
      trials: [
        { state: 'Succeeded', objective: 0.1, history: [0.2, 0.1] },
        { state: 'Succeeded', objective: 0.1, history: [0.2, 0.1] },
        { state: 'Running', history: [2.3] },
      ],
      stopped: [],
    },
    {
      name: 'leaves pending and suspended trials alone',
      trials: [
        { state: 'Succeeded', objective: 0.1, history: [0.2, 0.1] },
        { state: 'Succeeded', objective: 0.1, history: [0.2, 0.1] },
        { state: 'Pending' },
        { state: 'Suspended' },
      ],
      stopped: [],
    },
  ])('$name', ({ spec, trials, stopped }) => {
    const sweep = sweepOf({ earlyStopping: median, ...spec });
    const views = sweepTrials(
      sweep,
      trials.map((o, i) => trialOf(sweep, i, o)),
    );
    const stops = trialsToStop(sweep, views);
    expect(stops.map((s) => s.trial.index)).toEqual(stopped);
    for (const s of stops) expect(s.decision.reason).toMatch(/is worse than the median/);
  });
});
