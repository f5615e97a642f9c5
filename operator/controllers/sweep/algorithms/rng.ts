// A small seeded PRNG. Every random draw an algorithm makes comes from a stream keyed by
// (seed, trial index, purpose), so suggestion i never depends on how many numbers an earlier
// suggestion happened to draw, and a restart reproduces it bit for bit.

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal. */
  normal(): number;
  /** Uniform integer in [0, n). */
  below(n: number): number;
}

/** Murmur3's finaliser: spreads every input bit over the 32-bit state. */
function fmix(h: number): number {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

function hashKeys(keys: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const key of keys) {
    // Seeds may exceed 32 bits (spec.seed is any non-negative integer): fold both halves in.
    const hi = Math.floor(key / 2 ** 32);
    h = fmix(h ^ (key >>> 0));
    h = fmix(h ^ (hi >>> 0) ^ 0x9e3779b9);
  }
  return h;
}

export function prng(...keys: number[]): Random {
  // mulberry32: tiny, fast and good enough for sampling (not for cryptography).
  let state = hashKeys(keys);
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    next,
    normal: () => {
      // Box–Muller; 1 - u keeps the logarithm's argument in (0, 1].
      const u = 1 - next();
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    below: (n) => Math.min(n - 1, Math.floor(next() * n)),
  };
}

/** Streams of one suggestion, kept apart so adding a draw to one never shifts another. */
export const Stream = { Random: 1, Tpe: 2, Liar: 3 } as const;
