// After training: the final metrics (the last epoch's, the held-out test split's and, for an
// autoencoder, its anomaly thresholds) and the profile the model server compares traffic with.
import type * as tf from '@tensorflow/tfjs';
import type { AnomalyThreshold, DataProfile } from '../lib/artifact/index.ts';
import type { PreparedDataset, Task } from './datasets/index.ts';
import { binnedPredictions, classPredictions, featureProfile } from './profile.ts';
import { type EpochMetrics, evaluate, predictRows, type Targets } from './train.ts';

export async function finalMetrics(
  model: tf.LayersModel,
  data: PreparedDataset,
  targets: Targets,
  history: EpochMetrics[],
  task: Task,
): Promise<Record<string, number | null>> {
  const last = history[history.length - 1];
  const final: Record<string, number | null> = {};
  if (last)
    for (const [k, v] of Object.entries(last)) if (k !== 'epoch') final[k] = Number.isFinite(v) ? v : null;
  if (data.test && targets.test && data.test.n > 0) {
    Object.assign(
      final,
      await evaluate(model, data.test.x, targets.test, data.test.n, data.sampleShape, targets.shape),
    );
  }
  if (task === 'anomaly') {
    // The server needs a threshold to call an input anomalous: quantiles of the training error.
    const errors = (await reconstructionErrors(model, data.train.x, data.train.n, data.sampleShape)).sort();
    const q = (p: number) => errors[Math.min(errors.length - 1, Math.floor(p * errors.length))] ?? null;
    final.reconstruction_error_p50 = q(0.5);
    final.reconstruction_error_p95 = q(0.95);
    final.reconstruction_error_p99 = q(0.99);
  }
  return final;
}

/** The training split's features and the model's predictions on the validation split. */
export async function profileOf(
  model: tf.LayersModel,
  data: PreparedDataset,
  task: Task,
): Promise<DataProfile> {
  const profile: DataProfile = { features: data.profileColumns.map((c) => featureProfile(c)) };
  const v = data.validation;
  if (v.n === 0) return profile;
  if (task === 'anomaly') {
    profile.predictions = binnedPredictions(await reconstructionErrors(model, v.x, v.n, data.sampleShape));
    return profile;
  }
  const out = await predictRows(model, v.x, v.n, data.sampleShape);
  if (task === 'classification' && data.classNames) {
    profile.predictions = classPredictions(out, out.length / v.n, data.classNames);
  } else {
    profile.predictions = binnedPredictions(Float64Array.from(out));
  }
  return profile;
}

/** Without model.anomalyPercentile: a row scoring above 99% of the validation rows is an anomaly. */
export const DEFAULT_ANOMALY_PERCENTILE = 99;

/**
 * The threshold the model server flags anomalies against: a percentile of the reconstruction
 * errors of rows the model did not train on (the validation split), so it reflects unseen normal
 * data rather than what the model memorised; the training split only when there is no validation.
 */
export async function anomalyThreshold(
  model: tf.LayersModel,
  data: PreparedDataset,
  percentile = DEFAULT_ANOMALY_PERCENTILE,
): Promise<AnomalyThreshold | undefined> {
  const split = data.validation.n > 0 ? 'validation' : 'train';
  const rows = data[split];
  if (rows.n === 0) return undefined;
  const errors = await reconstructionErrors(model, rows.x, rows.n, data.sampleShape);
  return { score: 'mse', percentile, threshold: percentileOf(errors, percentile), split, count: rows.n };
}

/** The p-th percentile (0–100) with linear interpolation between ranks, as numpy.percentile's default. */
export function percentileOf(values: ArrayLike<number>, p: number): number {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) throw new RangeError('percentile of no values');
  const pos = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Mean squared reconstruction error per row: an autoencoder's anomaly score. */
async function reconstructionErrors(
  model: tf.LayersModel,
  x: Float32Array,
  n: number,
  shape: number[],
): Promise<Float64Array> {
  const out = await predictRows(model, x, n, shape);
  const size = shape.reduce((a, b) => a * b, 1);
  const errors = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let sum = 0;
    for (let i = r * size; i < (r + 1) * size; i++) sum += (out[i]! - x[i]!) ** 2;
    errors[r] = sum / size;
  }
  return errors;
}
