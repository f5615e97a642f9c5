import { describe, expect, it } from 'vitest';
import { percentileOf } from './evaluation.ts';

describe('percentileOf', () => {
  // Expected values are numpy.percentile's (method "linear", its default).
  it.each([
    ['interpolates between the two middle values for the median', [4, 1, 3, 2], 50, 2.5],
    ['interpolates near the top for the 99th percentile', [1, 2, 3, 4], 99, 3.97],
    ['is the largest value at 100', [3, 1, 2], 100, 3],
    ['is the smallest value at 0', [3, 1, 2], 0, 1],
    ['is the value itself for one value', [5], 99, 5],
    ['sorts numerically, not as text', [10, 9, 100], 50, 10],
  ])('%s', (_name, values, p, want) => {
    expect(percentileOf(values, p)).toBeCloseTo(want, 12);
  });

  it('refuses no values', () => {
    expect(() => percentileOf([], 99)).toThrow(RangeError);
  });
});
