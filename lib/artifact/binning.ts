// The binning rules of profile.json (docs/artifact.md), in the one place that both the trainer
// (which writes the training profile) and the model server (which bins its live window) import:
// PSI and KS compare the two sides bin by bin, so they are only meaningful if both sides put the
// same value into the same bin.
//
// Values are compared at float32 precision. The trainer profiles the float64 values it parsed,
// but the model, and the server's live window, only ever see their float32 rounding (FP32
// inputs): compared at float64, a training value 0.7 lies on the edge 0.7 while the same value
// served lies just below it (0.699999988), and a feature with repeated decimal values would drift
// on identical data.
//
// In memory, edges are numbers with -Infinity and Infinity at the ends; profile.json writes those
// ends as null (encodeEdges / decodeEdges).

export const DEFAULT_BINS = 10;

const f32 = Math.fround;

/**
 * The values that take part in binning, quantiles and the KS test: rounded to float32 and sorted
 * ascending. NaN has no place on the number line, so it belongs to no bin (and to no quantile,
 * sample or KS test): a column of missing values must not look like a shift to the lowest bin.
 */
export function sortedValues(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values, f32)
    .filter((v) => !Number.isNaN(v))
    .sort();
}

/**
 * Quantile bin edges of `sorted` (from sortedValues): the K-1 inner edges are the values at ranks
 * n*k/K, with duplicates dropped (a feature that is mostly 0 gets fewer, wider bins rather than
 * empty ones) and only finite ones kept (profile.json can only write infinities at the ends).
 */
export function quantileEdges(sorted: ArrayLike<number>, bins = DEFAULT_BINS): number[] {
  const inner: number[] = [];
  const n = sorted.length;
  for (let k = 1; k < bins && n > 0; k++) {
    const v = sorted[Math.min(n - 1, Math.floor((n * k) / bins))]!;
    if (v !== inner[inner.length - 1] && v > sorted[0]! && Number.isFinite(v)) inner.push(v);
  }
  return [Number.NEGATIVE_INFINITY, ...inner, Number.POSITIVE_INFINITY];
}

/**
 * The bin of `v`: bin i is [edges[i], edges[i+1]), so a value exactly on an edge belongs to the bin
 * above it. The outer bins are open whatever the outer edges say: values below edges[1] go to the
 * first bin and values at or above edges[K-1] to the last (the live window may leave the training
 * range; it is still counted). -1 for NaN, which belongs to no bin.
 */
export function binIndex(v: number, edges: ArrayLike<number>): number {
  if (Number.isNaN(v)) return -1;
  const x = f32(v);
  // The number of inner edges <= x is the bin index.
  let lo = 1;
  let hi = edges.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (f32(edges[mid]!) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Values per bin of `edges` (binIndex's rules); NaN is not counted anywhere. */
export function binCounts(values: ArrayLike<number>, edges: ArrayLike<number>): number[] {
  const counts = new Array<number>(Math.max(1, edges.length - 1)).fill(0);
  for (let i = 0; i < values.length; i++) {
    const b = binIndex(values[i]!, edges);
    if (b >= 0) counts[b]!++;
  }
  return counts;
}

/**
 * How profile.json writes a value (an edge, a sample value): the shortest decimal with the same
 * float32, so 0.699999988 is written 0.7 and nothing is lost at the precision values are compared.
 */
export function float32Decimal(v: number): number {
  const f = f32(v);
  if (!Number.isFinite(f)) return f;
  for (let digits = 1; digits < 9; digits++) {
    const d = Number(f.toPrecision(digits));
    if (f32(d) === f) return d;
  }
  return Number(f.toPrecision(9));
}

/** Bin edges as profile.json reads them: the JSON nulls at the ends become -Infinity / Infinity. */
export function decodeEdges(edges: readonly (number | null)[]): number[] {
  return edges.map((e, i) =>
    e === null ? (i === 0 ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY) : e,
  );
}

/** Bin edges for profile.json: float32Decimal, with the infinite ends as null (JSON has no Infinity). */
export function encodeEdges(edges: readonly number[]): (number | null)[] {
  return edges.map((e) => (Number.isFinite(e) ? float32Decimal(e) : null));
}
