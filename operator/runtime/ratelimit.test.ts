import { afterEach, describe, expect, it, vi } from 'vitest';
import { RateLimiter } from './ratelimit.ts';

afterEach(() => {
  vi.useRealTimers();
});

/** Starts `n` acquires of `priority` and records the order in which they are let through. */
function start(limiter: RateLimiter, n: number, priority: 'high' | 'normal', order: string[]) {
  return Array.from({ length: n }, (_, i) =>
    limiter.acquire(priority).then(() => order.push(`${priority}${i}`)),
  );
}

describe('the client-side rate limiter', () => {
  it('lets a burst through at once, then holds requests to the sustained rate', async () => {
    vi.useFakeTimers();
    const limiter = new RateLimiter({ qps: 10, burst: 3 }, () => Date.now());
    const order: string[] = [];
    start(limiter, 5, 'normal', order);
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(100);
    expect(order).toHaveLength(4);
    await vi.advanceTimersByTimeAsync(100);
    expect(order).toHaveLength(5);
  });

  it('serves waiting high-priority requests before ordinary ones that waited longer', async () => {
    vi.useFakeTimers();
    const limiter = new RateLimiter({ qps: 10, burst: 1 }, () => Date.now());
    const order: string[] = [];
    start(limiter, 3, 'normal', order);
    start(limiter, 2, 'high', order);
    await vi.advanceTimersByTimeAsync(400);
    expect(order).toEqual(['normal0', 'high0', 'high1', 'normal1', 'normal2']);
  });

  it('refills no more than its burst after a quiet spell', async () => {
    vi.useFakeTimers();
    const limiter = new RateLimiter({ qps: 100, burst: 2 }, () => Date.now());
    await vi.advanceTimersByTimeAsync(10_000);
    const order: string[] = [];
    start(limiter, 4, 'normal', order);
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toHaveLength(2);
    expect(limiter.pending()).toBe(2);
  });

  it.each([
    ['a qps of zero', { qps: 0, burst: 1 }],
    ['a burst below one', { qps: 5, burst: 0 }],
  ])('refuses %s', (_name, opts) => {
    expect(() => new RateLimiter(opts)).toThrow(/qps > 0 and burst >= 1/);
  });
});
