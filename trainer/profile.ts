// The training-data profile (profile.json): per-feature quantile bins and a reference sample
// from the training split, and the distribution of the model's predictions on the validation
// split. The model server compares live traffic against it to detect drift.
import {
  binCounts,
  DEFAULT_BINS,
  encodeEdges,
  float32Decimal,
  quantileEdges,
  sortedValues,
} from '../lib/artifact/binning.ts';
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

export const SAMPLE_SIZE = 1000;

/**
 * The profile of one feature, binned by lib/artifact/binning.ts's rules (float32 precision; NaN is
 * in no bin, so `count` is the number of values that are not NaN). `values` come in the (already
 * shuffled) training order, so the first SAMPLE_SIZE of them are a uniform random sample.
 */
export function featureProfile(
  column: ProfileColumn,
  bins = DEFAULT_BINS,
  sampleSize = SAMPLE_SIZE,
): FeatureProfile {
  const sorted = sortedValues(column.values);
  const edges = quantileEdges(sorted, bins);
  const sample: number[] = [];
  for (let i = 0; i < column.values.length && sample.length < sampleSize; i++) {
    // NaN has no place in a KS test, and JSON can hold neither NaN nor infinities.
    const v = float32Decimal(column.values[i]!);
    if (Number.isFinite(v)) sample.push(v);
  }
  return {
    name: column.name,
    edges: encodeEdges(edges),
    counts: binCounts(column.values, edges),
    count: sorted.length,
    sample,
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
  const sorted = sortedValues(values);
  const edges = quantileEdges(sorted, bins);
  return {
    kind: 'regression',
    edges: encodeEdges(edges),
    counts: binCounts(values, edges),
    count: sorted.length,
  };
}
