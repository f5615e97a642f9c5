// Integration tests: a real kube-apiserver (the vitest global setup starts it).
import { Writable } from 'node:stream';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Informer } from './informer.ts';
import { createLogger } from './logger.ts';
import { RuntimeMetrics } from './metrics.ts';
import { scopedRefs } from './scope.ts';
import {
  core,
  eventually,
  freshNamespace,
  kubeConfigVia,
  recordEvents,
  startProxy,
  testKubeConfig,
  testLogger,
} from './testdata/helpers.ts';

// The selector keeps out kube-root-ca.crt, which kube-controller-manager adds to every namespace.
const labels = { 'k2k.dev/test': 'informer' };
const configMaps = (namespace: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  namespace,
  labelSelector: 'k2k.dev/test=informer',
});

describe('Informer', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('lists existing objects, then sees adds, updates and deletes', async () => {
    const kc = testKubeConfig();
    const api = core(kc);
    const namespace = await freshNamespace(kc);
    await api.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'before', labels }, data: { v: '1' } },
    });

    const informer = new Informer<V1ConfigMap>(kc, configMaps(namespace), { logger: testLogger() });
    const events = recordEvents(informer);
    cleanups.push(() => informer.stop());
    await informer.start();
    expect(informer.hasSynced()).toBe(true);
    expect(informer.list().map((o) => o.metadata?.name)).toEqual(['before']);
    expect(informer.get(namespace, 'before')).toMatchObject({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      data: { v: '1' },
    });

    const created = await api.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'a', labels }, data: { v: '1' } },
    });
    await eventually(() => informer.get(namespace, 'a'), { what: 'the add of a' });
    const updated = await api.replaceNamespacedConfigMap({
      name: 'a',
      namespace,
      body: {
        metadata: { name: 'a', labels, resourceVersion: created.metadata?.resourceVersion },
        data: { v: '2' },
      },
    });
    await eventually(() => informer.get(namespace, 'a')?.data?.v === '2', { what: 'the update of a' });
    await api.deleteNamespacedConfigMap({ name: 'a', namespace });
    await eventually(() => informer.get(namespace, 'a') === undefined, { what: 'the delete of a' });

    expect(events.map(({ event, name }) => `${event} ${name}`)).toEqual([
      'add before',
      'add a',
      'update a',
      'delete a',
    ]);
    expect(events[2]).toMatchObject({
      rv: updated.metadata?.resourceVersion,
      oldRv: created.metadata?.resourceVersion,
    });
  });

  it('lists again after its connection breaks and converges without replaying unchanged objects', async () => {
    const kc = testKubeConfig();
    const api = core(kc);
    const namespace = await freshNamespace(kc);
    for (const name of ['keep', 'change', 'remove']) {
      await api.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name, labels }, data: { v: '1' } },
      });
    }
    const proxy = await startProxy(new URL(kc.getCurrentCluster()!.server));
    cleanups.push(() => proxy.close());
    const registry = new Registry();
    const informer = new Informer<V1ConfigMap>(kubeConfigVia(kc, proxy.url), configMaps(namespace), {
      logger: testLogger(),
      metrics: new RuntimeMetrics(registry),
    });
    cleanups.push(() => informer.stop());
    await informer.start();
    const events = recordEvents(informer);
    const metric = async (name: string) =>
      (await registry.getSingleMetric(name)!.get()).values.find(
        (v) => v.labels.resource === informer.resource,
      )?.value;

    await proxy.cut();
    await eventually(async () => (await metric('k2k_informer_healthy')) === 0, {
      what: 'the informer to notice',
    });
    const current = await api.readNamespacedConfigMap({ name: 'change', namespace });
    const changed = await api.replaceNamespacedConfigMap({
      name: 'change',
      namespace,
      body: { ...current, data: { v: '2' } },
    });
    await api.deleteNamespacedConfigMap({ name: 'remove', namespace });
    const added = await api.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'new', labels } },
    });
    await proxy.restore();

    await eventually(() => informer.get(namespace, 'new') && !informer.get(namespace, 'remove'), {
      what: 'the cache to converge',
    });
    const cached = Object.fromEntries(
      informer.list().map((o) => [o.metadata!.name!, o.metadata!.resourceVersion]),
    );
    const real = (await api.listNamespacedConfigMap({ namespace, labelSelector: 'k2k.dev/test=informer' }))
      .items;
    expect(cached).toEqual(
      Object.fromEntries(real.map((o) => [o.metadata!.name!, o.metadata!.resourceVersion])),
    );
    expect(
      events.map(({ event, name, rv }) => ({ event, name, rv })).sort((a, b) => a.name.localeCompare(b.name)),
    ).toEqual([
      { event: 'update', name: 'change', rv: changed.metadata?.resourceVersion },
      { event: 'add', name: 'new', rv: added.metadata?.resourceVersion },
      { event: 'delete', name: 'remove', rv: expect.any(String) },
    ]);
    expect(await metric('k2k_informer_relists_total')).toBeGreaterThanOrEqual(1);
    expect(await metric('k2k_informer_healthy')).toBe(1);
    expect(informer.healthy()).toBe(true);
  });

  it('resumes where it left off when the server ends its watch, without listing again', async () => {
    const kc = testKubeConfig();
    const api = core(kc);
    const namespace = await freshNamespace(kc);
    const registry = new Registry();
    // Counts the informer's "watch ended by the server, resuming" (a debug line) to know when a
    // watch has ended between two changes.
    let resumes = 0;
    const logger = createLogger({
      level: 'debug',
      stream: new Writable({
        write: (chunk, _enc, done) => {
          if (String(chunk).includes('watch ended by the server')) resumes++;
          done();
        },
      }),
    });
    const informer = new Informer<V1ConfigMap>(kc, configMaps(namespace), {
      logger,
      metrics: new RuntimeMetrics(registry),
      watchTimeoutSeconds: 2,
    });
    const events = recordEvents(informer);
    cleanups.push(() => informer.stop());
    await informer.start();
    const pause = async () => {
      const before = resumes;
      await eventually(() => resumes > before, { what: 'the server to end the watch', timeoutMs: 10_000 });
    };
    await api.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'a', labels }, data: { v: '1' } },
    });
    await pause();
    const current = await api.readNamespacedConfigMap({ name: 'a', namespace });
    await api.replaceNamespacedConfigMap({ name: 'a', namespace, body: { ...current, data: { v: '2' } } });
    await pause();
    await api.deleteNamespacedConfigMap({ name: 'a', namespace });
    await eventually(() => events.length === 3, { what: 'three events' });
    expect(events.map(({ event, name }) => `${event} ${name}`)).toEqual(['add a', 'update a', 'delete a']);
    const relists = (await registry.getSingleMetric('k2k_informer_relists_total')!.get()).values;
    expect(relists.reduce((sum, v) => sum + v.value, 0)).toBe(0);
  });

  it('hands every cached object to update handlers again each resync period', async () => {
    const kc = testKubeConfig();
    const namespace = await freshNamespace(kc);
    await core(kc).createNamespacedConfigMap({ namespace, body: { metadata: { name: 'a', labels } } });
    const informer = new Informer<V1ConfigMap>(kc, configMaps(namespace), {
      logger: testLogger(),
      resyncMs: 100,
    });
    const events = recordEvents(informer);
    cleanups.push(() => informer.stop());
    await informer.start();
    await eventually(() => events.filter((e) => e.event === 'update').length >= 2, { what: 'two resyncs' });
    const resync = events.find((e) => e.event === 'update')!;
    expect(resync).toEqual({ event: 'update', name: 'a', rv: resync.oldRv, oldRv: expect.any(String) });
  });

  it('keeps only objects matching its label selector', async () => {
    const kc = testKubeConfig();
    const api = core(kc);
    const namespace = await freshNamespace(kc);
    const informer = new Informer<V1ConfigMap>(
      kc,
      { ...configMaps(namespace), labelSelector: 'team=a' },
      { logger: testLogger() },
    );
    cleanups.push(() => informer.stop());
    await informer.start();
    await api.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'b', labels: { team: 'b' } } },
    });
    await api.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'a', labels: { team: 'a' } } },
    });
    await eventually(() => informer.get(namespace, 'a'), { what: 'the add of a' });
    expect(informer.list().map((o) => o.metadata?.name)).toEqual(['a']);
  });

  it('leaves out the namespaces a scope excludes, watching every other one', async () => {
    const kc = testKubeConfig();
    const api = core(kc);
    const [kept, excluded] = await Promise.all([freshNamespace(kc), freshNamespace(kc)]);
    const mark = { 'k2k.dev/test': `scope-${kept}` };
    const [ref] = scopedRefs(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        plural: 'configmaps',
        labelSelector: `k2k.dev/test=scope-${kept}`,
      },
      { excludedNamespaces: [excluded, 'kube-system'] },
    );
    const informer = new Informer<V1ConfigMap>(kc, ref!, { logger: testLogger() });
    cleanups.push(() => informer.stop());
    await api.createNamespacedConfigMap({
      namespace: excluded,
      body: { metadata: { name: 'listed', labels: mark } },
    });
    await informer.start();
    await api.createNamespacedConfigMap({
      namespace: excluded,
      body: { metadata: { name: 'watched', labels: mark } },
    });
    await api.createNamespacedConfigMap({
      namespace: kept,
      body: { metadata: { name: 'kept', labels: mark } },
    });
    await eventually(() => informer.get(kept, 'kept'), { what: 'the add in the kept namespace' });
    expect(informer.list().map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`)).toEqual([
      `${kept}/kept`,
    ]);
  });

  it('closes a watch that went silent (half-open) and resumes it without losing an event', async () => {
    const kc = testKubeConfig();
    const api = core(kc);
    const namespace = await freshNamespace(kc);
    const proxy = await startProxy(new URL(kc.getCurrentCluster()!.server));
    cleanups.push(() => proxy.close());
    const registry = new Registry();
    const informer = new Informer<V1ConfigMap>(kubeConfigVia(kc, proxy.url), configMaps(namespace), {
      logger: testLogger(),
      metrics: new RuntimeMetrics(registry),
      watchIdleTimeoutMs: 3000,
    });
    cleanups.push(() => informer.stop());
    await informer.start();
    // An event through the watch proves it is open before its connection goes silent.
    await api.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'before', labels } } });
    await eventually(() => informer.get(namespace, 'before'), { what: 'the watch to deliver' });
    const events = recordEvents(informer);
    const restarts = async () =>
      (await registry.getSingleMetric('k2k_informer_watch_idle_restarts_total')!.get()).values.find(
        (v) => v.labels.resource === informer.resource,
      )?.value ?? 0;

    proxy.freeze();
    await api.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'while-silent', labels } } });
    await eventually(() => informer.get(namespace, 'while-silent'), {
      what: 'the event sent into the silent connection',
      timeoutMs: 15_000,
    });
    expect(await restarts()).toBeGreaterThan(0);
    // Resumed from the last resourceVersion, not re-listed: exactly one add, no relist.
    expect(events).toEqual([{ event: 'add', name: 'while-silent', rv: expect.any(String) }]);
    expect(
      (await registry.getSingleMetric('k2k_informer_relists_total')!.get()).values.find(
        (v) => v.labels.resource === informer.resource,
      )?.value ?? 0,
    ).toBe(0);
  });

  it('lists several pages into one complete cache', async () => {
    const kc = testKubeConfig();
    const api = core(kc);
    const namespace = await freshNamespace(kc);
    const names = Array.from({ length: 7 }, (_, i) => `cm-${i}`);
    for (const name of names)
      await api.createNamespacedConfigMap({ namespace, body: { metadata: { name, labels } } });
    const informer = new Informer<V1ConfigMap>(kc, configMaps(namespace), {
      logger: testLogger(),
      pageSize: 3,
    });
    cleanups.push(() => informer.stop());
    await informer.start();
    expect(
      informer
        .list(namespace)
        .map((o) => o.metadata?.name)
        .sort(),
    ).toEqual(names);
  });
});
