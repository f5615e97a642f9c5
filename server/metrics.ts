// Every series the server exports, on one explicit registry. Each series carries model, version
// and track: model and track never change in a process; version does on hot reload, so
// per-request series name it explicitly (old-version counters stay as they were) and the rest get
// the current version through the registry's default labels.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { DriftReport, DriftSettings } from './drift/monitor.ts';

export const PROTOCOLS = ['tfserving', 'v2', 'health', 'admin', 'metrics', 'none'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

const REQUEST_LABELS = ['protocol', 'endpoint', 'code', 'version'] as const;
const INFLIGHT_LABELS = ['protocol', 'version'] as const;
const VERSION_LABELS = ['version'] as const;
const LOAD_LABELS = ['version', 'result'] as const;
const FEATURE_LABELS = ['feature'] as const;
const BUCKET_LABELS = ['feature', 'le'] as const;
const BIN_LABELS = ['bin'] as const;
/** The report type of a drift source (the value the gauges read). */
type DriftReportOf<S extends () => unknown> =
  NonNullable<ReturnType<S>> extends { report: infer R } ? R : never;

const THRESHOLD_LABELS = ['threshold'] as const;
const INFO_LABELS = ['uri', 'artifact_sha256', 'task', 'backend'] as const;

/** What the drift series read at scrape time: the current model's monitor, if any. */
export type DriftSource = () => { report: DriftReport; settings: DriftSettings } | undefined;

function le(v: number): string {
  return v === Infinity ? '+Inf' : String(v);
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<(typeof REQUEST_LABELS)[number]>;
  readonly requestDuration: Histogram<(typeof REQUEST_LABELS)[number]>;
  readonly inFlight: Gauge<(typeof INFLIGHT_LABELS)[number]>;
  readonly batchRows: Histogram<(typeof VERSION_LABELS)[number]>;
  readonly batchRequests: Histogram<(typeof VERSION_LABELS)[number]>;
  readonly predictDuration: Histogram<(typeof VERSION_LABELS)[number]>;
  readonly loadDuration: Histogram<(typeof LOAD_LABELS)[number]>;
  readonly ready: Gauge;
  readonly info: Gauge<(typeof INFO_LABELS)[number]>;
  private driftSource: DriftSource = () => undefined;
  private labels: { model: string; track: string; version: string };

  constructor(opts: { model: string; track: string; maxBatchSize: number; defaultMetrics?: boolean }) {
    this.labels = { model: opts.model, track: opts.track, version: 'none' };
    this.registry.setDefaultLabels(this.labels);
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'k2k_requests_total',
      help: 'HTTP requests answered, by protocol (tfserving, v2, health, admin, metrics), endpoint and status code.',
      labelNames: REQUEST_LABELS,
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'k2k_request_duration_seconds',
      help: 'Time from receiving a request to sending the response.',
      labelNames: REQUEST_LABELS,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.inFlight = new Gauge({
      name: 'k2k_requests_in_flight',
      help: 'Requests received and not yet answered.',
      labelNames: INFLIGHT_LABELS,
      registers,
    });
    const rowBuckets: number[] = [];
    for (let b = 1; b < opts.maxBatchSize; b *= 2) rowBuckets.push(b);
    rowBuckets.push(opts.maxBatchSize);
    this.batchRows = new Histogram({
      name: 'k2k_batch_size_rows',
      help: 'Rows per model call after micro-batching.',
      labelNames: VERSION_LABELS,
      buckets: rowBuckets,
      registers,
    });
    this.batchRequests = new Histogram({
      name: 'k2k_batch_requests',
      help: 'Requests gathered into one model call.',
      labelNames: VERSION_LABELS,
      buckets: rowBuckets,
      registers,
    });
    this.predictDuration = new Histogram({
      name: 'k2k_predict_duration_seconds',
      help: 'Time of one batched model call, preprocessing included.',
      labelNames: VERSION_LABELS,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.loadDuration = new Histogram({
      name: 'k2k_model_load_duration_seconds',
      help: 'Time to load a model version (read, verify, build, warm up), by result (success, failure).',
      labelNames: LOAD_LABELS,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.ready = new Gauge({
      name: 'k2k_model_ready',
      help: '1 when a model version is loaded, warmed up and serving; 0 otherwise.',
      registers,
    });
    this.info = new Gauge({
      name: 'k2k_model_info',
      help: 'The artifact being served (1): its URI, the sha256 of its manifest.json, task and TensorFlow.js backend.',
      labelNames: INFO_LABELS,
      registers,
    });
    this.registerDrift(registers);
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Marks `labels` as the artifact now served (one series: the previous one is removed). */
  setServing(labels: Record<(typeof INFO_LABELS)[number], string>): void {
    this.info.reset();
    this.info.set(labels, 1);
  }

  setVersion(version: string): void {
    this.labels = { ...this.labels, version };
    this.registry.setDefaultLabels(this.labels);
  }

  get version(): string {
    return this.labels.version;
  }

  setDriftSource(source: DriftSource): void {
    this.driftSource = source;
  }

  /** Drift series are computed at scrape time from the current monitor's report. */
  private registerDrift(registers: Registry[]): void {
    const source = () => this.driftSource();
    const perFeature = (
      name: string,
      help: string,
      value: (f: DriftReport['features'][number], r: DriftReport) => number,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: FEATURE_LABELS,
        registers,
        collect() {
          this.reset();
          const d = source();
          if (!d) return;
          for (const f of d.report.features) {
            const v = value(f, d.report);
            if (!Number.isNaN(v)) this.set({ feature: f.name }, v);
          }
        },
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
      (_f, r) => r.samples,
    );
    perFeature(
      'k2k_drift_feature_drifted',
      '1 when the window has at least min_samples rows, PSI is over its threshold and the KS p-value under the Bonferroni-corrected level.',
      (f, r) => {
        const s = source()!.settings;
        const m = Math.max(1, source()!.report.features.length);
        return r.samples >= s.minSamples && f.psi > s.psiThreshold && f.ks.pValue < s.ksAlpha / m ? 1 : 0;
      },
    );
    const bucketGauge = (
      name: string,
      help: string,
      counts: (f: DriftReport['features'][number]) => number[],
      ratio: boolean,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: BUCKET_LABELS,
        registers,
        collect() {
          this.reset();
          const d = source();
          if (!d) return;
          for (const f of d.report.features) {
            const c = counts(f);
            const total = ratio ? c.reduce((s, x) => s + x, 0) || 1 : 1;
            let cum = 0;
            for (let i = 0; i < c.length; i++) {
              cum += c[i] as number;
              this.set({ feature: f.name, le: le(f.edges[i + 1] as number) }, cum / total);
            }
          }
        },
      });
    bucketGauge(
      'k2k_drift_feature_window_bucket',
      'Cumulative count of window rows per profile bin (upper edge le), per input feature: a histogram of live inputs on the training bins.',
      (f) => f.windowCounts,
      false,
    );
    bucketGauge(
      'k2k_drift_feature_reference_ratio',
      'Cumulative fraction of training rows per profile bin (upper edge le), per input feature.',
      (f) => f.referenceCounts,
      true,
    );
    const reportGauge = (name: string, help: string, value: (r: DriftReportOf<typeof source>) => number) =>
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
        this.set({ threshold: 'ks_pvalue' }, s.ksAlpha);
        this.set({ threshold: 'ks_pvalue_bonferroni' }, s.ksAlpha / Math.max(1, d.report.features.length));
        this.set({ threshold: 'min_samples' }, s.minSamples);
        this.set({ threshold: 'window' }, s.window);
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
      'k2k_drift_prediction_window_count',
      'Window predictions per class (or regression bin upper edge).',
      false,
    );
    binGauge(
      'k2k_drift_prediction_reference_ratio',
      'Fraction of validation predictions per class (or regression bin).',
      true,
    );
  }
}
