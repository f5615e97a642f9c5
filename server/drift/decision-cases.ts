// The cases that pin when a feature counts as drifted. Two implementations answer them: the
// TypeScript rule (decision.ts, behind k2k_drift_feature_drifted) and the PromQL rule
// K2KFeatureDrift in config/prometheus/k2k-alerts.yaml (test/integration/alerts.test.ts runs them
// through promtool). One table keeps the two from diverging.
import type { DriftSettings } from './monitor.ts';

export const DECISION_SETTINGS: DriftSettings = {
  windowSize: 1000,
  minSamples: 200,
  psiThreshold: 0.2,
  ksPValueThreshold: 0.05,
};

/** [name, rows in the window, PSI, KS p-value, features watched, drifted]. */
export const FEATURE_DRIFT_CASES: ReadonlyArray<readonly [string, number, number, number, number, boolean]> =
  [
    ['drifts when PSI is over and the p-value under the per-feature level', 200, 0.3, 0.001, 1, true],
    ['does not drift with fewer rows than min_samples', 199, 0.3, 0.001, 1, false],
    ['does not drift on a large but insignificant shift', 500, 0.3, 0.2, 1, false],
    ['does not drift on a significant but small shift', 500, 0.1, 1e-9, 1, false],
    ['does not drift at exactly the PSI threshold', 500, 0.2, 1e-9, 1, false],
    ['splits alpha over the features: 0.02 passes alone', 500, 0.3, 0.02, 1, true],
    ['splits alpha over the features: 0.02 fails among four (0.05 / 4)', 500, 0.3, 0.02, 4, false],
  ];
