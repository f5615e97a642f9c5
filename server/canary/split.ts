// The per-request split of a stable pod: request i (counted from 0 since the weight last changed)
// goes to the canary iff floor((i+1)·w) > floor(i·w). Over any n consecutive requests the canary
// gets floor(n·w) or one more, so the share is exact to one request per pod, with no randomness
// and no state but a counter (docs/decisions/0029-canary-split-in-the-stable-pods.md).

/** Hundredths of a percent: weights are percentages with at most two decimals (10, 12.5). */
const SCALE = 10_000;

export class CanarySplit {
  private i = 0;
  private weightScaled = 0;

  /** The canary's share in percent, 0 to 100. */
  get weight(): number {
    return this.weightScaled / (SCALE / 100);
  }

  /** A new weight restarts the count, so the share is exact from the change on. */
  setWeight(percent: number): void {
    const scaled = Math.round(Math.min(100, Math.max(0, percent)) * (SCALE / 100));
    if (scaled === this.weightScaled) return;
    this.weightScaled = scaled;
    this.i = 0;
  }

  /** Whether the next request goes to the canary. Integer arithmetic: no float drift over millions. */
  next(): boolean {
    const i = this.i++;
    return Math.floor(((i + 1) * this.weightScaled) / SCALE) > Math.floor((i * this.weightScaled) / SCALE);
  }
}
