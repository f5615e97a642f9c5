// Integration tests: a real kube-apiserver (the vitest global setup starts it).
import type { KubeConfig, V1ConfigMap } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { apply } from './apply.ts';
import { Controller, type ControllerOptions } from './controller.ts';
import { TerminalError } from './errors.ts';
import { Informer } from './informer.ts';
import { RuntimeMetrics } from './metrics.ts';
import { eventually, freshNamespace, testKubeConfig, testLogger } from './testdata/helpers.ts';
import { installWidgetCrd, WIDGET_API_VERSION, type Widget, widgetRef } from './testdata/widget-crd.ts';

const labels = { 'k2k.dev/test': 'controller' };
const configMaps = (namespace: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  namespace,
  labelSelector: 'k2k.dev/test=controller',
});
const configMap = (namespace: string, name: string, data: Record<string, string> = {}): V1ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, labels },
  data,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The sum of a runtime counter's series for one controller (its work queue has the same name). */
async function count(registry: Registry, metric: string, controller: Controller): Promise<number> {
  const values = (await registry.getSingleMetric(metric)!.get()).values;
  return values
    .filter((v) => v.labels.controller === controller.name || v.labels.name === controller.name)
    .reduce((sum, v) => sum + v.value, 0);
}

describe('Controller', () => {
  const kc: KubeConfig = testKubeConfig();
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  beforeAll(() => installWidgetCrd(kc));

  /** A started informer and a started controller watching it, both stopped after the test. */
  async function run<T extends V1ConfigMap | Widget>(
    informer: Informer<T>,
    opts: Omit<ControllerOptions, 'name' | 'logger'>,
    wire: (c: Controller) => Controller = (c) => c.watches(informer),
  ): Promise<Controller> {
    const controller = wire(
      new Controller({ name: `test-${cleanups.length}`, logger: testLogger(), ...opts }),
    );
    cleanups.push(() => informer.stop());
    cleanups.push(() => controller.stop());
    await informer.start();
    await controller.start();
    return controller;
  }

  it('queues every primary object again each resync period, without any event', async () => {
    const namespace = await freshNamespace(kc);
    await apply(kc, configMap(namespace, 'quiet'));
    const seen: string[] = [];
    const primaries = new Informer<V1ConfigMap>(kc, configMaps(namespace), { logger: testLogger() });
    const children = new Informer<V1ConfigMap>(
      kc,
      { ...configMaps(namespace), labelSelector: 'k2k.dev/test=none' },
      { logger: testLogger() },
    );
    cleanups.push(() => children.stop());
    await children.start();
    await run(primaries, { resyncPeriodMs: 200, reconcile: async (key) => void seen.push(key) }, (c) =>
      c.watches(primaries).owns(children, { apiVersion: 'v1', kind: 'ConfigMap' }),
    );
    await eventually(() => seen.length >= 4, { what: 'three resyncs after the first reconcile' });
    expect(new Set(seen)).toEqual(new Set([`${namespace}/quiet`]));
  });

  it('reconciles objects that exist at start, and objects again when they change', async () => {
    const namespace = await freshNamespace(kc);
    await apply(kc, configMap(namespace, 'early'));
    const seen: string[] = [];
    const informer = new Informer<V1ConfigMap>(kc, configMaps(namespace), { logger: testLogger() });
    await run(informer, {
      reconcile: async (key) => {
        seen.push(key);
      },
    });
    await eventually(() => seen.includes(`${namespace}/early`), { what: 'early to be reconciled' });
    await apply(kc, configMap(namespace, 'late'));
    await eventually(() => seen.includes(`${namespace}/late`), { what: 'late to be reconciled' });
    const before = seen.length;
    await apply(kc, configMap(namespace, 'late', { changed: 'yes' }));
    await eventually(() => seen.length > before, { what: 'the change to be reconciled' });
    expect(seen.at(-1)).toBe(`${namespace}/late`);
  });

  it('reconciles the controller owner when a child it owns changes', async () => {
    const namespace = await freshNamespace(kc);
    const widget = await apply<Widget>(kc, {
      apiVersion: WIDGET_API_VERSION,
      kind: 'Widget',
      metadata: { name: 'parent', namespace },
      spec: {},
    });
    const widgets = new Informer<Widget>(kc, widgetRef(namespace), { logger: testLogger() });
    const children = new Informer<V1ConfigMap>(kc, configMaps(namespace), { logger: testLogger() });
    cleanups.push(() => children.stop());
    await children.start();
    const seen: string[] = [];
    const registry = new Registry();
    const controller = await run(
      widgets,
      { metrics: new RuntimeMetrics(registry), reconcile: async (key) => void seen.push(key) },
      (c) => c.watches(widgets).owns(children, { apiVersion: WIDGET_API_VERSION, kind: 'Widget' }),
    );
    await eventually(() => seen.length === 1, { what: 'the first reconcile' });
    const adds = await count(registry, 'k2k_workqueue_adds_total', controller);

    const ownerReferences = [
      {
        apiVersion: WIDGET_API_VERSION,
        kind: 'Widget',
        name: 'parent',
        uid: widget.metadata!.uid!,
        controller: true,
        blockOwnerDeletion: true,
      },
    ];
    // A reference that is not the controller reference, or to another kind, enqueues nothing.
    await apply(kc, {
      ...configMap(namespace, 'bystander'),
      metadata: {
        ...configMap(namespace, 'bystander').metadata,
        ownerReferences: [{ ...ownerReferences[0]!, controller: false }],
      },
    });
    // The informer runs its handlers as it caches an object: once the bystander is in the cache,
    // an enqueue would have been counted.
    await eventually(() => children.get(namespace, 'bystander'), { what: 'the bystander in the cache' });
    expect(await count(registry, 'k2k_workqueue_adds_total', controller)).toBe(adds);
    await apply(kc, {
      ...configMap(namespace, 'child'),
      metadata: { ...configMap(namespace, 'child').metadata, ownerReferences },
    });
    await eventually(() => seen.length === 2, { what: 'the child to enqueue its owner' });
    expect(seen).toEqual([`${namespace}/parent`, `${namespace}/parent`]);
    expect(await count(registry, 'k2k_workqueue_adds_total', controller)).toBe(adds + 1);
  });

  it('maps events to the keys watchesMapped returns', async () => {
    const namespace = await freshNamespace(kc);
    const informer = new Informer<V1ConfigMap>(kc, configMaps(namespace), { logger: testLogger() });
    const seen: string[] = [];
    await run(informer, { reconcile: async (key) => void seen.push(key) }, (c) =>
      c.watchesMapped(informer, (cm) => (cm.data?.target ? [`elsewhere/${cm.data.target}`] : [])),
    );
    await apply(kc, configMap(namespace, 'pointer', { target: 'x' }));
    await eventually(() => seen.includes('elsewhere/x'), { what: 'the mapped key' });
  });

  it('retries a failing reconcile with backoff until it succeeds', async () => {
    const namespace = await freshNamespace(kc);
    await apply(kc, configMap(namespace, 'flaky'));
    const registry = new Registry();
    let attempts = 0;
    const informer = new Informer<V1ConfigMap>(kc, configMaps(namespace), { logger: testLogger() });
    const controller = await run(informer, {
      metrics: new RuntimeMetrics(registry),
      reconcile: async () => {
        attempts++;
        if (attempts < 3) throw new Error(`attempt ${attempts} fails`);
      },
    });
    // The outcome is counted after the queue decided about a retry: once the success is counted,
    // no retry is pending.
    await eventually(async () => (await count(registry, 'k2k_reconcile_total', controller)) === 3, {
      what: 'three counted attempts',
    });
    expect(attempts).toBe(3);
    expect(await count(registry, 'k2k_workqueue_retries_total', controller)).toBe(2);
    const results = (await registry.getSingleMetric('k2k_reconcile_total')!.get()).values
      .filter((v) => v.labels.controller === controller.name)
      .map((v) => [v.labels.result, v.value]);
    expect(Object.fromEntries(results)).toEqual({ error: 2, success: 1 });
  });

  it('does not retry a TerminalError', async () => {
    const namespace = await freshNamespace(kc);
    await apply(kc, configMap(namespace, 'hopeless'));
    let attempts = 0;
    const registry = new Registry();
    const informer = new Informer<V1ConfigMap>(kc, configMaps(namespace), { logger: testLogger() });
    const controller = await run(informer, {
      metrics: new RuntimeMetrics(registry),
      reconcile: async () => {
        attempts++;
        throw new TerminalError('bad spec');
      },
    });
    await eventually(() => attempts === 1, { what: 'the attempt' });
    // The outcome is counted after the queue decided about a retry.
    await eventually(async () => (await count(registry, 'k2k_reconcile_total', controller)) === 1, {
      what: 'the attempt to be counted',
    });
    expect(await count(registry, 'k2k_workqueue_retries_total', controller)).toBe(0);
    expect(attempts).toBe(1);
  });

  it('reconciles again after requeueAfterMs', async () => {
    const namespace = await freshNamespace(kc);
    await apply(kc, configMap(namespace, 'poll'));
    let attempts = 0;
    const informer = new Informer<V1ConfigMap>(kc, configMaps(namespace), { logger: testLogger() });
    await run(informer, {
      reconcile: async () => {
        attempts++;
        return attempts < 3 ? { requeueAfterMs: 50 } : undefined;
      },
    });
    await eventually(() => attempts === 3, { what: 'three reconciles' });
  });

  it('reconciles different keys in parallel but never one key twice at once', async () => {
    const namespace = await freshNamespace(kc);
    const informer = new Informer<V1ConfigMap>(kc, configMaps(namespace), { logger: testLogger() });
    const inFlight = new Set<string>();
    let overlapOfOneKey = false;
    let maxParallel = 0;
    const done = new Set<string>();
    await run(informer, {
      workers: 2,
      reconcile: async (key) => {
        if (inFlight.has(key)) overlapOfOneKey = true;
        inFlight.add(key);
        maxParallel = Math.max(maxParallel, inFlight.size);
        // Hold the key until a second key is in flight too (or give up after 2s), so parallelism shows.
        for (let i = 0; i < 40 && inFlight.size < 2; i++) await sleep(50);
        await sleep(20);
        inFlight.delete(key);
        done.add(key);
      },
    });
    for (let i = 0; i < 5; i++) {
      await apply(kc, configMap(namespace, 'a', { i: String(i) }));
      await apply(kc, configMap(namespace, 'b', { i: String(i) }));
    }
    await eventually(() => done.has(`${namespace}/a`) && done.has(`${namespace}/b`) && inFlight.size === 0, {
      what: 'both keys reconciled',
    });
    expect(overlapOfOneKey).toBe(false);
    expect(maxParallel).toBe(2);
  });

  it('waits for reconciles in flight when stopped, counting its busy worker, and reconciles nothing afterwards', async () => {
    const namespace = await freshNamespace(kc);
    await apply(kc, configMap(namespace, 'slow'));
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let started = 0;
    let finished = 0;
    const registry = new Registry();
    const informer = new Informer<V1ConfigMap>(kc, configMaps(namespace), { logger: testLogger() });
    const controller = await run(informer, {
      metrics: new RuntimeMetrics(registry),
      reconcile: async () => {
        started++;
        await gate;
        finished++;
      },
    });
    await eventually(() => started === 1, { what: 'the reconcile to start' });
    // The worker gauges: one of the controller's two workers is busy while the reconcile runs.
    expect(await count(registry, 'k2k_active_workers', controller)).toBe(1);
    expect(await count(registry, 'k2k_max_concurrent_reconciles', controller)).toBe(2);
    let stopped = false;
    const stopping = controller.stop().then(() => {
      stopped = true;
    });
    // A stop() that did not wait would have resolved by now: nothing it awaits needs a timer or I/O,
    // and every promise chain without one settles before the next setImmediate.
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(finished).toBe(1);
    expect(await count(registry, 'k2k_active_workers', controller)).toBe(0);
    await apply(kc, configMap(namespace, 'slow', { after: 'stop' }));
    // The informer runs its handlers as it caches the update; a stopped controller has no workers
    // left to start a reconcile, and its queue counts no add.
    await eventually(() => informer.get(namespace, 'slow')?.data?.after === 'stop', {
      what: 'the update in the cache',
    });
    expect(started).toBe(1);
    expect(await count(registry, 'k2k_workqueue_adds_total', controller)).toBe(1);
  });
});
