// A work queue with client-go's guarantees, which is what makes level-triggered reconcilers safe:
//  - a key waiting in the queue is stored once, however often it is added (dedupe);
//  - a key being processed is never handed to a second worker;
//  - a key added while it is processed is queued again when the worker calls done().
// On top of that: delayed adds (addAfter) and per-key exponential backoff (addRateLimited).
import type { ObjectKey } from './keys.ts';
import type { RuntimeMetrics } from './metrics.ts';

export interface WorkQueueOptions {
  name?: string;
  /** First backoff delay of addRateLimited; it doubles with each consecutive failure. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  metrics?: RuntimeMetrics;
}

export class WorkQueue {
  readonly name: string;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly metrics: RuntimeMetrics | undefined;

  private readonly queue: ObjectKey[] = [];
  /** Keys that need processing: waiting in `queue`, or re-added while in `processing`. */
  private readonly dirty = new Set<ObjectKey>();
  private readonly processing = new Set<ObjectKey>();
  private readonly waiters: Array<(key: ObjectKey | undefined) => void> = [];
  private readonly delayed = new Map<ObjectKey, { readyAt: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<ObjectKey, number>();
  private shuttingDown = false;
  private drain: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(opts: WorkQueueOptions = {}) {
    this.name = opts.name ?? 'workqueue';
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 300_000;
    this.metrics = opts.metrics;
    this.reportDepth();
  }

  add(key: ObjectKey): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.metrics?.workqueueAdds.inc({ name: this.name });
    // The worker that holds the key re-queues it in done(); queueing it now would hand it to a second worker.
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.dispatch();
  }

  /** Adds the key once `delayMs` has passed. A pending earlier add of the same key wins. */
  addAfter(key: ObjectKey, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const readyAt = Date.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending) {
      if (pending.readyAt <= readyAt) return;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { readyAt, timer });
  }

  /** Adds the key after its backoff delay: baseDelayMs * 2^(failures so far), at most maxDelayMs. */
  addRateLimited(key: ObjectKey): void {
    if (this.shuttingDown) return;
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    this.metrics?.workqueueRetries.inc({ name: this.name });
    this.addAfter(key, Math.min(this.baseDelayMs * 2 ** failures, this.maxDelayMs));
  }

  /** Resets the key's backoff: call it when the key was processed successfully. */
  forget(key: ObjectKey): void {
    this.failures.delete(key);
  }

  numRequeues(key: ObjectKey): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to process; resolves with undefined once the queue shuts down. Call done(key) after. */
  get(): Promise<ObjectKey | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: ObjectKey): void {
    this.processing.delete(key);
    if (this.shuttingDown) {
      if (this.processing.size === 0) this.drain?.resolve();
      return;
    }
    if (this.dirty.has(key)) {
      this.queue.push(key);
      this.dispatch();
    }
  }

  /** Keys waiting to be processed (keys being processed and delayed adds are not counted). */
  len(): number {
    return this.queue.length;
  }

  /**
   * Stops handing out keys: get() resolves with undefined, adds are ignored. Keys still waiting
   * are dropped; a controller that starts again lists its informers' caches, so nothing is lost.
   */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.queue.length = 0;
    this.dirty.clear();
    this.reportDepth();
    for (const wake of this.waiters.splice(0)) wake(undefined);
  }

  /** shutDown, then resolves once every key handed out has been marked done. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    if (!this.drain) {
      let resolve = () => {};
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.drain = { promise, resolve };
    }
    return this.drain.promise;
  }

  private take(): ObjectKey | undefined {
    const key = this.queue.shift();
    if (key === undefined) return undefined;
    this.dirty.delete(key);
    this.processing.add(key);
    this.reportDepth();
    return key;
  }

  private dispatch(): void {
    while (this.waiters.length > 0 && this.queue.length > 0) {
      this.waiters.shift()!(this.take());
    }
    this.reportDepth();
  }

  private reportDepth(): void {
    this.metrics?.workqueueDepth.set({ name: this.name }, this.queue.length);
  }
}
