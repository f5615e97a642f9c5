// The statistics behind the drift metrics. Pure functions over plain arrays so they can be checked
// against textbook values in unit tests. Binning is not here: it follows the artifact's rules
// (lib/artifact/binning.ts), shared with the trainer that wrote the reference counts.

export { psi } from '../../lib/psi.ts';

/** Asymptotic Kolmogorov distribution tail Q(λ) = 2 Σ (−1)^(j−1) exp(−2 j² λ²). */
export function kolmogorovQ(lambda: number): number {
  if (lambda < 0.2) return 1;
  let sum = 0;
  for (let j = 1; j <= 100; j++) {
    const term = Math.exp(-2 * j * j * lambda * lambda);
    sum += (j % 2 === 1 ? 1 : -1) * term;
    if (term < 1e-12) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/** p-value of a KS statistic with effective sample size ne (Stephens' small-sample correction). */
export function ksPValue(d: number, ne: number): number {
  if (ne <= 0 || !Number.isFinite(d)) return Number.NaN;
  const s = Math.sqrt(ne);
  return kolmogorovQ((s + 0.12 + 0.11 / s) * d);
}

export interface KSResult {
  statistic: number;
  pValue: number;
}

/** Two-sample Kolmogorov–Smirnov test; both inputs sorted ascending. Ties are handled exactly. */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>): KSResult {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return { statistic: Number.NaN, pValue: Number.NaN };
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const x = Math.min(a[i] as number, b[j] as number);
    while (i < n && (a[i] as number) <= x) i++;
    while (j < m && (b[j] as number) <= x) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  return { statistic: d, pValue: ksPValue(d, (n * m) / (n + m)) };
}

/**
 * KS test of a sorted sample against a binned reference distribution when no reference sample is
 * stored: the distance is taken at the finite bin edges only, which never overstates it, so the
 * p-value errs on the side of "no drift".
 */
export function ksAgainstBins(
  sorted: ArrayLike<number>,
  edges: ArrayLike<number>,
  counts: readonly number[],
): KSResult {
  const n = sorted.length;
  const total = counts.reduce((s, c) => s + c, 0);
  if (n === 0 || total === 0) return { statistic: Number.NaN, pValue: Number.NaN };
  let d = 0;
  let cum = 0;
  let k = 0;
  for (let e = 1; e < edges.length - 1; e++) {
    cum += counts[e - 1] as number;
    // At float32 precision, like every comparison with profile values (lib/artifact/binning.ts).
    const edge = Math.fround(edges[e] as number);
    // The reference counts [lo, edge): compare with the window's fraction strictly below the edge.
    while (k < n && (sorted[k] as number) < edge) k++;
    d = Math.max(d, Math.abs(k / n - cum / total));
  }
  return { statistic: d, pValue: ksPValue(d, (n * total) / (n + total)) };
}

/** ln Γ(x) (Lanczos approximation, g = 7). */
export function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const y = x - 1;
  let a = c[0] as number;
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularized upper incomplete gamma Q(s, x): series below s+1, continued fraction above. */
export function gammaQ(s: number, x: number): number {
  if (x <= 0) return 1;
  const lead = -x + s * Math.log(x) - lnGamma(s);
  if (x < s + 1) {
    let term = 1 / s;
    let sum = term;
    for (let n = 1; n < 1000; n++) {
      term *= x / (s + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return Math.max(0, 1 - sum * Math.exp(lead));
  }
  // Lentz's algorithm for the continued fraction.
  const tiny = 1e-300;
  let b = x + 1 - s;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - s);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.min(1, Math.exp(lead) * h);
}

/** Chi-square goodness of fit of observed counts against reference counts (df = bins − 1). */
export function chiSquareTest(
  reference: readonly number[],
  observed: readonly number[],
  epsilon = 1e-4,
): KSResult {
  const rTotal = reference.reduce((s, c) => s + c, 0);
  const n = observed.reduce((s, c) => s + c, 0);
  if (rTotal === 0 || n === 0 || reference.length < 2) return { statistic: Number.NaN, pValue: Number.NaN };
  let x2 = 0;
  for (let i = 0; i < reference.length; i++) {
    const expected = n * Math.max((reference[i] as number) / rTotal, epsilon);
    const o = observed[i] ?? 0;
    x2 += ((o - expected) * (o - expected)) / expected;
  }
  return { statistic: x2, pValue: gammaQ((reference.length - 1) / 2, x2 / 2) };
}
