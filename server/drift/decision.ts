// When a feature counts as drifted. The same rule is exported as k2k_drift_feature_drifted and
// written in PromQL in config/prometheus/k2k-alerts.yaml (K2KFeatureDrift), which compares the
// exported statistics with the exported thresholds: change one, change the other. Both answer the
// table in decision-cases.ts (decision.test.ts here, test/integration/alerts.test.ts for PromQL).
import type { DriftReport, DriftSettings, FeatureDrift } from './monitor.ts';

/**
 * The KS level of one feature: the family-wise alpha divided by the number of features
 * (Bonferroni), since at alpha 0.05 one of many features would "drift" by chance in most windows.
 */
export function perFeatureKsAlpha(settings: DriftSettings, features: number): number {
  return settings.ksPValueThreshold / Math.max(1, features);
}

/**
 * Drifted: the window has at least minSamples rows, PSI is over its threshold (the shift is
 * large) AND the KS p-value is under the per-feature level (the shift is not chance).
 */
export function featureDrifted(feature: FeatureDrift, report: DriftReport, settings: DriftSettings): boolean {
  return (
    report.samples >= settings.minSamples &&
    feature.psi > settings.psiThreshold &&
    feature.ks.pValue < perFeatureKsAlpha(settings, report.features.length)
  );
}
