// Parzen estimators of one dimension for TPE: a weighted mixture of one kernel per observed trial
// plus a broad prior kernel. The bandwidth rule and the prior follow Optuna's univariate
// estimator (distance to the farther neighbour, clipped to [range / min(100, 1 + kernels), range]).
import type { Random } from './rng.ts';
import { fromInternal, internalBounds, toInternal } from './space.ts';
import type { CategoricalDimension, NumericDimension } from './types.ts';

export interface Estimator {
  /** A value of the dimension: a number, or a category index. */
  sample(rng: Random): number;
  logPdf(value: number): number;
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
  const w = n === 0 ? [1] : [...observationWeights(n), priorWeight];
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
  const minWidth = (hi - lo) / Math.min(100, 1 + mus.length);
  const out = Array<number>(mus.length);
  order.forEach((i, k) => {
    out[i] = Math.min(hi - lo, Math.max(minWidth, widths[k]!));
  });
  return out;
}

export function numericEstimator(
  d: NumericDimension,
  observed: readonly number[],
  priorWeight: number,
): Estimator {
  const [lo, hi] = internalBounds(d);
  const observedMus = observed.map((x) => toInternal(d, x));
  // The prior takes part in the bandwidth rule as one more point, as in Optuna.
  const prior = (lo + hi) / 2;
  const sigmas = [...bandwidths([...observedMus, prior], lo, hi).slice(0, observed.length), hi - lo];
  const mus = [...observedMus, prior];
  const weights = mixtureWeights(observed.length, priorWeight);
  const logW = weights.map(Math.log);
  const logZ = mus.map((mu, k) => Math.log(normalMass((lo - mu) / sigmas[k]!, (hi - mu) / sigmas[k]!)));
  const logKernel = (k: number, value: number): number => {
    const mu = mus[k]!;
    const s = sigmas[k]!;
    if (d.type === 'int') {
      const a = toInternal(d, value - 0.5);
      const b = toInternal(d, value + 0.5);
      return Math.log(normalMass((a - mu) / s, (b - mu) / s)) - logZ[k]!;
    }
    const z = (toInternal(d, value) - mu) / s;
    return -0.5 * z * z - Math.log(s * Math.sqrt(2 * Math.PI)) - logZ[k]!;
  };
  return {
    sample(rng) {
      const k = pick(weights, rng);
      // Rejection from the kernel's normal: its mean is inside [lo, hi] and its width at most the
      // range, so at least a third of draws land inside; the cap only guards the impossible case.
      for (let tries = 0; tries < 100; tries++) {
        const u = mus[k]! + sigmas[k]! * rng.normal();
        if (u >= lo && u <= hi) return fromInternal(d, u);
      }
      return fromInternal(d, mus[k]!);
    },
    logPdf: (value) => logSumExp(mus.map((_, k) => logW[k]! + logKernel(k, value))),
  };
}

export function categoricalEstimator(
  d: CategoricalDimension,
  observed: readonly number[],
  priorWeight: number,
): Estimator {
  const n = d.values.length;
  const kernels = observed.length + 1;
  // Each observation kernel spreads priorWeight / kernels over every category and adds 1 to its
  // own; the last row is the prior, uniform.
  const rows = [...observed, -1].map((seen) => {
    const row = Array.from({ length: n }, (_, c) => priorWeight / kernels + (c === seen ? 1 : 0));
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((x) => x / total);
  });
  const weights = mixtureWeights(observed.length, priorWeight);
  const probs = Array.from({ length: n }, (_, c) => rows.reduce((p, row, k) => p + weights[k]! * row[c]!, 0));
  return {
    sample: (rng) => pick(rows[pick(weights, rng)]!, rng),
    logPdf: (c) => Math.log(probs[c]!),
  };
}
