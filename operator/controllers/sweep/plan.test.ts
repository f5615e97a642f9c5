import { describe, expect, it } from 'vitest';
import type { HyperparameterSweepSpec } from '../../../api/index.ts';
import { nextIndex, planTrials } from './plan.ts';
import { sweepOf, type TrialOutcome, trialOf } from './testing.ts';
import { forAlgorithm, sweepTrials } from './trials.ts';

const plan = (spec: Partial<HyperparameterSweepSpec>, outcomes: TrialOutcome[]) => {
  const sweep = sweepOf(spec);
  const trials = forAlgorithm(
    sweepTrials(
      sweep,
      outcomes.map((o, i) => trialOf(sweep, i, o)),
    ),
  );
  return planTrials(sweep, trials);
};
const indices = (p: ReturnType<typeof planTrials>) => p.start.map((s) => s.index);

describe('planTrials', () => {
  it.each<{ name: string; spec?: Partial<HyperparameterSweepSpec>; trials: TrialOutcome[]; start: number[] }>(
    [
      {
        name: 'starts parallelTrials trials in a new sweep',
        spec: { parallelTrials: 3 },
        trials: [],
        start: [0, 1, 2],
      },
      {
        name: 'starts none while parallelTrials trials are unfinished (pending ones count)',
        trials: [{ state: 'Running' }, { state: 'Pending' }],
        start: [],
      },
      {
        name: 'fills the slot a finished trial freed with the next index',
        trials: [{ state: 'Succeeded', objective: 0.3 }, { state: 'Running' }],
        start: [2],
      },
      {
        name: 'counts a failed trial as finished',
        trials: [{ state: 'Failed' }, { state: 'Running' }],
        start: [2],
      },
      {
        name: 'never goes past maxTrials',
        spec: { maxTrials: 3, parallelTrials: 3 },
        trials: [
          { state: 'Succeeded', objective: 1 },
          { state: 'Succeeded', objective: 2 },
        ],
        start: [2],
      },
      {
        name: 'starts nothing once maxTrials trials exist',
        spec: { maxTrials: 2 },
        trials: [{ state: 'Succeeded', objective: 1 }, { state: 'Failed' }],
        start: [],
      },
    ],
  )('$name', ({ spec = {}, trials, start }) => {
    expect(indices(plan(spec, trials))).toEqual(start);
  });

  it('continues after the highest existing index, so a restart never repeats one', () => {
    expect(
      nextIndex([
        { index: 0, parameters: {}, state: 'Failed' },
        { index: 5, parameters: {}, state: 'Running' },
      ]),
    ).toBe(6);
  });

  it('suggests the same trial for the same index from the same trials, as a restarted operator would', () => {
    const trials: TrialOutcome[] = [
      { state: 'Succeeded', objective: 0.5 },
      { state: 'Succeeded', objective: 0.2 },
    ];
    const a = plan({ algorithm: 'tpe' }, trials);
    const b = plan({ algorithm: 'tpe' }, trials);
    expect(a.start).toEqual(b.start);
    expect(indices(a)).toEqual([2, 3]);
    expect(a.start[0]!.suggestion.parameters).not.toEqual(a.start[1]!.suggestion.parameters);
  });

  it('ends a grid search with exhausted once every point was tried', () => {
    const spec = {
      algorithm: 'grid' as const,
      parameters: [
        {
          name: 'optimizer' as const,
          type: 'categorical' as const,
          values: ['adam', 'sgd'],
          scale: 'linear' as const,
        },
      ],
    };
    const p = plan(spec, [
      { state: 'Succeeded', objective: 1 },
      { state: 'Succeeded', objective: 2 },
    ]);
    expect(p.start).toEqual([]);
    expect(p.end?.kind).toBe('exhausted');
  });

  it('gives asha trials the first rung’s epochs', () => {
    const p = plan({ algorithm: 'asha', asha: { minEpochs: 1, maxEpochs: 9, reductionFactor: 3 } }, []);
    expect(p.start.map((s) => s.suggestion.epochs)).toEqual([1, 1]);
  });

  it('names the field of a space the algorithm cannot search', () => {
    const p = plan({ algorithm: 'asha' }, []);
    expect(p.end).toMatchObject({ kind: 'invalid', field: 'spec.asha' });
  });
});
