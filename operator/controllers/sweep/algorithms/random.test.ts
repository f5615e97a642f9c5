import { describe, expect, it } from 'vitest';
import { randomSearch } from './random.ts';
import type { Dimension, ParameterValue } from './types.ts';

const field = 'spec.parameters[0]';
const draws = (d: Dimension, n = 4000): ParameterValue[] =>
  Array.from({ length: n }, (_, index) => {
    const s = randomSearch.suggest({ seed: 7, space: [d], goal: 'minimize', index, trials: [], budget: n });
    if (s.kind !== 'trial') throw new Error(s.kind);
    return s.parameters[d.name]!;
  });
const fractionBelow = (xs: ParameterValue[], x: number) => xs.filter((v) => Number(v) < x).length / xs.length;

describe('random search', () => {
  it.each<{ name: string; d: Dimension; check: (xs: ParameterValue[]) => void }>([
    {
      name: 'draws doubles inside [min, max], uniformly on a linear scale',
      d: { name: 'x', field, type: 'double', min: -2, max: 6, scale: 'linear' },
      check: (xs) => {
        expect(xs.every((x) => typeof x === 'number' && x >= -2 && x <= 6)).toBe(true);
        expect(fractionBelow(xs, 2)).toBeCloseTo(0.5, 1);
        expect(fractionBelow(xs, 0)).toBeCloseTo(0.25, 1);
      },
    },
    {
      name: 'draws doubles log-uniformly on a log scale (half below the geometric mean)',
      d: { name: 'lr', field, type: 'double', min: 1e-5, max: 1e-1, scale: 'log' },
      check: (xs) => {
        expect(xs.every((x) => typeof x === 'number' && x >= 1e-5 && x <= 1e-1)).toBe(true);
        expect(fractionBelow(xs, 1e-3)).toBeCloseTo(0.5, 1);
        expect(fractionBelow(xs, 1e-4)).toBeCloseTo(0.25, 1);
      },
    },
    {
      name: 'draws integers with both bounds as likely as the values between',
      d: { name: 'n', field, type: 'int', min: 1, max: 4, scale: 'linear' },
      check: (xs) => {
        expect(xs.every((x) => Number.isInteger(x))).toBe(true);
        for (const v of [1, 2, 3, 4])
          expect(xs.filter((x) => x === v).length / xs.length).toBeCloseTo(0.25, 1);
      },
    },
    {
      name: 'draws integers log-uniformly on a log scale',
      d: { name: 'batchSize', field, type: 'int', min: 8, max: 512, scale: 'log' },
      check: (xs) => {
        expect(xs.every((x) => Number.isInteger(x) && Number(x) >= 8 && Number(x) <= 512)).toBe(true);
        expect(xs).toContain(8);
        expect(xs).toContain(512);
        expect(fractionBelow(xs, 64)).toBeCloseTo(0.5, 1);
      },
    },
    {
      name: 'draws every categorical value about equally often',
      d: { name: 'optimizer', field, type: 'categorical', values: ['sgd', 'adam', 'rmsprop'] },
      check: (xs) => {
        for (const v of ['sgd', 'adam', 'rmsprop'])
          expect(xs.filter((x) => x === v).length / xs.length).toBeCloseTo(1 / 3, 1);
      },
    },
    {
      name: 'keeps 6 significant digits so the value survives the status string',
      d: { name: 'lr', field, type: 'double', min: 1e-5, max: 1e-1, scale: 'log' },
      check: (xs) => {
        expect(xs.every((x) => Number(String(x)) === x)).toBe(true);
        expect(xs.every((x) => Number((x as number).toPrecision(6)) === x)).toBe(true);
      },
    },
  ])('$name', ({ d, check }) => {
    check(draws(d));
  });
});
