// Integration tests: a real kube-apiserver (the vitest global setup starts it).
import { afterEach, describe, expect, it } from 'vitest';
import { Controller } from './controller.ts';
import { Manager, type ManagerOptions } from './manager.ts';
import { kubeRequest, resourcePath } from './rest.ts';
import {
  eventually,
  freshNamespace,
  kubeConfigVia,
  startProxy,
  testKubeConfig,
  testLogger,
} from './testdata/helpers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const configMaps = (namespace: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  namespace,
});

async function get(m: Manager, path: string): Promise<{ status: number; body: string; type: string | null }> {
  const a = m.address()!;
  const res = await fetch(`http://${a.host}:${a.port}${path}`);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}

describe('Manager', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function manager(opts: Partial<ManagerOptions> = {}): Manager {
    const m = new Manager({
      kubeConfig: testKubeConfig(),
      logger: testLogger(),
      probeAddress: '127.0.0.1:0',
      handleSignals: false,
      leaderElection: false,
      ...opts,
    });
    cleanups.push(() => m.stop());
    return m;
  }

  it('counts its requests to the API server by method and status code, refusals included', async () => {
    const kc = testKubeConfig();
    const namespace = await freshNamespace(kc);
    const m = manager({ kubeConfig: kc });
    const counted = async (method: string, code: string) =>
      (await m.registry.getSingleMetric('k2k_rest_client_requests_total')!.get()).values.find(
        (v) => v.labels.method === method && v.labels.code === code,
      )?.value ?? 0;
    const path = (name?: string) => resourcePath({ ...configMaps(namespace), ...(name ? { name } : {}) });
    await kubeRequest(kc, { path: path() });
    await expect(kubeRequest(kc, { path: path('missing') })).rejects.toThrow(/404/);
    await kubeRequest(kc, { method: 'POST', path: path(), body: { metadata: { name: 'counted' } } });
    expect([await counted('GET', '200'), await counted('GET', '404'), await counted('POST', '201')]).toEqual([
      1, 1, 1,
    ]);
  });

  it('serves /healthz, /readyz and /metrics on one port on 127.0.0.1', async () => {
    const namespace = await freshNamespace(testKubeConfig());
    const m = manager();
    const seen: string[] = [];
    m.add(
      new Controller({
        name: 'probe-test',
        logger: testLogger(),
        reconcile: async (key) => void seen.push(key),
      }).watches(m.informer(configMaps(namespace))),
    );
    await m.start();
    expect(m.address()).toMatchObject({ host: '127.0.0.1', port: expect.any(Number) });
    await eventually(async () => (await get(m, '/readyz')).status === 200, { what: '/readyz to say ready' });
    expect(await get(m, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    await eventually(() => seen.length > 0, { what: 'a reconcile' });

    const metrics = await get(m, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.type).toContain('text/plain');
    expect(metrics.body).toContain(`k2k_informer_healthy{resource="${namespace}/configmaps"} 1`);
    expect(metrics.body).toMatch(/k2k_reconcile_total\{controller="probe-test",result="success"\} [1-9]/);
    expect(metrics.body).toContain('k2k_workqueue_depth{name="probe-test"}');
    expect((await get(m, '/nothing')).status).toBe(404);
  });

  it('is not ready while an informer cannot list', async () => {
    const m = manager({ informerOptions: { stuckAfterMs: 300 } });
    m.informer({ apiVersion: 'runtime-test.k2k.dev/v1', kind: 'Nothing', plural: 'nothings' });
    await m.start();
    const ready = await get(m, '/readyz');
    expect(ready).toMatchObject({
      status: 503,
      body: expect.stringContaining('nothings.runtime-test.k2k.dev'),
    });
  });

  it('stays live through an API server outage, and says so on /readyz instead', async () => {
    const kc = testKubeConfig();
    const namespace = await freshNamespace(kc);
    const proxy = await startProxy(new URL(kc.getCurrentCluster()!.server));
    cleanups.push(() => proxy.close());
    const m = manager({ kubeConfig: kubeConfigVia(kc, proxy.url), informerOptions: { stuckAfterMs: 300 } });
    m.informer(configMaps(namespace));
    await m.start();
    await eventually(async () => (await get(m, '/readyz')).status === 200, { what: '/readyz' });

    await proxy.cut();
    await eventually(async () => (await get(m, '/readyz')).status === 503, { what: '/readyz to fail' });
    expect((await get(m, '/readyz')).body).toContain(`informers failing: ${namespace}/configmaps`);
    // Well past stuckAfterMs: the old /healthz failed here and restarted every replica.
    await sleep(1000);
    expect(await get(m, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });

    await proxy.restore();
    await eventually(async () => (await get(m, '/readyz')).status === 200, {
      what: '/readyz once the API server is back',
    });
  });

  it('fails /healthz while a reconcile is wedged, and recovers when it returns', async () => {
    const namespace = await freshNamespace(testKubeConfig());
    const m = manager({ reconcileStuckAfterMs: 300 });
    let release = () => {};
    const wedged = new Promise<void>((resolve) => {
      release = resolve;
    });
    m.add(
      new Controller({
        name: 'wedge-test',
        logger: testLogger(),
        reconcile: () => wedged,
      }).watches(m.informer(configMaps(namespace))),
    );
    await m.start();
    await eventually(async () => (await get(m, '/healthz')).status === 500, { what: '/healthz to fail' });
    expect((await get(m, '/healthz')).body).toMatch(
      new RegExp(`reconciles stuck: wedge-test ${namespace}/kube-root-ca.crt \\(\\d+s\\)`),
    );
    release();
    await eventually(async () => (await get(m, '/healthz')).status === 200, { what: '/healthz to recover' });
  });

  it('shares one informer per resource', () => {
    const m = manager();
    expect(m.informer(configMaps('a'))).toBe(m.informer(configMaps('a')));
    expect(m.informer(configMaps('a'))).not.toBe(m.informer(configMaps('b')));
    expect(m.informer(configMaps('a'))).not.toBe(m.informer({ ...configMaps('a'), labelSelector: 'x=y' }));
  });

  it('runs controllers only in the leader, and in the other manager once the leader stops', async () => {
    const namespace = await freshNamespace(testKubeConfig());
    const reconciles: Record<string, number> = { one: 0, two: 0 };
    const managers = (['one', 'two'] as const).map((identity) => {
      const m = manager({
        leaderElection: {
          namespace,
          name: 'manager-test',
          identity,
          leaseDurationSeconds: 3,
          renewDeadlineSeconds: 2,
          retryPeriodSeconds: 0.5,
        },
      });
      m.add(
        new Controller({
          name: `leader-test-${identity}`,
          logger: testLogger(),
          reconcile: async () => {
            reconciles[identity]!++;
          },
        }).watches(m.informer(configMaps(namespace))),
      );
      return { identity, m };
    });
    await Promise.all(managers.map(({ m }) => m.start()));
    // Both have warm caches, so both are ready; only the leader reconciles (kube-root-ca.crt).
    for (const { m } of managers) {
      await eventually(async () => (await get(m, '/readyz')).status === 200, { what: '/readyz' });
    }
    const leader = await eventually(() => managers.find(({ identity }) => reconciles[identity]! > 0), {
      what: 'a leader to reconcile',
    });
    const follower = managers.find((x) => x !== leader)!;
    expect(reconciles[follower.identity]).toBe(0);
    await leader.m.stop();
    await eventually(() => reconciles[follower.identity]! > 0, { what: 'the other manager to take over' });
  });
});
