import { describe, expect, it } from 'vitest';
import { FILES } from '../api/artifact.ts';
import { validateFile } from '../lib/artifact/validate.ts';
import { binnedPredictions, classPredictions, featureProfile, imageSummaries } from './profile.ts';

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

  it('leaves NaN out of the bins, the count and the sample, so profile.json stays valid', () => {
    const values = Float64Array.from([Number.NaN, 4, 0, Number.NaN, 3, 1, 2, Number.NaN]);
    const p = featureProfile({ name: 'f', values }, 5, 3);
    expect(p).toEqual({
      name: 'f',
      edges: [null, 1, 2, 3, 4, null],
      counts: [1, 1, 1, 1, 1],
      count: 5,
      sample: [4, 0, 3],
    });
    expect(() => validateFile('file:///p/', FILES.profile, { features: [p] })).not.toThrow();
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

  it('leaves NaN regression outputs out of the bins and the count', () => {
    const p = binnedPredictions(Float64Array.from([Number.NaN, 0, 1, 2, 3, Number.NaN]), 2);
    expect(p).toEqual({ kind: 'regression', edges: [null, 2, null], counts: [2, 2], count: 4 });
  });
});
