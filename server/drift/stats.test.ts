import { describe, expect, it } from 'vitest';
import { decodeEdges } from '../../lib/artifact/binning.ts';
import { chiSquareTest, gammaQ, kolmogorovQ, ksAgainstBins, ksTwoSample, lnGamma, psi } from './stats.ts';

describe('population stability index', () => {
  it.each([
    ['is zero for identical proportions', [50, 50], [10, 10], 0],
    [
      'matches the formula for a 90/10 split against 50/50',
      [50, 50],
      [90, 10],
      0.4 * Math.log(1.8) + 0.4 * Math.log(5),
    ],
    ['stays finite when a window bin is empty', [1, 1], [1, 0], expect.any(Number)],
  ])('%s', (_name, expected, actual, want) => {
    const v = psi(expected as number[], actual as number[]);
    expect(Number.isFinite(v)).toBe(true);
    if (typeof want === 'number') expect(v).toBeCloseTo(want, 10);
  });
});

describe('Kolmogorov-Smirnov', () => {
  it.each([
    [1.2239, 0.1],
    [1.3581, 0.05],
    [1.6276, 0.01],
  ])('the Kolmogorov tail at %d is %d (textbook critical values)', (lambda, p) => {
    expect(kolmogorovQ(lambda)).toBeCloseTo(p, 3);
  });

  it('finds no distance between identical samples and full distance between disjoint ones', () => {
    expect(ksTwoSample([1, 2, 3], [1, 2, 3])).toEqual({ statistic: 0, pValue: 1 });
    expect(ksTwoSample([1, 2, 3], [4, 5, 6]).statistic).toBe(1);
  });

  it('handles ties across samples exactly', () => {
    expect(ksTwoSample([1, 1, 2, 2], [1, 2, 2, 2]).statistic).toBeCloseTo(0.25, 12);
  });

  it('gives small p-values for a large location shift and large ones for none', () => {
    const a = Array.from({ length: 500 }, (_, i) => i / 500);
    const b = a.map((v) => v + 0.2);
    expect(ksTwoSample(a, b).pValue).toBeLessThan(1e-6);
    expect(
      ksTwoSample(
        a,
        a.map((v) => v + 0.001),
      ).pValue,
    ).toBeGreaterThan(0.9);
  });

  it('measures the distance to a binned reference at the finite edges', () => {
    const edges = decodeEdges([null, 1, 2, 3, null]);
    // Reference: a quarter per bin; window: everything in the first bin.
    expect(ksAgainstBins([0, 0.5, 0.7], edges, [25, 25, 25, 25]).statistic).toBeCloseTo(0.75, 12);
    expect(ksAgainstBins([0.5, 1.5, 2.5, 3.5], edges, [25, 25, 25, 25]).statistic).toBeCloseTo(0, 12);
  });
});

describe('chi-square', () => {
  it('ln Γ matches factorials', () => {
    expect(lnGamma(5)).toBeCloseTo(Math.log(24), 10);
    expect(lnGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 10);
  });
  it.each([
    [1, 3.841459, 0.05],
    [2, 5.991465, 0.05],
    [10, 18.307038, 0.05],
    [10, 2.558212, 0.99],
  ])('the survival function with %i degrees of freedom at %d is %d', (df, x, p) => {
    expect(gammaQ(df / 2, x / 2)).toBeCloseTo(p, 5);
  });
  it('tests observed class counts against reference proportions', () => {
    expect(chiSquareTest([100, 100], [50, 50]).pValue).toBeCloseTo(1, 10);
    expect(chiSquareTest([100, 100], [90, 10]).pValue).toBeLessThan(1e-10);
  });
});
