// The drift series: computed at scrape time from the current model's monitor report, so a scrape
// always sees one consistent evaluation and a reload switches every series to the new version at
// once. Names and labels are read by config/prometheus/k2k-alerts.yaml and the Grafana dashboard.
import { Gauge, type Registry } from 'prom-client';
import { featureDrifted, perFeatureKsAlpha } from './decision.ts';
import type { DriftReport, DriftSettings, FeatureDrift } from './monitor.ts';

const FEATURE_LABELS = ['feature'] as const;
// Not `le`: Prometheus reserves it for histograms, and a gauge cannot be one (promtool check metrics).
const CUMULATIVE_LABELS = ['feature', 'upper_edge'] as const;
const BIN_LABELS = ['bin'] as const;
const THRESHOLD_LABELS = ['threshold'] as const;

interface Drift {
  report: DriftReport;
  settings: DriftSettings;
}

/** What the drift series read at scrape time: the current model's monitor, if any. */
export type DriftSource = () => Drift | undefined;

function upperEdge(v: number): string {
  return v === Infinity ? '+Inf' : String(v);
}

/** Registers every k2k_drift_* series on `registry`; they read `source` at each scrape. */
export function registerDriftMetrics(registry: Registry, source: DriftSource): void {
  const registers = [registry];
  /** A gauge with series per feature, refilled from the current report at each scrape. */
  const featureGauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (set: (labels: Record<L, string>, v: number) => void, f: FeatureDrift, d: Drift) => void,
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        const d = source();
        if (!d) return;
        for (const f of d.report.features) fill((labels, v) => this.set(labels, v), f, d);
      },
    });
  const perFeature = (name: string, help: string, value: (f: FeatureDrift, d: Drift) => number) =>
    featureGauge(name, help, FEATURE_LABELS, (set, f, d) => {
      const v = value(f, d);
      if (!Number.isNaN(v)) set({ feature: f.name }, v);
    });
  perFeature(
    'k2k_drift_feature_psi',
    'Population stability index of the window against the training profile, per input feature.',
    (f) => f.psi,
  );
  perFeature(
    'k2k_drift_feature_ks_pvalue',
    'Kolmogorov-Smirnov p-value of the window against the training data, per input feature (compare with k2k_drift_threshold{threshold="ks_pvalue_bonferroni"}).',
    (f) => f.ks.pValue,
  );
  perFeature(
    'k2k_drift_feature_ks_statistic',
    'Kolmogorov-Smirnov distance D, per input feature.',
    (f) => f.ks.statistic,
  );
  perFeature(
    'k2k_drift_feature_samples',
    'Rows in the sliding window that the per-feature statistics were computed from.',
    (_f, d) => d.report.samples,
  );
  perFeature(
    'k2k_drift_feature_drifted',
    '1 when the window has at least min_samples rows, PSI is over its threshold and the KS p-value under the Bonferroni-corrected level.',
    (f, d) => (featureDrifted(f, d.report, d.settings) ? 1 : 0),
  );
  const cumulativeGauge = (
    name: string,
    help: string,
    counts: (f: FeatureDrift) => number[],
    ratio: boolean,
  ) =>
    featureGauge(name, help, CUMULATIVE_LABELS, (set, f) => {
      const c = counts(f);
      const total = ratio ? c.reduce((s, x) => s + x, 0) || 1 : 1;
      let cum = 0;
      for (let i = 0; i < c.length; i++) {
        cum += c[i] as number;
        set({ feature: f.name, upper_edge: upperEdge(f.edges[i + 1] as number) }, cum / total);
      }
    });
  cumulativeGauge(
    'k2k_drift_feature_window_rows',
    'Window rows at or under each profile bin upper_edge (cumulative), per input feature: the live inputs on the training bins.',
    (f) => f.windowCounts,
    false,
  );
  cumulativeGauge(
    'k2k_drift_feature_reference_ratio',
    'Fraction of training rows at or under each profile bin upper_edge (cumulative), per input feature.',
    (f) => f.referenceCounts,
    true,
  );
  const reportGauge = (name: string, help: string, value: (r: DriftReport) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const d = source();
        this.set(d ? value(d.report) : 0);
      },
    });
  reportGauge('k2k_drift_window_samples', 'Rows currently in the drift window.', (r) => r.samples);
  reportGauge(
    'k2k_drift_features',
    'Input features monitored for drift (the Bonferroni divisor).',
    (r) => r.features.length,
  );
  reportGauge(
    'k2k_drift_last_evaluation_timestamp_seconds',
    'Unix time of the last drift evaluation (0: never).',
    (r) => r.evaluatedAt,
  );
  new Gauge({
    name: 'k2k_drift_threshold',
    help: 'Configured drift thresholds: psi, ks_pvalue (family-wise), ks_pvalue_bonferroni (per feature), min_samples, window.',
    labelNames: THRESHOLD_LABELS,
    registers,
    collect() {
      this.reset();
      const d = source();
      if (!d) return;
      const s = d.settings;
      this.set({ threshold: 'psi' }, s.psiThreshold);
      this.set({ threshold: 'ks_pvalue' }, s.ksPValueThreshold);
      this.set({ threshold: 'ks_pvalue_bonferroni' }, perFeatureKsAlpha(s, d.report.features.length));
      this.set({ threshold: 'min_samples' }, s.minSamples);
      this.set({ threshold: 'window' }, s.windowSize);
    },
  });
  new Gauge({
    name: 'k2k_drift_prediction_psi',
    help: 'Population stability index of the predicted classes (or binned regression outputs) against the validation profile.',
    registers,
    collect() {
      this.reset();
      const p = source()?.report.predictions;
      if (p && !Number.isNaN(p.psi)) this.set(p.psi);
    },
  });
  new Gauge({
    name: 'k2k_drift_prediction_chi2_pvalue',
    help: 'Chi-square goodness-of-fit p-value of the predicted class counts against the validation profile (classification).',
    registers,
    collect() {
      this.reset();
      const p = source()?.report.predictions?.chiSquare;
      if (p && !Number.isNaN(p.pValue)) this.set(p.pValue);
    },
  });
  const binGauge = (name: string, help: string, ratio: boolean) =>
    new Gauge({
      name,
      help,
      labelNames: BIN_LABELS,
      registers,
      collect() {
        this.reset();
        const p = source()?.report.predictions;
        if (!p) return;
        const counts = ratio ? p.referenceCounts : p.windowCounts;
        const total = ratio ? counts.reduce((s, x) => s + x, 0) || 1 : 1;
        for (const [i, bin] of p.bins.entries()) this.set({ bin }, (counts[i] ?? 0) / total);
      },
    });
  binGauge(
    'k2k_drift_prediction_window_rows',
    'Window predictions per class (or regression bin upper edge).',
    false,
  );
  binGauge(
    'k2k_drift_prediction_reference_ratio',
    'Fraction of validation predictions per class (or regression bin).',
    true,
  );
}
