import { describe, expect, it } from 'vitest';
import {
  binCounts,
  binnedPredictions,
  classPredictions,
  featureProfile,
  imageSummaries,
  quantileEdges,
} from './profile.ts';

describe('quantileEdges', () => {
  it.each([
    [
      'uniform values get K equal bins',
      Float64Array.from({ length: 100 }, (_, i) => i),
      4,
      [null, 25, 50, 75, null],
    ],
    [
      'repeated values collapse duplicate edges',
      Float64Array.from([0, 0, 0, 0, 0, 0, 0, 1, 2, 3]),
      5,
      [null, 2, null],
    ],
    ['a constant feature gets one bin', Float64Array.from([7, 7, 7]), 10, [null, null]],
    ['no values give one bin', new Float64Array(0), 10, [null, null]],
  ])('%s', (_name, sorted, bins, edges) => {
    expect(quantileEdges(sorted, bins)).toEqual(edges);
  });
});

describe('binCounts', () => {
  it('counts [edge, next edge) with open outer bins', () => {
    expect(binCounts([-100, 0, 0.5, 1, 2, 100], [null, 0, 1, null])).toEqual([1, 2, 3]);
  });
});

describe('featureProfile', () => {
  it('has counts summing to the row count and a sample of at most 1000 values', () => {
    const values = Float64Array.from({ length: 2500 }, (_, i) => Math.sin(i) * 10);
    const p = featureProfile({ name: 'f', values });
    expect(p.edges.length).toBe(p.counts.length + 1);
    expect(p.counts.reduce((a, b) => a + b, 0)).toBe(2500);
    expect(p.count).toBe(2500);
    expect(p.sample).toHaveLength(1000);
    expect(p.sample[1]).toBeCloseTo(values[1]!, 4);
  });
});

describe('imageSummaries', () => {
  it('computes mean intensity and the fraction of inked pixels per image', () => {
    const cols = imageSummaries(Float32Array.from([0, 0, 1, 1, 0.25, 0.25, 0.25, 0.25]), 4);
    expect(Array.from(cols[0]!.values)).toEqual([0.5, 0.25]);
    expect(Array.from(cols[1]!.values)).toEqual([0.5, 0]);
  });
});

describe('predictions', () => {
  it.each([
    ['softmax rows by argmax', Float32Array.from([0.1, 0.9, 0.8, 0.2, 0.3, 0.7]), 2, [1, 2]],
    ['a sigmoid column by 0.5', Float32Array.from([0.1, 0.6, 0.9]), 1, [1, 2]],
  ])('counts %s', (_name, probs, width, counts) => {
    expect(classPredictions(probs, width, ['a', 'b'])).toEqual({
      kind: 'classification',
      classNames: ['a', 'b'],
      counts,
      count: 3,
    });
  });

  it('bins regression outputs by quantiles', () => {
    const p = binnedPredictions(Float64Array.from({ length: 50 }, (_, i) => i));
    expect(p.kind).toBe('regression');
    expect(p.counts.reduce((a, b) => a + b, 0)).toBe(50);
  });
});
