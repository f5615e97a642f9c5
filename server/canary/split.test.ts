import { describe, expect, it } from 'vitest';
import { CanarySplit } from './split.ts';

function share(weight: number, n: number): number {
  const split = new CanarySplit();
  split.setWeight(weight);
  let canary = 0;
  for (let i = 0; i < n; i++) if (split.next()) canary++;
  return canary;
}

describe('the per-request canary split', () => {
  it.each([
    ['sends exactly 1,000 of 10,000 requests at 10%', 10, 10_000, 1_000],
    ['sends exactly 2,500 of 10,000 requests at 25%', 25, 10_000, 2_500],
    ['sends exactly 125 of 1,000 requests at 12.5%', 12.5, 1_000, 125],
    ['sends none at 0%', 0, 10_000, 0],
    ['sends every request at 100%', 100, 10_000, 10_000],
    ['sends none of the first 7 requests at 10% (the first goes at the 10th)', 10, 7, 0],
    ['sends 1 of 10 requests at 10%', 10, 10, 1],
  ])('%s', (_name, weight, n, expected) => {
    expect(share(weight, n)).toBe(expected);
  });

  it('is exact to one request over every window of every length at 10%', () => {
    const split = new CanarySplit();
    split.setWeight(10);
    const picks = Array.from({ length: 2_000 }, () => (split.next() ? 1 : 0));
    for (const length of [1, 7, 10, 33, 100, 999]) {
      for (let start = 0; start + length <= picks.length; start += 13) {
        const got = picks.slice(start, start + length).reduce((a: number, b) => a + b, 0);
        expect(Math.abs(got - length * 0.1)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('restarts the count when the weight changes, so the new share is exact from then on', () => {
    const split = new CanarySplit();
    split.setWeight(10);
    for (let i = 0; i < 5; i++) split.next();
    split.setWeight(50);
    const picks = Array.from({ length: 10 }, () => split.next());
    expect(picks.filter(Boolean)).toHaveLength(5);
  });

  it('clamps a weight outside 0..100', () => {
    const split = new CanarySplit();
    split.setWeight(150);
    expect(split.weight).toBe(100);
    split.setWeight(-3);
    expect(split.weight).toBe(0);
  });
});
