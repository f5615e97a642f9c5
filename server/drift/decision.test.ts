import { describe, expect, it } from 'vitest';
import { featureDrifted, perFeatureKsAlpha } from './decision.ts';
import type { DriftReport, FeatureDrift } from './monitor.ts';

const settings = { windowSize: 1000, minSamples: 200, psiThreshold: 0.2, ksPValueThreshold: 0.05 };

function feature(psi: number, pValue: number): FeatureDrift {
  return { name: 'f', edges: [], referenceCounts: [], windowCounts: [], psi, ks: { statistic: 0, pValue } };
}

function report(samples: number, features: FeatureDrift[]): DriftReport {
  return { samples, evaluatedAt: 0, features };
}

describe('featureDrifted', () => {
  it.each([
    ['drifts when PSI is over and the p-value under the per-feature level', 200, 0.3, 0.001, 1, true],
    ['does not drift with fewer rows than min_samples', 199, 0.3, 0.001, 1, false],
    ['does not drift on a large but insignificant shift', 500, 0.3, 0.2, 1, false],
    ['does not drift on a significant but small shift', 500, 0.1, 1e-9, 1, false],
    ['does not drift at exactly the PSI threshold', 500, 0.2, 1e-9, 1, false],
    ['splits alpha over the features: 0.02 passes alone', 500, 0.3, 0.02, 1, true],
    ['splits alpha over the features: 0.02 fails among four (0.05 / 4)', 500, 0.3, 0.02, 4, false],
  ])('%s', (_name, samples, psi, pValue, features, want) => {
    const f = feature(psi, pValue);
    const others = Array.from({ length: features - 1 }, () => feature(0, 1));
    expect(featureDrifted(f, report(samples, [f, ...others]), settings)).toBe(want);
  });
});

describe('perFeatureKsAlpha', () => {
  it.each([
    ['is the family-wise level for one feature', 1, 0.05],
    ['is divided by the number of features (Bonferroni)', 4, 0.0125],
    ['is the family-wise level when no feature is watched', 0, 0.05],
  ])('%s', (_name, features, want) => {
    expect(perFeatureKsAlpha(settings, features)).toBeCloseTo(want, 15);
  });
});
