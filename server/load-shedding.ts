// Overload protection for the synchronous TensorFlow.js backends. A batch runs on the event loop,
// so under overload requests do not pile up in the batch queue (which is bounded too, for
// backends that compute off the loop): they wait in socket buffers while the loop is busy, and
// every answer gets later. The loop's delay is the measure: past maxDelayMs, model requests get
// 503 Overloaded with Retry-After, which costs far less than predicting, until the loop catches
// up. Probes and /metrics are never shed.
import { OVERLOAD_RETRY_AFTER_SECONDS, ServeError } from './errors.ts';

/** How often the loop's delay is sampled. */
const SAMPLE_MS = 10;

export class LoadShedder {
  /** When the sampling timer last ran, and how late. */
  private lastTick = performance.now();
  private lastDelay = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly maxDelayMs: number) {
    if (maxDelayMs <= 0) return;
    const tick = () => {
      const now = performance.now();
      this.lastDelay = Math.max(0, now - this.lastTick - SAMPLE_MS);
      this.lastTick = now;
      this.timer = setTimeout(tick, SAMPLE_MS);
      this.timer.unref();
    };
    this.timer = setTimeout(tick, SAMPLE_MS);
    this.timer.unref();
  }

  /**
   * The event loop's delay now: the last sample, or — while the loop has been too busy for the
   * timer to run at all — how overdue the timer is.
   */
  delayMs(): number {
    const overdue = performance.now() - this.lastTick - SAMPLE_MS;
    return Math.max(this.lastDelay, overdue);
  }

  /** Throws Overloaded when the loop is further behind than the limit. */
  check(): void {
    if (this.maxDelayMs <= 0) return;
    const delay = this.delayMs();
    if (delay > this.maxDelayMs) {
      throw new ServeError(
        'Overloaded',
        `overloaded: the server is ${Math.round(delay)} ms behind (K2K_MAX_EVENT_LOOP_DELAY_MS=${this.maxDelayMs}); retry later`,
        { retryAfterSeconds: OVERLOAD_RETRY_AFTER_SECONDS },
      );
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
