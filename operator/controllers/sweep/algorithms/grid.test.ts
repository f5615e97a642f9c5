import { describe, expect, it } from 'vitest';
import { grid, gridSearch, gridValues } from './grid.ts';
import { suggest } from './index.ts';
import type { Dimension, SearchSpace } from './types.ts';

const field = 'spec.parameters[0]';

describe('gridValues', () => {
  it.each<{ name: string; d: Dimension; values: (number | string)[] }>([
    {
      name: 'takes every integer of an int range when no step is given',
      d: { name: 'n', field, type: 'int', min: 2, max: 5, scale: 'linear' },
      values: [2, 3, 4, 5],
    },
    {
      name: 'walks a double range in steps, including max when a step lands on it',
      d: { name: 'x', field, type: 'double', min: 0, max: 1, scale: 'linear', step: 0.25 },
      values: [0, 0.25, 0.5, 0.75, 1],
    },
    {
      name: 'stops before max when the step does not divide the range',
      d: { name: 'x', field, type: 'double', min: 0, max: 1, scale: 'linear', step: 0.3 },
      values: [0, 0.3, 0.6, 0.9],
    },
    {
      name: 'spaces points evenly on a linear scale',
      d: { name: 'x', field, type: 'double', min: 0.1, max: 0.5, scale: 'linear', points: 3 },
      values: [0.1, 0.3, 0.5],
    },
    {
      name: 'spaces points geometrically on a log scale',
      d: { name: 'lr', field, type: 'double', min: 1e-4, max: 1e-2, scale: 'log', points: 3 },
      values: [1e-4, 1e-3, 1e-2],
    },
    {
      name: 'rounds log-spaced int points to integers',
      d: { name: 'b', field, type: 'int', min: 1, max: 1000, scale: 'log', points: 4 },
      values: [1, 10, 100, 1000],
    },
    {
      name: 'visits an int once when rounding merges neighbouring points',
      d: { name: 'n', field, type: 'int', min: 1, max: 3, scale: 'linear', points: 5 },
      values: [1, 2, 3],
    },
    {
      name: 'gives 0, not -0, where rounding lands on zero from below',
      d: { name: 'n', field, type: 'int', min: -1, max: 1, scale: 'linear', points: 5 },
      values: [-1, 0, 1],
    },
    {
      name: 'takes a single point at min',
      d: { name: 'x', field, type: 'double', min: 0.5, max: 2, scale: 'linear', points: 1 },
      values: [0.5],
    },
    {
      name: 'takes the categorical values in their listed order',
      d: { name: 'optimizer', field, type: 'categorical', values: ['sgd', 'adam'] },
      values: ['sgd', 'adam'],
    },
  ])('$name', ({ d, values }) => {
    expect(gridValues(d)).toEqual(values);
  });
});

describe('grid search', () => {
  const space: SearchSpace = [
    {
      name: 'optimizer',
      field: 'spec.parameters[0]',
      type: 'categorical',
      values: ['sgd', 'adam', 'rmsprop'],
    },
    {
      name: 'batchSize',
      field: 'spec.parameters[1]',
      type: 'int',
      min: 16,
      max: 64,
      scale: 'linear',
      step: 24,
    },
    {
      name: 'learningRate',
      field: 'spec.parameters[2]',
      type: 'double',
      min: 1e-3,
      max: 1e-1,
      scale: 'log',
      points: 3,
    },
  ];
  const ctx = (index: number) => ({
    seed: 1,
    space,
    goal: 'minimize' as const,
    index,
    trials: [],
    budget: 100,
  });

  it('covers every combination exactly once and then says it is exhausted', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 27; i++) {
      const s = gridSearch.suggest(ctx(i));
      if (s.kind !== 'trial') throw new Error(`trial ${i}: ${s.kind}`);
      seen.add(JSON.stringify(s.parameters));
    }
    expect(seen.size).toBe(27);
    expect(grid(space).size).toBe(27);
    expect(gridSearch.suggest(ctx(27))).toEqual({
      kind: 'exhausted',
      reason: 'all 27 grid combinations were tried',
    });
  });

  it('varies the last parameter fastest, like nested loops in the listed order', () => {
    const at = (i: number) => grid(space).at(i);
    expect(at(0)).toEqual({ optimizer: 'sgd', batchSize: 16, learningRate: 1e-3 });
    expect(at(1)).toEqual({ optimizer: 'sgd', batchSize: 16, learningRate: 1e-2 });
    expect(at(3)).toEqual({ optimizer: 'sgd', batchSize: 40, learningRate: 1e-3 });
    expect(at(9)).toEqual({ optimizer: 'adam', batchSize: 16, learningRate: 1e-3 });
  });

  it.each<{ name: string; d: Dimension; field: string }>([
    {
      name: 'rejects a double with neither step nor points, naming points',
      d: { name: 'x', field, type: 'double', min: 0, max: 1, scale: 'linear' },
      field: `${field}.points`,
    },
    {
      name: 'rejects a step on a log scale, naming step',
      d: { name: 'x', field, type: 'double', min: 0.1, max: 1, scale: 'log', step: 0.1 },
      field: `${field}.step`,
    },
    {
      name: 'rejects a step of zero, naming step',
      d: { name: 'x', field, type: 'double', min: 0, max: 1, scale: 'linear', step: 0 },
      field: `${field}.step`,
    },
    {
      name: 'rejects a fractional number of points, naming points',
      d: { name: 'x', field, type: 'double', min: 0, max: 1, scale: 'linear', points: 2.5 },
      field: `${field}.points`,
    },
    {
      name: 'rejects a step that makes millions of points, naming step',
      d: { name: 'x', field, type: 'double', min: 0, max: 1, scale: 'linear', step: 1e-9 },
      field: `${field}.step`,
    },
  ])('$name', ({ d, field: expected }) => {
    const s = suggest('grid', { ...ctx(0), space: [d] });
    expect(s).toMatchObject({ kind: 'invalid', field: expected });
  });
});
