// Drift of live inputs (and predictions) against the artifact's training-data profile, over a
// sliding window of the most recent rows. The monitor only counts and computes; metrics.ts turns
// its report into Prometheus series, and decision.ts holds the rule (a minimum sample count and a
// Bonferroni-corrected p-value threshold) by which the drifted gauge and the alerts call it real.
import { binCounts, decodeEdges, sortedValues } from '../../lib/artifact/binning.ts';
import type { FeatureExtractor } from './features.ts';
import { chiSquareTest, type KSResult, ksAgainstBins, ksTwoSample, psi } from './stats.ts';

/** profile.json (docs/artifact.md). */
export interface DriftProfile {
  features: Array<{
    name: string;
    edges: Array<number | null>;
    counts: number[];
    count: number;
    sample?: number[];
  }>;
  predictions?:
    | { kind: 'classification'; classNames: string[]; counts: number[]; count: number }
    | { kind: 'regression'; edges: Array<number | null>; counts: number[]; count: number };
}

export interface DriftSettings {
  /** Rows kept in the sliding window. */
  windowSize: number;
  /** Fewer rows than this: alerts must not fire (exported so the rule can compare). */
  minSamples: number;
  psiThreshold: number;
  /** Family-wise significance level of the per-feature KS tests; divided by the feature count. */
  ksPValueThreshold: number;
}

export interface FeatureDrift {
  name: string;
  edges: readonly number[];
  referenceCounts: number[];
  windowCounts: number[];
  psi: number;
  ks: KSResult;
}

export interface PredictionDrift {
  kind: 'classification' | 'regression';
  /** Class names, or the upper edge of each bin for regression. */
  bins: string[];
  referenceCounts: number[];
  windowCounts: number[];
  psi: number;
  /** Chi-square goodness of fit (classification only). */
  chiSquare?: KSResult;
}

export interface DriftReport {
  samples: number;
  /** Unix seconds. */
  evaluatedAt: number;
  features: FeatureDrift[];
  predictions?: PredictionDrift;
}

interface ReferenceFeature {
  name: string;
  edges: readonly number[];
  counts: number[];
  sortedSample?: Float64Array;
}

/** A fixed-capacity ring of rows of `width` numbers. */
class Ring {
  readonly data: Float64Array;
  size = 0;
  private head = 0;
  constructor(
    readonly capacity: number,
    readonly width: number,
  ) {
    this.data = new Float64Array(capacity * width);
  }
  push(rows: Float64Array, count: number): void {
    // Only the newest `capacity` rows of a batch can survive.
    const skip = Math.max(0, count - this.capacity);
    for (let r = skip; r < count; r++) {
      this.data.set(rows.subarray(r * this.width, (r + 1) * this.width), this.head * this.width);
      this.head = (this.head + 1) % this.capacity;
    }
    this.size = Math.min(this.capacity, this.size + count);
  }
  column(c: number): Float64Array {
    const out = new Float64Array(this.size);
    for (let r = 0; r < this.size; r++) out[r] = this.data[r * this.width + c] as number;
    return out;
  }
}

export class DriftMonitor {
  readonly featureNames: string[];
  private readonly reference: ReferenceFeature[];
  private readonly inputs: Ring;
  private readonly outputs: Ring;
  private version = 0;
  private evaluatedVersion = -1;
  private last: DriftReport;

  constructor(
    private readonly profile: DriftProfile,
    readonly extractor: FeatureExtractor,
    readonly settings: DriftSettings,
  ) {
    const byName = new Map(profile.features.map((f) => [f.name, f]));
    this.reference = extractor.names.map((name) => {
      const f = byName.get(name)!;
      const ref: ReferenceFeature = { name, edges: decodeEdges(f.edges), counts: f.counts };
      if (f.sample && f.sample.length > 0) ref.sortedSample = sortedValues(f.sample);
      return ref;
    });
    this.featureNames = extractor.names;
    this.inputs = new Ring(settings.windowSize, Math.max(1, this.reference.length));
    this.outputs = new Ring(settings.windowSize, 1);
    this.last = { samples: 0, evaluatedAt: 0, features: [] };
  }

  /** Raw input rows (already validated) and one scalar per row summarising the prediction. */
  observe(features: Float64Array, rows: number, predictions: Float64Array): void {
    if (this.reference.length > 0) this.inputs.push(features, rows);
    this.outputs.push(predictions, rows);
    this.version++;
  }

  get samples(): number {
    return Math.max(this.inputs.size, this.outputs.size);
  }

  /** The latest report, recomputed only if rows arrived since the last evaluation. */
  report(now = Date.now() / 1000): DriftReport {
    if (this.evaluatedVersion !== this.version) {
      this.last = this.evaluate(now);
      this.evaluatedVersion = this.version;
    }
    return this.last;
  }

  private evaluate(now: number): DriftReport {
    const features = this.reference.map((ref, c): FeatureDrift => {
      // Binned by the rules the trainer's reference counts were binned by (NaN in no bin).
      const values = sortedValues(this.inputs.column(c));
      const windowCounts = binCounts(values, ref.edges);
      return {
        name: ref.name,
        edges: ref.edges,
        referenceCounts: ref.counts,
        windowCounts,
        psi: psi(ref.counts, windowCounts),
        ks: ref.sortedSample
          ? ksTwoSample(values, ref.sortedSample)
          : ksAgainstBins(values, ref.edges, ref.counts),
      };
    });
    const report: DriftReport = { samples: this.samples, evaluatedAt: now, features };
    const p = this.profile.predictions;
    if (p) {
      const preds = this.outputs.column(0);
      if (p.kind === 'classification') {
        const windowCounts = new Array<number>(p.counts.length).fill(0);
        for (const k of preds) if (k >= 0 && k < windowCounts.length) windowCounts[k]! += 1;
        report.predictions = {
          kind: 'classification',
          bins: p.classNames,
          referenceCounts: p.counts,
          windowCounts,
          psi: psi(p.counts, windowCounts),
          chiSquare: chiSquareTest(p.counts, windowCounts),
        };
      } else {
        const edges = decodeEdges(p.edges);
        const windowCounts = binCounts(preds, edges);
        report.predictions = {
          kind: 'regression',
          bins: edges.slice(1).map((e) => (e === Infinity ? '+Inf' : String(e))),
          referenceCounts: p.counts,
          windowCounts,
          psi: psi(p.counts, windowCounts),
        };
      }
    }
    return report;
  }
}
