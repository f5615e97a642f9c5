// The Parzen estimator of TPE, as Optuna 5 builds it: a weighted mixture with one kernel per
// observed trial plus a broad prior kernel, each kernel a product over the dimensions (so
// correlated good values, like Branin's valleys, are sampled together). Per dimension, a kernel's
// width is its distance to the farther neighbouring observation, clipped to
// [range / min(100, 2 + observations), range].
import type { Random } from './rng.ts';
import { fromInternal, internalBounds, toInternal } from './space.ts';
import type { CategoricalDimension, Dimension, NumericDimension } from './types.ts';

/** One point as the estimator sees it: per dimension a number, or a category index. */
export type Point = readonly number[];

export interface Estimator {
  sample(rng: Random): Point;
  logPdf(x: Point): number;
}

/** The kernels of one dimension: one per observation, then the prior. */
interface DimensionKernels {
  sample(k: number, rng: Random): number;
  logPdf(k: number, value: number): number;
}

/** Erfc with fractional error below 1.2e-7 everywhere (Numerical Recipes' Chebyshev fit), accurate in the tails. */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** P(a < Z < b) for a standard normal Z, computed on the side of the tail to keep precision. */
function normalMass(a: number, b: number): number {
  if (a >= 0) return 0.5 * (erfc(a / Math.SQRT2) - erfc(b / Math.SQRT2));
  if (b <= 0) return 0.5 * (erfc(-b / Math.SQRT2) - erfc(-a / Math.SQRT2));
  return 1 - 0.5 * erfc(-a / Math.SQRT2) - 0.5 * erfc(b / Math.SQRT2);
}

function logSumExp(xs: readonly number[]): number {
  const m = Math.max(...xs);
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

/** Optuna's default: equal weights up to 25 observations, older ones ramped down beyond. */
export function observationWeights(n: number): number[] {
  if (n < 25) return Array(n).fill(1);
  const ramp = n - 25;
  return [
    ...Array.from({ length: ramp }, (_, k) => (ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * k) / (ramp - 1))),
    ...Array(25).fill(1),
  ];
}

/** Mixture weights of the observation kernels followed by the prior kernel, summing to 1. */
function mixtureWeights(n: number, priorWeight: number): number[] {
  const w = [...observationWeights(n), priorWeight];
  const total = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / total);
}

function pick(weights: readonly number[], rng: Random): number {
  let u = rng.next();
  for (let k = 0; k < weights.length - 1; k++) {
    u -= weights[k]!;
    if (u < 0) return k;
  }
  return weights.length - 1;
}

/** Kernel widths: each observation's distance to its farther neighbour (the bounds count as neighbours). */
function bandwidths(mus: readonly number[], lo: number, hi: number): number[] {
  const order = mus.map((_, i) => i).sort((a, b) => mus[a]! - mus[b]! || a - b);
  const sorted = [lo, ...order.map((i) => mus[i]!), hi];
  const widths = order.map((_, k) => Math.max(sorted[k + 1]! - sorted[k]!, sorted[k + 2]! - sorted[k + 1]!));
  // Optuna's consider_endpoints=False: the outermost kernels look inwards only, so a point next
  // to a bound is not made wide by the empty space between it and the bound.
  if (order.length >= 2) {
    widths[0] = sorted[2]! - sorted[1]!;
    widths[order.length - 1] = sorted[order.length]! - sorted[order.length - 1]!;
  }
  const minWidth = (hi - lo) / Math.min(100, 2 + mus.length);
  const out = Array<number>(mus.length);
  order.forEach((i, k) => {
    out[i] = Math.min(hi - lo, Math.max(minWidth, widths[k]!));
  });
  return out;
}

function numericKernels(d: NumericDimension, observed: readonly number[]): DimensionKernels {
  const [lo, hi] = internalBounds(d);
  const observedMus = observed.map((x) => toInternal(d, x));
  const mus = [...observedMus, (lo + hi) / 2];
  const sigmas = [...bandwidths(observedMus, lo, hi), hi - lo];
  const logZ = mus.map((mu, k) => Math.log(normalMass((lo - mu) / sigmas[k]!, (hi - mu) / sigmas[k]!)));
  return {
    sample(k, rng) {
      // Rejection from the kernel's normal: its mean is inside [lo, hi] and its width at most the
      // range, so at least a third of draws land inside; the cap only guards the impossible case.
      for (let tries = 0; tries < 100; tries++) {
        const u = mus[k]! + sigmas[k]! * rng.normal();
        if (u >= lo && u <= hi) return fromInternal(d, u);
      }
      return fromInternal(d, mus[k]!);
    },
    logPdf(k, value) {
      const mu = mus[k]!;
      const s = sigmas[k]!;
      if (d.type === 'int') {
        // An int is the mass of its unit interval (in log space on a log scale).
        const a = toInternal(d, value - 0.5);
        const b = toInternal(d, value + 0.5);
        return Math.log(normalMass((a - mu) / s, (b - mu) / s)) - logZ[k]!;
      }
      // A double's density in internal coordinates: the log scale's Jacobian is the same for l
      // and g, so it cancels in l/g.
      const z = (toInternal(d, value) - mu) / s;
      return -0.5 * z * z - Math.log(s * Math.sqrt(2 * Math.PI)) - logZ[k]!;
    },
  };
}

function categoricalKernels(
  d: CategoricalDimension,
  observed: readonly number[],
  priorWeight: number,
): DimensionKernels {
  const n = d.values.length;
  const kernels = observed.length + 1;
  // Each observation kernel spreads priorWeight / kernels over every category and adds 1 to its
  // own; the last row is the prior, uniform.
  const rows = [...observed, -1].map((seen) => {
    const row = Array.from({ length: n }, (_, c) => priorWeight / kernels + (c === seen ? 1 : 0));
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((x) => x / total);
  });
  return {
    sample: (k, rng) => pick(rows[k]!, rng),
    logPdf: (k, c) => Math.log(rows[k]![c]!),
  };
}

/** The estimator of `observed` points (oldest first, for the weight ramp) over `space`. */
export function parzenEstimator(
  space: readonly Dimension[],
  observed: readonly Point[],
  priorWeight: number,
): Estimator {
  const dims = space.map((d, j) => {
    const column = observed.map((x) => x[j]!);
    return d.type === 'categorical' ? categoricalKernels(d, column, priorWeight) : numericKernels(d, column);
  });
  const weights = mixtureWeights(observed.length, priorWeight);
  const logW = weights.map(Math.log);
  return {
    sample(rng) {
      const k = pick(weights, rng);
      return dims.map((kernels) => kernels.sample(k, rng));
    },
    logPdf: (x) =>
      logSumExp(logW.map((lw, k) => dims.reduce((sum, kernels, j) => sum + kernels.logPdf(k, x[j]!), lw))),
  };
}
