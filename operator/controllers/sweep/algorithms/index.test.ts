import { describe, expect, it } from 'vitest';
import { ALGORITHMS, type AlgorithmName, searchSpace, suggest } from './index.ts';
import { randomAssignment } from './random.ts';
import type { SearchSpace, SuggestContext, Trial } from './types.ts';

const space: SearchSpace = searchSpace([
  { name: 'learningRate', type: 'double', min: 1e-4, max: 1e-1, scale: 'log', points: 4 },
  { name: 'batchSize', type: 'int', min: 16, max: 128, scale: 'log', points: 4 },
  { name: 'optimizer', type: 'categorical', values: ['sgd', 'adam'] },
]);

/** A sweep midway: 12 finished trials at rung 0 (1 epoch), 2 running. */
function midway(): Trial[] {
  return Array.from({ length: 14 }, (_, index) => {
    const parameters = randomAssignment(space, 5, index);
    return index < 12
      ? {
          index,
          parameters,
          state: 'Succeeded',
          objective: Number(parameters.learningRate) * 10 + index / 100,
          epochs: 1,
        }
      : { index, parameters, state: 'Running', epochs: 1 };
  });
}
const ctx = (seed: number, trials: Trial[]): SuggestContext => ({
  seed,
  space,
  goal: 'minimize',
  index: trials.length,
  trials,
  budget: 30,
  resource: { minEpochs: 1, maxEpochs: 9, reductionFactor: 3 },
});

describe('the algorithm registry', () => {
  it.each(Object.keys(ALGORITHMS) as AlgorithmName[])(
    'makes %s suggest the same trial from the same seed and trials, as a restarted operator would',
    (name) => {
      const first = suggest(name, ctx(11, midway()));
      expect(['trial', 'promote']).toContain(first.kind);
      expect(suggest(name, ctx(11, midway()))).toEqual(first);
    },
  );

  it.each(Object.keys(ALGORITHMS) as AlgorithmName[])(
    'makes %s suggest the same trial whatever order the informer lists the trials in',
    (name) => {
      expect(suggest(name, ctx(11, midway().reverse()))).toEqual(suggest(name, ctx(11, midway())));
    },
  );

  it.each(['random', 'tpe'] as const)('makes %s suggest another point from another seed', (name) => {
    expect(suggest(name, ctx(11, midway()))).not.toEqual(suggest(name, ctx(12, midway())));
  });

  it('names the algorithm in every entry as the sweep spells it', () => {
    for (const [key, algorithm] of Object.entries(ALGORITHMS)) expect(algorithm.name).toBe(key);
  });
});

describe('searchSpace', () => {
  it.each([
    {
      name: 'rejects a categorical parameter without values, naming values',
      p: { name: 'optimizer', type: 'categorical' as const },
      field: 'spec.parameters[0].values',
    },
    {
      name: 'rejects min above max, naming min',
      p: { name: 'learningRate', type: 'double' as const, min: 1, max: 0.1 },
      field: 'spec.parameters[0].min',
    },
    {
      name: 'rejects a log scale that reaches zero, naming min',
      p: { name: 'learningRate', type: 'double' as const, min: 0, max: 0.1, scale: 'log' as const },
      field: 'spec.parameters[0].min',
    },
    {
      name: 'rejects fractional bounds on an int, naming min',
      p: { name: 'batchSize', type: 'int' as const, min: 1.5, max: 8 },
      field: 'spec.parameters[0].min',
    },
  ])('$name', ({ p, field }) => {
    expect(() => searchSpace([p])).toThrow(expect.objectContaining({ field }));
  });
});
