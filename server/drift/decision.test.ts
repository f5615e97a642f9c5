import { describe, expect, it } from 'vitest';
import { featureDrifted, perFeatureKsAlpha } from './decision.ts';
import { DECISION_SETTINGS, FEATURE_DRIFT_CASES } from './decision-cases.ts';
import type { DriftReport, FeatureDrift } from './monitor.ts';

const settings = DECISION_SETTINGS;

function feature(psi: number, pValue: number): FeatureDrift {
  return { name: 'f', edges: [], referenceCounts: [], windowCounts: [], psi, ks: { statistic: 0, pValue } };
}

function report(samples: number, features: FeatureDrift[]): DriftReport {
  return { samples, evaluatedAt: 0, features };
}

describe('featureDrifted', () => {
  it.each(FEATURE_DRIFT_CASES)('%s', (_name, samples, psi, pValue, features, want) => {
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
