// A controller: event sources feed keys into a work queue; workers call its Reconciler with one
// key at a time. What a Reconciler must do is written once, on the Reconciler type below.
import { randomUUID } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import { TerminalError } from './errors.ts';
import { keyOf, type ObjectKey } from './keys.ts';
import { createLogger, type Logger } from './logger.ts';
import type { ReconcileOutcome, RuntimeMetrics } from './metrics.ts';
import type { Source } from './scope.ts';
import { WorkQueue } from './workqueue.ts';

/** What a Reconciler returns: see the Reconciler type. */
// biome-ignore lint/suspicious/noConfusingVoidType: lets a reconcile that returns nothing type-check as one.
export type ReconcileResult = { requeueAfterMs?: number } | void;

/**
 * The reconcile contract. Every reconcile in k2k follows it; other files point here.
 *
 * - **Level-triggered.** It gets a key (`namespace/name`), never the event: an add, an update, a
 *   delete, a child's change, a restart and a new leader all lead to the same call, and it must
 *   not try to tell them apart. It converges the world towards what the object asks for *now*.
 * - **Reads from caches.** Current state comes from the informers' caches (Lister), which may lag
 *   the API server by a few events; when they catch up, the key is queued again. An object missing
 *   from the cache has been deleted: return (owner references let the garbage collector remove
 *   children). Cached objects are shared: never mutate them.
 * - **Idempotent.** Calling it twice in a row with nothing changed changes nothing: children are
 *   built by pure desired…() functions and written with server-side apply under one field manager,
 *   so re-applying the same desired object is a no-op.
 * - **Status once per pass.** Compute the whole status in memory from what was read and applied,
 *   and write it in one status apply only when it differs from the cached one.
 * - **One key at a time.** The work queue never hands the same key to two workers; different keys
 *   run in parallel. A key queued again while it is reconciled runs once more afterwards.
 *
 * How it ends:
 * - returns (nothing): done; the key's backoff is reset and it runs again on its next event.
 * - returns `{ requeueAfterMs }`: done, and run again after that delay even without an event (for
 *   state outside the cluster that no informer sees); the backoff is reset.
 * - throws: a failure that may pass (API error, conflict): logged and retried with per-key
 *   exponential backoff. Write the status that explains it before throwing, so users see it.
 * - throws a TerminalError: retrying cannot help (the spec must change): logged, not retried; the
 *   next event for the key (the user fixing the spec) reconciles it again.
 */
export type Reconciler = (key: ObjectKey, log: Logger) => Promise<ReconcileResult>;

export interface ControllerOptions {
  name: string;
  /** Keys reconciled in parallel (default 2); one key is never reconciled twice at once. */
  workers?: number;
  /** Follows the contract on the Reconciler type. */
  reconcile: Reconciler;
  logger?: Logger;
  metrics?: RuntimeMetrics;
  /** Backoff of failed reconciles (work queue defaults: 5ms doubling up to 300s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /**
   * Every resyncPeriodMs, every cached primary object (the `watches` sources) is queued again, so
   * state whose event was missed (a child deleted while a watch was down) still converges. Off when unset.
   */
  resyncPeriodMs?: number;
}

interface Watched {
  informer: Source<KubernetesObject>;
  keys: (obj: KubernetesObject) => ObjectKey[];
  primary: boolean;
}

export class Controller {
  readonly name: string;
  private readonly opts: ControllerOptions;
  private readonly log: Logger;
  private metrics: RuntimeMetrics | undefined;
  private readonly sources: Watched[] = [];
  private queue: WorkQueue | undefined;
  private workers: Promise<void>[] = [];
  /** Reconciles in flight and when each started: what liveness checks for wedged workers. */
  private readonly inFlight = new Map<ObjectKey, number>();
  private resyncTimer: NodeJS.Timeout | undefined;
  private starting: Promise<void> | undefined;
  /** Bumped by stop(), so a start still waiting for caches does not start workers afterwards. */
  private generation = 0;

  constructor(opts: ControllerOptions) {
    this.name = opts.name;
    this.opts = { ...opts };
    this.metrics = opts.metrics;
    this.log = (opts.logger ?? createLogger()).child({ controller: opts.name });
  }

  /** The primary resource: every event enqueues the object's own key. */
  watches<T extends KubernetesObject>(informer: Source<T>): this {
    return this.source(informer, (obj) => [keyOf(obj)], true);
  }

  /** Children: an event enqueues the key of the object's controller owner of kind `owner`, in its namespace. */
  owns<T extends KubernetesObject>(informer: Source<T>, owner: { apiVersion: string; kind: string }): this {
    const group = groupOf(owner.apiVersion);
    return this.source(informer, (obj) => {
      const ref = obj.metadata?.ownerReferences?.find(
        (r) => r.controller === true && r.kind === owner.kind && groupOf(r.apiVersion) === group,
      );
      if (!ref) return [];
      const namespace = obj.metadata?.namespace;
      return [namespace ? `${namespace}/${ref.name}` : ref.name];
    });
  }

  /** Any other relation: `map` says which keys an object's events concern. */
  watchesMapped<T extends KubernetesObject>(informer: Source<T>, map: (obj: T) => ObjectKey[]): this {
    return this.source(informer, map);
  }

  /** Reports to `metrics` unless the options named others (Manager.add calls it with its own). */
  useMetrics(metrics: RuntimeMetrics): void {
    this.metrics ??= metrics;
  }

  /** Resyncs every `ms` unless the options said otherwise (Manager.add passes its default). */
  useResyncPeriod(ms: number | undefined): void {
    this.opts.resyncPeriodMs ??= ms;
  }

  /** Reconciles that have been running for longer than `ms`: a wedged worker (liveness). */
  stuckReconciles(ms: number): Array<{ key: ObjectKey; seconds: number }> {
    const now = Date.now();
    return [...this.inFlight]
      .filter(([, since]) => now - since > ms)
      .map(([key, since]) => ({ key, seconds: Math.round((now - since) / 1000) }));
  }

  /** Queues a key for reconciling; a no-op while the controller is not running. */
  enqueue(key: ObjectKey): void {
    this.queue?.add(key);
  }

  /**
   * Waits for the sources' caches to sync, queues every object they hold (a controller that starts,
   * for instance on becoming leader, has missed the events before), then starts the workers.
   */
  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  /** Stops taking keys and waits for the reconciles in flight to finish. Can be started again. */
  async stop(): Promise<void> {
    this.generation++;
    this.starting = undefined;
    clearInterval(this.resyncTimer);
    this.resyncTimer = undefined;
    const queue = this.queue;
    if (!queue) return;
    this.queue = undefined;
    await queue.shutDownWithDrain();
    await Promise.all(this.workers);
    this.workers = [];
    this.log.info('stopped');
  }

  private source<T extends KubernetesObject>(
    informer: Source<T>,
    keys: (obj: T) => ObjectKey[],
    primary = false,
  ): this {
    const s = { informer, keys, primary } as unknown as Watched;
    this.sources.push(s);
    const enqueue = (obj: T) => {
      for (const key of keys(obj)) this.enqueue(key);
    };
    informer.on('add', enqueue);
    informer.on('delete', enqueue);
    informer.on('update', (obj, old) => {
      // An object that changed owner (or mapping) concerns its old key too. The same key is
      // queued once: queued twice, a worker that took it at the first add would run it again.
      const now = keys(obj);
      const before = old && old !== obj ? keys(old).filter((k) => !now.includes(k)) : [];
      for (const key of [...now, ...before]) this.enqueue(key);
    });
    return this;
  }

  private async doStart(): Promise<void> {
    const queue = new WorkQueue({
      name: this.name,
      metrics: this.metrics,
      baseDelayMs: this.opts.baseDelayMs,
      maxDelayMs: this.opts.maxDelayMs,
    });
    const generation = this.generation;
    await Promise.all(this.sources.map((s) => s.informer.waitForSync()));
    if (generation !== this.generation) return;
    this.queue = queue;
    for (const s of this.sources)
      for (const obj of s.informer.list()) for (const key of s.keys(obj)) queue.add(key);
    const n = this.opts.workers ?? 2;
    this.workers = Array.from({ length: n }, () => this.work(queue));
    this.metrics?.maxConcurrentReconciles.set({ controller: this.name }, n);
    this.metrics?.activeWorkers.set({ controller: this.name }, 0);
    const resyncMs = this.opts.resyncPeriodMs;
    if (resyncMs) this.resyncTimer = setInterval(() => this.resync(queue), resyncMs);
    this.log.info('started', { workers: n, queued: queue.len(), resyncPeriodMs: resyncMs ?? 0 });
  }

  private resync(queue: WorkQueue): void {
    let keys = 0;
    for (const s of this.sources.filter((x) => x.primary)) {
      for (const obj of s.informer.list()) {
        queue.add(keyOf(obj));
        keys++;
      }
    }
    this.log.debug('resync', { keys });
  }

  private async work(queue: WorkQueue): Promise<void> {
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
      await this.reconcileOne(queue, key);
    }
  }

  private async reconcileOne(queue: WorkQueue, key: ObjectKey): Promise<void> {
    const log = this.log.child({ key, reconcileID: randomUUID() });
    const started = process.hrtime.bigint();
    this.inFlight.set(key, Date.now());
    this.metrics?.activeWorkers.inc({ controller: this.name });
    let outcome: ReconcileOutcome = 'success';
    try {
      const result = await this.opts.reconcile(key, log);
      queue.forget(key);
      if (result?.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
        outcome = 'requeue';
        queue.addAfter(key, result.requeueAfterMs);
      }
    } catch (err) {
      outcome = 'error';
      if (err instanceof TerminalError) {
        queue.forget(key);
        log.error('reconcile failed, not retrying', { err });
      } else {
        queue.addRateLimited(key);
        log.error('reconcile failed, retrying with backoff', { err, requeues: queue.numRequeues(key) });
      }
    } finally {
      this.inFlight.delete(key);
      this.metrics?.activeWorkers.dec({ controller: this.name });
      queue.done(key);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics?.reconcileTotal.inc({ controller: this.name, result: outcome });
      this.metrics?.reconcileDuration.observe({ controller: this.name }, seconds);
    }
  }
}

function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
}
