// The training-data profile (profile.json): per-feature quantile bins and a reference sample
// from the training split, and the distribution of the model's predictions on the validation
// split. The model server compares live traffic against it to detect drift.
import { IMAGE_SUMMARIES, PROFILED_IMAGE_SUMMARIES } from '../lib/artifact/features.ts';

export interface ProfileColumn {
  name: string;
  /** One raw value per training row. */
  values: Float64Array;
}

export interface FeatureProfile {
  name: string;
  /** K+1 edges; the outer two are -Infinity/Infinity, written as null. */
  edges: (number | null)[];
  counts: number[];
  count: number;
  sample: number[];
}

export const DEFAULT_BINS = 10;
export const SAMPLE_SIZE = 1000;

/**
 * Quantile bin edges: the K-1 inner edges are the values at ranks n*k/K of the sorted values,
 * with duplicates dropped (a feature that is mostly 0 gets fewer, wider bins rather than empty
 * ones). Bin i is [edges[i], edges[i+1]).
 */
export function quantileEdges(sorted: Float64Array, bins = DEFAULT_BINS): (number | null)[] {
  const inner: number[] = [];
  const n = sorted.length;
  for (let k = 1; k < bins && n > 0; k++) {
    const v = sorted[Math.min(n - 1, Math.floor((n * k) / bins))]!;
    if (v !== inner[inner.length - 1] && v > sorted[0]!) inner.push(v);
  }
  return [null, ...inner, null];
}

/** Counts values per bin of `edges` (null ends are open). */
export function binCounts(values: ArrayLike<number>, edges: readonly (number | null)[]): number[] {
  const inner = edges.slice(1, -1) as number[];
  const counts = new Array<number>(inner.length + 1).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    // Binary search: the number of inner edges <= v is the bin index.
    let lo = 0;
    let hi = inner.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (inner[mid]! <= v) lo = mid + 1;
      else hi = mid;
    }
    counts[lo]!++;
  }
  return counts;
}

/**
 * The profile of one feature. `values` come in the (already shuffled) training order, so the first
 * SAMPLE_SIZE of them are a uniform random sample.
 */
export function featureProfile(
  column: ProfileColumn,
  bins = DEFAULT_BINS,
  sampleSize = SAMPLE_SIZE,
): FeatureProfile {
  const sorted = Float64Array.from(column.values).sort();
  const edges = quantileEdges(sorted, bins);
  return {
    name: column.name,
    edges,
    counts: binCounts(column.values, edges),
    count: column.values.length,
    sample: Array.from(column.values.subarray(0, sampleSize), round),
  };
}

/** Image summary features (lib/artifact/features.ts), from pixels already divided by imageScale. */
export function imageSummaries(scaled: Float32Array, pixelsPerImage: number): ProfileColumn[] {
  const n = pixelsPerImage === 0 ? 0 : scaled.length / pixelsPerImage;
  return PROFILED_IMAGE_SUMMARIES.map((name) => {
    const summary = IMAGE_SUMMARIES[name]!;
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++)
      values[i] = summary(scaled.subarray(i * pixelsPerImage, (i + 1) * pixelsPerImage), 1);
    return { name, values };
  });
}

export interface ClassPredictions {
  kind: 'classification';
  classNames: string[];
  counts: number[];
  count: number;
}

export interface BinnedPredictions {
  kind: 'regression';
  edges: (number | null)[];
  counts: number[];
  count: number;
}

/** Predicted class counts: argmax of each row of `probabilities` (one column for a sigmoid output). */
export function classPredictions(
  probabilities: Float32Array,
  width: number,
  classNames: string[],
): ClassPredictions {
  const counts = new Array<number>(classNames.length).fill(0);
  const n = probabilities.length / width;
  for (let r = 0; r < n; r++) {
    let best = 0;
    if (width === 1) best = probabilities[r]! >= 0.5 ? 1 : 0;
    else
      for (let c = 1; c < width; c++)
        if (probabilities[r * width + c]! > probabilities[r * width + best]!) best = c;
    counts[best]!++;
  }
  return { kind: 'classification', classNames, counts, count: n };
}

/** Quantile-binned values (regression outputs, or an autoencoder's reconstruction errors). */
export function binnedPredictions(values: Float64Array, bins = DEFAULT_BINS): BinnedPredictions {
  const edges = quantileEdges(Float64Array.from(values).sort(), bins);
  return { kind: 'regression', edges, counts: binCounts(values, edges), count: values.length };
}

/** Six significant digits keep profile.json small without changing any bin. */
function round(v: number): number {
  return Number(v.toPrecision(6));
}
