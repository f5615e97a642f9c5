// Standardisation statistics come from the training split only: computing them on all rows
// would leak the validation data into training and flatter val_* metrics.

export interface Normalization {
  mean: number[];
  std: number[];
}

/** Per-column mean and population standard deviation of a row-major matrix. A constant column gets std 1. */
export function computeNormalization(data: Float32Array, width: number): Normalization {
  const rows = width === 0 ? 0 : data.length / width;
  const mean = new Float64Array(width);
  const m2 = new Float64Array(width);
  // Welford's algorithm: stable for large values with small spread.
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < width; c++) {
      const x = data[r * width + c]!;
      const d = x - mean[c]!;
      mean[c]! += d / (r + 1);
      m2[c]! += d * (x - mean[c]!);
    }
  }
  const std = Array.from(m2, (v) => {
    const s = rows > 0 ? Math.sqrt(v / rows) : 0;
    return s > 1e-12 && Number.isFinite(s) ? s : 1;
  });
  return { mean: Array.from(mean), std };
}

/** Applies (x - mean) / std per column, in place. */
export function applyNormalization(data: Float32Array, n: Normalization): Float32Array {
  const width = n.mean.length;
  for (let i = 0; i < data.length; i++) {
    const c = i % width;
    data[i] = (data[i]! - n.mean[c]!) / n.std[c]!;
  }
  return data;
}
