// The population stability index, shared by the model server (drift against the training profile)
// and the operator (a canary's predictions against the stable track's, api/canary.ts).

/**
 * Population stability index Σ (a−e)·ln(a/e) over bins, with proportions floored at `epsilon`
 * so an empty bin contributes a large but finite term (the usual convention).
 */
export function psi(expected: readonly number[], actual: readonly number[], epsilon = 1e-4): number {
  const eTotal = expected.reduce((s, c) => s + c, 0);
  const aTotal = actual.reduce((s, c) => s + c, 0);
  if (eTotal === 0 || aTotal === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max((expected[i] as number) / eTotal, epsilon);
    const a = Math.max((actual[i] ?? 0) / aTotal, epsilon);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}
