// A list+watch cache of one resource (client-go's reflector + store, minus the indexers).
//
// Lifecycle: list (paginated), then watch from the list's resourceVersion. A watch the server ends
// normally (its timeout) is resumed from the last resourceVersion seen, and so is a watch that has
// been silent for watchIdleTimeoutMs: the server sends a bookmark about once a minute, so silence
// means a half-open connection (client-node 1.4 has no timeout of its own; only TCP keepalive). Any watch error, including
// 410 Gone ("too old resource version"), leads to a fresh list, after a backoff for errors other
// than 410. A list is diffed against the cache by resourceVersion, so handlers hear only about
// objects that really changed: no add for an object the cache already had.
//
// Objects are kept as the API server sends them (plain JSON: timestamps are strings).
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubernetesObject } from '@kubernetes/client-node';
import { isGone, KubeApiError, RuntimeError, RuntimeErrorCode } from './errors.ts';
import { keyOf, type ObjectKey } from './keys.ts';
import { createLogger, type Logger } from './logger.ts';
import type { RuntimeMetrics } from './metrics.ts';
import type { KubeConfig } from './rest.ts';
import { kubeRequest, resourcePath, watchRequest } from './rest.ts';
import type { Transform } from './transform.ts';

export interface ResourceRef {
  apiVersion: string;
  kind: string;
  plural: string;
  /** Watch one namespace; all namespaces when unset. */
  namespace?: string;
  labelSelector?: string;
  /** A field selector, for instance `metadata.namespace!=kube-system` to leave namespaces out. */
  fieldSelector?: string;
}

export interface InformerOptions {
  logger?: Logger;
  metrics?: RuntimeMetrics;
  /** Every resyncMs, handlers get an update(obj, obj) for every cached object. Off when unset. */
  resyncMs?: number;
  /** healthy() turns false once lists and watches have failed for this long (default 60s). */
  stuckAfterMs?: number;
  /** Objects per list page (default 500). */
  pageSize?: number;
  /** How long the server keeps a watch open before ending it (default: random, 5 to 10 minutes). */
  watchTimeoutSeconds?: number;
  /** Applied to every object before it enters the cache (drop what no reader needs). */
  transform?: Transform;
  /**
   * A watch without a single event or bookmark for this long is closed and resumed from the last
   * resourceVersion (default 90s: the API server sends bookmarks about every minute; 0 turns it off).
   */
  watchIdleTimeoutMs?: number;
}

/**
 * The read side of an informer's cache, which is all a reconcile needs: it reads the current state
 * and never sees the events.
 */
export type Lister<T extends KubernetesObject> = Pick<Informer<T>, 'get' | 'list'>;

type EventName = 'add' | 'update' | 'delete';
type Handler<T> = (obj: T, old?: T) => void;

interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubernetesObject & { code?: number; reason?: string; message?: string };
}

const minBackoffMs = 200;
const maxBackoffMs = 30_000;

export class Informer<T extends KubernetesObject = KubernetesObject> {
  readonly ref: ResourceRef;
  /** The metrics label: [namespace/]plural[.group][?labelSelector][&fieldSelector]. */
  readonly resource: string;
  private readonly log: Logger;
  private readonly metrics: RuntimeMetrics | undefined;
  private readonly handlers: Record<EventName, Handler<T>[]> = { add: [], update: [], delete: [] };
  private cache = new Map<ObjectKey, T>();
  private resourceVersion = '';
  private synced = false;
  private failingSince: number | undefined;
  private running: Promise<void> | undefined;
  private stopper = new AbortController();
  private abortWatch: (() => void) | undefined;
  private resync: NodeJS.Timeout | undefined;
  private syncWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];

  constructor(
    private readonly kc: KubeConfig,
    ref: ResourceRef,
    private readonly opts: InformerOptions = {},
  ) {
    this.ref = { ...ref };
    const group = ref.apiVersion.includes('/') ? `.${ref.apiVersion.split('/')[0]}` : '';
    this.resource =
      `${ref.namespace ? `${ref.namespace}/` : ''}${ref.plural}${group}` +
      (ref.labelSelector ? `?${ref.labelSelector}` : '') +
      (ref.fieldSelector ? `${ref.labelSelector ? '&' : '?'}${ref.fieldSelector}` : '');
    this.log = (opts.logger ?? createLogger()).child({ informer: this.resource });
    this.metrics = opts.metrics;
  }

  on(event: EventName, fn: Handler<T>): void {
    this.handlers[event].push(fn);
  }

  /** Starts listing and watching; resolves once the first list is in the cache. */
  start(): Promise<void> {
    if (!this.running) {
      this.stopper = new AbortController();
      this.running = this.run(this.stopper.signal).finally(() => {
        this.running = undefined;
      });
      if (this.opts.resyncMs) this.resync = setInterval(() => this.resyncAll(), this.opts.resyncMs);
    }
    return this.waitForSync();
  }

  /** Resolves once the cache holds a complete list; rejects if the informer is stopped first. */
  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => this.syncWaiters.push({ resolve, reject }));
  }

  stop(): void {
    this.stopper.abort();
    this.abortWatch?.();
    clearInterval(this.resync);
    this.resync = undefined;
    const stopped = new RuntimeError(
      RuntimeErrorCode.InformerStopped,
      `informer ${this.resource} stopped before it synced`,
    );
    for (const w of this.syncWaiters.splice(0)) w.reject(stopped);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  list(namespace?: string): T[] {
    const all = [...this.cache.values()];
    return namespace ? all.filter((o) => o.metadata?.namespace === namespace) : all;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** False once lists and watches have kept failing for stuckAfterMs: the informer is stuck. */
  healthy(): boolean {
    return (
      this.failingSince === undefined || Date.now() - this.failingSince < (this.opts.stuckAfterMs ?? 60_000)
    );
  }

  private async run(signal: AbortSignal): Promise<void> {
    let needList = true;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
        }
        await this.watchOnce(signal);
        failures = 0;
        this.log.debug('watch ended by the server, resuming', { resourceVersion: this.resourceVersion });
      } catch (err) {
        if (signal.aborted) break;
        needList = true;
        if (isGone(err) && failures === 0) {
          // The resourceVersion is too old for the watch cache: routine, list again at once.
          // A second 410 in a row is treated as a failure, so a confused server cannot make us spin.
          failures++;
          this.log.info('watch expired (410 Gone), listing again');
          continue;
        }
        this.markFailing();
        const delay = Math.min(minBackoffMs * 2 ** failures, maxBackoffMs) * (1 + Math.random() * 0.2);
        failures++;
        this.log.warn('list or watch failed, retrying', { err, retryInMs: Math.round(delay), failures });
        await sleep(delay, undefined, { signal }).catch(() => {});
      }
    }
  }

  private async relist(): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await kubeRequest<{
        items?: T[];
        metadata?: { resourceVersion?: string; continue?: string };
      }>(this.kc, {
        path: resourcePath({
          apiVersion: this.ref.apiVersion,
          plural: this.ref.plural,
          namespace: this.ref.namespace,
        }),
        query: {
          labelSelector: this.ref.labelSelector,
          fieldSelector: this.ref.fieldSelector,
          limit: this.opts.pageSize ?? 500,
          continue: cont,
        },
      });
      // List items carry no apiVersion/kind; fill them in so a cached object looks like a watched one.
      for (const item of page.items ?? [])
        items.push(this.transform({ ...item, apiVersion: this.ref.apiVersion, kind: this.ref.kind }));
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      cont = page.metadata?.continue || undefined;
    } while (cont);

    if (this.synced) this.metrics?.informerRelists.inc({ resource: this.resource });
    const previous = this.cache;
    this.cache = new Map(items.map((o) => [keyOf(o), o]));
    this.resourceVersion = resourceVersion;
    this.markHealthy();
    for (const [key, obj] of this.cache) {
      const old = previous.get(key);
      if (!old) this.emit('add', obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit('update', obj, old);
    }
    for (const [key, old] of previous) if (!this.cache.has(key)) this.emit('delete', old);
    if (!this.synced) {
      this.synced = true;
      this.log.info('synced', { objects: this.cache.size, resourceVersion });
      for (const w of this.syncWaiters.splice(0)) w.resolve();
    }
  }

  /** One watch request; resolves when the server ends it normally, rejects on errors (410 included). */
  private watchOnce(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      let closed = false;
      let failure: Error | undefined;
      let events = 0;
      const startedAt = Date.now();
      let abort = () => {};
      const idleMs = this.opts.watchIdleTimeoutMs ?? 90_000;
      const idle =
        idleMs > 0
          ? setTimeout(() => {
              if (closed) return;
              this.log.warn('watch idle, reconnecting', { idleMs, resourceVersion: this.resourceVersion });
              this.metrics?.informerIdleWatches.inc({ resource: this.resource });
              // Finish first: aborting reports an AbortError to the done callback, which must not count as a failure.
              finish(undefined);
              abort();
            }, idleMs)
          : undefined;
      const finish = (err: unknown) => {
        if (closed) return;
        closed = true;
        clearTimeout(idle);
        this.abortWatch = undefined;
        if (failure) reject(failure);
        else if (err) reject(err);
        // A watch the server ends at once without a single event would make the loop spin: back off instead.
        else if (events === 0 && Date.now() - startedAt < 1000) {
          reject(
            new RuntimeError(RuntimeErrorCode.ApiRequestFailed, `watch ${this.resource} closed immediately`),
          );
        } else resolve();
      };
      const onEvent = (type: string, object: WatchEvent['object']) => {
        if (closed) return;
        events++;
        idle?.refresh();
        this.markHealthy();
        if (type === 'ERROR') {
          // A Status object; the server ends the stream after it.
          failure = new KubeApiError(
            object.code ?? 500,
            object.reason ?? '',
            `watch ${this.resource}: ${object.message}`,
          );
          return;
        }
        this.apply({ type: type as WatchEvent['type'], object });
      };
      // Server-side timeouts spread out, like client-go, so watches of many informers do not all restart together.
      const timeoutSeconds = this.opts.watchTimeoutSeconds ?? Math.round(300 + Math.random() * 300);
      const path = resourcePath({
        apiVersion: this.ref.apiVersion,
        plural: this.ref.plural,
        namespace: this.ref.namespace,
      });
      watchRequest(
        this.kc,
        path,
        {
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          labelSelector: this.ref.labelSelector,
          fieldSelector: this.ref.fieldSelector,
          timeoutSeconds,
        },
        { onEvent: (type, object) => onEvent(type, object as WatchEvent['object']), done: finish },
      ).then((close) => {
        abort = close;
        // Closed already (idle before the server even answered): drop the late connection.
        if (closed) return abort();
        this.abortWatch = abort;
        if (signal.aborted) abort();
      }, finish);
    });
  }

  private apply(ev: WatchEvent): void {
    const obj = ev.object as T;
    const rv = obj.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (ev.type === 'BOOKMARK') return;
    const key = keyOf(obj);
    const old = this.cache.get(key);
    if (ev.type === 'DELETED') {
      this.cache.delete(key);
      if (old) this.emit('delete', obj);
      return;
    }
    if (old && old.metadata?.resourceVersion === rv) return;
    const kept = this.transform(obj);
    this.cache.set(key, kept);
    if (old) this.emit('update', kept, old);
    else this.emit('add', kept);
  }

  private transform(obj: T): T {
    return this.opts.transform ? this.opts.transform(obj) : obj;
  }

  private resyncAll(): void {
    for (const obj of this.cache.values()) this.emit('update', obj, obj);
  }

  private emit(event: EventName, obj: T, old?: T): void {
    for (const fn of this.handlers[event]) {
      try {
        fn(obj, old);
      } catch (err) {
        // A faulty handler must not stop the informer or starve the other handlers.
        this.log.error('event handler threw', { event, key: obj.metadata?.name, err });
      }
    }
  }

  private markFailing(): void {
    this.failingSince ??= Date.now();
    this.metrics?.informerHealthy.set({ resource: this.resource }, 0);
  }

  private markHealthy(): void {
    if (this.failingSince !== undefined || !this.synced) {
      this.failingSince = undefined;
      this.metrics?.informerHealthy.set({ resource: this.resource }, 1);
    }
  }
}
