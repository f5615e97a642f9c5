import { describe, expect, it } from 'vitest';
import { asha, rungEpochs } from './asha.ts';
import { suggest } from './index.ts';
import type { EpochResource, SearchSpace, SuggestContext, Suggestion, Trial } from './types.ts';

const space: SearchSpace = [
  { name: 'learningRate', field: 'spec.parameters[0]', type: 'double', min: 1e-4, max: 1e-1, scale: 'log' },
];
const resource: EpochResource = { minEpochs: 1, maxEpochs: 9, reductionFactor: 3 };
const ctx = (trials: Trial[], over: Partial<SuggestContext> = {}): SuggestContext => ({
  seed: 1,
  space,
  goal: 'minimize',
  index: trials.length,
  trials,
  budget: 50,
  resource,
  ...over,
});
/** A trial at the rung of `epochs`; `resumes` makes it a promotion of that trial. */
const trial = (
  index: number,
  epochs: number,
  state: Trial['state'],
  objective?: number,
  resumes?: number,
): Trial => ({
  index,
  parameters: { learningRate: index / 1000 + 1e-4 },
  state,
  objective,
  epochs,
  resumes,
});
const promote = (t: number, rung: number, epochs: number): Partial<Suggestion> => ({
  kind: 'promote',
  trial: t,
  rung,
  epochs,
  parameters: { learningRate: t / 1000 + 1e-4 },
});
/** Three trials that finished rung 0 (1 epoch); trial 1 is the best when minimising. */
const rung0 = [trial(0, 1, 'Succeeded', 0.5), trial(1, 1, 'Succeeded', 0.2), trial(2, 1, 'Succeeded', 0.9)];
const newTrial: Partial<Suggestion> = { kind: 'trial', epochs: 1 };

describe('rungEpochs', () => {
  it.each([
    { r: { minEpochs: 1, maxEpochs: 9, reductionFactor: 3 }, rungs: [1, 3, 9] },
    { r: { minEpochs: 1, maxEpochs: 27, reductionFactor: 3 }, rungs: [1, 3, 9, 27] },
    { r: { minEpochs: 1, maxEpochs: 10, reductionFactor: 3 }, rungs: [1, 3, 10] },
    { r: { minEpochs: 2, maxEpochs: 20, reductionFactor: 2 }, rungs: [2, 4, 8, 20] },
    { r: { minEpochs: 1, maxEpochs: 2, reductionFactor: 3 }, rungs: [1, 2] },
    { r: { minEpochs: 5, maxEpochs: 5, reductionFactor: 3 }, rungs: [5] },
  ])('trains rungs to $rungs epochs for $r', ({ r, rungs }) => {
    expect(rungEpochs(r)).toEqual(rungs);
  });
});

describe('asha', () => {
  it.each<{ name: string; trials: Trial[]; goal?: 'minimize' | 'maximize'; want: Partial<Suggestion> }>([
    {
      name: 'starts a new configuration at the lowest rung when nothing ran yet',
      trials: [],
      want: newTrial,
    },
    {
      name: 'starts a new configuration while fewer than eta trials finished a rung',
      trials: [trial(0, 1, 'Succeeded', 0.5), trial(1, 1, 'Succeeded', 0.2), trial(2, 1, 'Running')],
      want: newTrial,
    },
    {
      name: 'promotes the best of eta finished trials to the next rung',
      trials: rung0,
      want: promote(1, 1, 3),
    },
    {
      name: 'promotes the highest objective when the goal is maximize',
      goal: 'maximize',
      trials: rung0,
      want: promote(2, 1, 3),
    },
    {
      name: 'does not promote a trial twice, and starts a new one when the top 1/eta is promoted',
      trials: [...rung0, trial(3, 3, 'Running', undefined, 1)],
      want: newTrial,
    },
    {
      name: 'does not retry the promotion of a trial whose continuation failed',
      trials: [...rung0, trial(3, 3, 'Failed', undefined, 1)],
      want: newTrial,
    },
    {
      name: 'promotes the second best once six trials finished the rung and the best is promoted',
      trials: [
        ...rung0,
        trial(3, 3, 'Succeeded', 0.15, 1),
        trial(4, 1, 'Succeeded', 0.7),
        trial(5, 1, 'Succeeded', 0.3),
        trial(6, 1, 'Succeeded', 0.8),
      ],
      want: promote(5, 1, 3),
    },
    {
      name: 'promotes from the higher rung first, to max epochs',
      trials: [
        ...[0.5, 0.2, 0.9, 0.4, 0.3, 0.8, 0.6, 0.7, 0.1].map((o, i) => trial(i, 1, 'Succeeded', o)),
        trial(9, 3, 'Succeeded', 0.12, 8),
        trial(10, 3, 'Succeeded', 0.09, 1),
        trial(11, 3, 'Succeeded', 0.2, 4),
      ],
      want: promote(10, 2, 9),
    },
    {
      name: 'ignores early-stopped and failed trials when ranking a rung',
      trials: [
        trial(0, 1, 'EarlyStopped', 0.01),
        trial(1, 1, 'Failed'),
        trial(2, 1, 'Succeeded', 0.9),
        trial(3, 1, 'Succeeded', 0.5),
      ],
      want: newTrial,
    },
  ])('$name', ({ trials, goal = 'minimize', want }) => {
    expect(asha.suggest(ctx(trials, { goal }))).toMatchObject(want);
  });

  it.each<{ name: string; over: Partial<SuggestContext>; field: string }>([
    { name: 'rejects a sweep without the epoch resource', over: { resource: undefined }, field: 'spec.asha' },
    {
      name: 'rejects a reduction factor below 2',
      over: { resource: { ...resource, reductionFactor: 1 } },
      field: 'spec.asha.reductionFactor',
    },
    {
      name: 'rejects maxEpochs below minEpochs',
      over: { resource: { ...resource, maxEpochs: 0 } },
      field: 'spec.asha.maxEpochs',
    },
    {
      name: 'rejects searching epochs, which asha sets itself',
      over: {
        space: [
          ...space,
          { name: 'epochs', field: 'spec.parameters[1]', type: 'int', min: 1, max: 9, scale: 'linear' },
        ],
      },
      field: 'spec.parameters[1].name',
    },
  ])('$name', ({ over, field }) => {
    expect(suggest('asha', ctx([], over))).toMatchObject({ kind: 'invalid', field });
  });

  it('carries a configuration up the rungs as a chain of continuations, so it trains the top rung’s epochs in all, not their sum', () => {
    // Sequential sweep, every trial succeeding at once with its configuration's objective.
    const trials: Trial[] = [];
    const objectiveOf = (lr: number) => Math.abs(Math.log10(lr) + 2);
    for (let index = 0; index < 40; index++) {
      const s = asha.suggest(ctx(trials, { index }));
      if (s.kind !== 'trial' && s.kind !== 'promote') throw new Error(JSON.stringify(s));
      const lr = s.parameters.learningRate as number;
      trials.push({
        index,
        parameters: s.parameters,
        state: 'Succeeded',
        objective: objectiveOf(lr),
        epochs: s.epochs,
        resumes: s.kind === 'promote' ? s.trial : undefined,
      });
    }
    // Epochs each trial trains itself: its budget less the budget of the trial it continues.
    const trained = (t: Trial) => t.epochs! - (t.resumes === undefined ? 0 : trials[t.resumes]!.epochs!);
    const top = trials.filter((t) => t.epochs === resource.maxEpochs);
    expect(top.length).toBeGreaterThan(0);
    for (const t of top) {
      const chain = [t];
      while (chain.at(-1)!.resumes !== undefined) chain.push(trials[chain.at(-1)!.resumes!]!);
      expect(chain.map((c) => c.epochs)).toEqual([9, 3, 1]);
      expect(chain.every((c) => c.parameters.learningRate === t.parameters.learningRate)).toBe(true);
      expect(chain.reduce((n, c) => n + trained(c), 0)).toBe(resource.maxEpochs);
    }
  });
});
