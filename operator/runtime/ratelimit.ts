// A client-side token bucket in front of the API server, like client-go's QPS/Burst, with one
// difference: requests marked `high` (status writes, lease renewals) are served before waiting
// ordinary ones. A flood of child applies must not delay the status that tells users what
// happened, nor the lease renewal that keeps this process the leader.

export type Priority = 'high' | 'normal';

export interface RateLimitOptions {
  /** Sustained requests per second. */
  qps: number;
  /** Requests allowed at once above the sustained rate (the bucket's size). */
  burst: number;
}

export class RateLimiter {
  private tokens: number;
  private last: number;
  private readonly waiting: Record<Priority, Array<() => void>> = { high: [], normal: [] };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly opts: RateLimitOptions,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(opts.qps > 0) || !(opts.burst >= 1)) {
      throw new RangeError(
        `rate limit needs qps > 0 and burst >= 1; got qps=${opts.qps} burst=${opts.burst}`,
      );
    }
    this.tokens = opts.burst;
    this.last = this.now();
  }

  /** Resolves when the request may be sent. */
  acquire(priority: Priority = 'normal'): Promise<void> {
    this.refill();
    if (this.waiting.high.length === 0 && this.waiting.normal.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiting[priority].push(resolve);
      this.schedule();
    });
  }

  /** Requests waiting for a token. */
  pending(): number {
    return this.waiting.high.length + this.waiting.normal.length;
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.opts.burst, this.tokens + ((now - this.last) / 1000) * this.opts.qps);
    this.last = now;
  }

  private drain(): void {
    this.timer = undefined;
    this.refill();
    while (this.tokens >= 1) {
      const next = this.waiting.high.shift() ?? this.waiting.normal.shift();
      if (!next) break;
      this.tokens -= 1;
      next();
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.pending() === 0) return;
    const waitMs = Math.max(0, ((1 - this.tokens) / this.opts.qps) * 1000);
    this.timer = setTimeout(() => this.drain(), Math.ceil(waitMs));
  }
}
