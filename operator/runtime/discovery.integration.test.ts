// KindDiscovery against a real kube-apiserver: a CRD installed after the first answer is noticed,
// one removed too, and an API server that cannot be reached does not make kinds disappear.
import { afterEach, describe, expect, it } from 'vitest';
import { apply } from './apply.ts';
import { type Availability, KindDiscovery } from './discovery.ts';
import { kubeRequest } from './rest.ts';
import { eventually, kubeConfigVia, startProxy, testKubeConfig } from './testdata/helpers.ts';
import { throwawayCrd } from './testdata/widget-crd.ts';

// A group of its own: no other test file installs or removes it.
const GROUP = 'discovery-test.k2k.dev';
const crd = throwawayCrd(GROUP, 'Gadget', 'gadgets');

describe('KindDiscovery', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('notices a CRD installed after its first answer and removed later, and says so once each time', async () => {
    const kc = testKubeConfig();
    const discovery = new KindDiscovery(kc, `${GROUP}/v1`, ['Gadget'], { intervalMs: 200 });
    cleanups.push(() => discovery.stop());
    expect(await discovery.current()).toEqual({ state: 'missing' });
    const changes: Availability[] = [];
    discovery.start((now) => changes.push(now));

    await apply(kc, crd);
    await eventually(() => changes.length === 1, { what: 'the CRD to be discovered' });
    expect(changes).toEqual([{ state: 'served' }]);
    expect(await discovery.current()).toEqual({ state: 'served' });

    await kubeRequest(kc, {
      method: 'DELETE',
      path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
    });
    await eventually(() => changes.length === 2, { what: 'the removal to be discovered', timeoutMs: 60_000 });
    expect(changes[1]).toEqual({ state: 'missing' });
  });

  it('keeps its last answer while the API server cannot be reached, and says unknown when it never had one', async () => {
    const kc = testKubeConfig();
    const proxy = await startProxy(new URL(kc.getCurrentCluster()!.server));
    cleanups.push(() => proxy.close());
    const via = kubeConfigVia(kc, proxy.url);
    const served = new KindDiscovery(via, 'v1', ['ConfigMap'], { intervalMs: 100, timeoutMs: 1_000 });
    cleanups.push(() => served.stop());
    expect(await served.current()).toEqual({ state: 'served' });
    const changes: Availability[] = [];
    served.start((now) => changes.push(now));
    await proxy.cut();
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await served.current()).toEqual({ state: 'served' });
    expect(changes).toEqual([]);

    const never = new KindDiscovery(via, 'v1', ['ConfigMap'], { timeoutMs: 1_000 });
    expect(await never.current()).toMatchObject({ state: 'unknown' });
  });
});
