// Integration tests: a real kube-apiserver (the vitest global setup starts it).
import type { V1ConfigMap } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { apply, applyChildren, applyStatus, type ChildApply, FIELD_MANAGER } from './apply.ts';
import { ForeignObjectError, isConflict, isNotFound, RuntimeError, RuntimeErrorCode } from './errors.ts';
import { kubeRequest, resourcePath } from './rest.ts';
import { core, freshNamespace, testKubeConfig } from './testdata/helpers.ts';
import { installWidgetCrd, WIDGET_API_VERSION, type Widget } from './testdata/widget-crd.ts';

const configMap = (namespace: string, data: Record<string, string>): V1ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'applied', namespace },
  data,
});

describe('server-side apply', () => {
  const kc = testKubeConfig();
  beforeAll(() => installWidgetCrd(kc));

  it('creates an object and leaves it untouched when the same object is applied again', async () => {
    const namespace = await freshNamespace(kc);
    const first = await apply(kc, configMap(namespace, { a: '1' }));
    const second = await apply(kc, configMap(namespace, { a: '1' }));
    expect(first.data).toEqual({ a: '1' });
    expect(second.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
    const stored = await core(kc).readNamespacedConfigMap({ name: 'applied', namespace });
    expect(stored.metadata?.managedFields?.map((f) => [f.manager, f.operation])).toEqual([
      [FIELD_MANAGER, 'Apply'],
    ]);
  });

  it('updates the fields it applies and removes the ones it no longer applies', async () => {
    const namespace = await freshNamespace(kc);
    await apply(kc, configMap(namespace, { a: '1', b: '1' }));
    const updated = await apply(kc, configMap(namespace, { a: '2' }));
    expect(updated.data).toEqual({ a: '2' });
  });

  it('takes over a field another manager set, unless force is off', async () => {
    const namespace = await freshNamespace(kc);
    await apply(kc, configMap(namespace, { a: 'theirs' }), { fieldManager: 'someone-else' });
    const refused = await apply(kc, configMap(namespace, { a: 'ours' }), { force: false }).catch(
      (e: unknown) => e,
    );
    expect(isConflict(refused)).toBe(true);
    const taken = await apply(kc, configMap(namespace, { a: 'ours' }));
    expect(taken.data).toEqual({ a: 'ours' });
  });

  it('applies a cluster-scoped object', async () => {
    const name = `k2k-runtime-test-${process.pid}-${Date.now()}`;
    const ns = await apply(kc, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { a: 'b' } },
    });
    expect(ns.metadata).toMatchObject({ name, labels: { a: 'b' } });
  });

  it('strips managedFields, so an object read back can be applied again', async () => {
    const namespace = await freshNamespace(kc);
    const stored = await apply(kc, configMap(namespace, { a: '1' }));
    expect(stored.metadata?.managedFields?.length).toBeGreaterThan(0);
    const again = await apply(kc, { ...stored, data: { a: '2' } });
    expect(again.data).toEqual({ a: '2' });
  });

  it('applies status through the status subresource without touching spec', async () => {
    const namespace = await freshNamespace(kc);
    const widget: Widget = {
      apiVersion: WIDGET_API_VERSION,
      kind: 'Widget',
      metadata: { name: 'w', namespace },
      spec: { size: 3 },
      // Ignored on the main resource, because the CRD has a status subresource.
      status: { phase: 'Ignored' },
    };
    const created = await apply(kc, widget);
    expect(created.status).toBeUndefined();
    const withStatus = await applyStatus(kc, { ...widget, spec: { size: 99 }, status: { phase: 'Ready' } });
    expect(withStatus.status).toEqual({ phase: 'Ready' });
    expect(withStatus.spec).toEqual({ size: 3 });
    const again = await applyStatus(kc, { ...widget, status: { phase: 'Ready' } }, { plural: 'widgets' });
    expect(again.metadata?.resourceVersion).toBe(withStatus.metadata?.resourceVersion);
    const read = await kubeRequest<Widget>(kc, {
      path: resourcePath({ apiVersion: WIDGET_API_VERSION, plural: 'widgets', namespace, name: 'w' }),
    });
    expect(read).toMatchObject({ spec: { size: 3 }, status: { phase: 'Ready' } });
  });

  const invalid = [
    {
      name: 'refuses an object without a name, naming the field',
      call: () => apply(kc, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'default' } }),
      code: RuntimeErrorCode.InvalidObject,
      message: /metadata.name/,
    },
    {
      name: 'refuses a namespaced object without a namespace',
      call: () => apply(kc, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }),
      code: RuntimeErrorCode.InvalidObject,
      message: /metadata.namespace/,
    },
    {
      name: 'refuses a kind the API server does not serve',
      call: () =>
        apply(kc, { apiVersion: 'v1', kind: 'Gadget', metadata: { name: 'x', namespace: 'default' } }),
      code: RuntimeErrorCode.UnknownResource,
      message: /Gadget/,
    },
    {
      name: 'refuses a status apply without status',
      call: () =>
        applyStatus(kc, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'x', namespace: 'default' },
        }),
      code: RuntimeErrorCode.InvalidObject,
      message: /status is missing/,
    },
  ];
  for (const c of invalid) {
    it(c.name, async () => {
      const err = await c.call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RuntimeError);
      expect(err).toMatchObject({ code: c.code, message: expect.stringMatching(c.message) });
    });
  }
});

describe('applying children no cache holds (create first)', () => {
  const kc = testKubeConfig();

  /** A parent ConfigMap and a child ConfigMap it controls, as a controller would build them. */
  async function family(namespace: string) {
    const parent = await apply(kc, configMap(namespace, { role: 'parent' }));
    const child = (data: Record<string, string>): V1ConfigMap => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'child',
        namespace,
        ownerReferences: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            name: 'applied',
            uid: parent.metadata!.uid!,
            controller: true,
          },
        ],
      },
      data,
    });
    const owns = (o: { metadata?: { ownerReferences?: { uid: string; controller?: boolean }[] } }) =>
      o.metadata?.ownerReferences?.some((r) => r.controller && r.uid === parent.metadata!.uid) ?? false;
    const read = () => core(kc).readNamespacedConfigMap({ name: 'child', namespace });
    const applyOne = (desired: V1ConfigMap, live?: V1ConfigMap) =>
      applyChildren(kc, [[{ desired, live } as ChildApply]], { owns });
    return { child, owns, read, applyOne };
  }

  it('creates a missing child with one create, owned by this manager’s Apply entry once it is applied again', async () => {
    const namespace = await freshNamespace(kc);
    const { child, read, applyOne } = await family(namespace);
    const [created] = await applyOne(child({ a: '1', b: '1' }));
    expect(created!.metadata?.managedFields?.map((f) => [f.manager, f.operation])).toEqual([
      [FIELD_MANAGER, 'Update'],
    ]);
    // The desired state drops b: an apply must remove it although the create set it.
    await applyOne(child({ a: '2' }), (await read()) as V1ConfigMap);
    const stored = await read();
    expect(stored.data).toEqual({ a: '2' });
    expect(stored.metadata?.managedFields?.map((f) => [f.manager, f.operation])).toEqual([
      [FIELD_MANAGER, 'Apply'],
    ]);
  });

  it('refuses, unchanged, a foreign object that took the name after the cache was read', async () => {
    const namespace = await freshNamespace(kc);
    const { child, read, applyOne } = await family(namespace);
    // Someone else's object appears between the cache miss (live: undefined) and the create.
    await apply(
      kc,
      { ...child({ theirs: 'yes' }), metadata: { name: 'child', namespace } },
      { fieldManager: 'someone' },
    );
    const before = await read();
    const err = await applyOne(child({ a: '1' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForeignObjectError);
    expect((err as ForeignObjectError).existing.metadata?.name).toBe('child');
    const after = await read();
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(after.metadata?.ownerReferences).toBeUndefined();
    expect(after.data).toEqual({ theirs: 'yes' });
  });

  it('does not write a later stage once a stage found a foreign object', async () => {
    const namespace = await freshNamespace(kc);
    const { child, owns } = await family(namespace);
    await apply(kc, { ...child({}), metadata: { name: 'child', namespace } }, { fieldManager: 'someone' });
    const later: V1ConfigMap = { ...child({ a: '1' }), metadata: { ...child({}).metadata, name: 'later' } };
    const err = await applyChildren(
      kc,
      [[{ desired: child({ a: '1' }), live: undefined }], [{ desired: later, live: undefined }]],
      {
        owns,
      },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForeignObjectError);
    const found = await core(kc)
      .readNamespacedConfigMap({ name: 'later', namespace })
      .catch((e: unknown) => e);
    expect(isNotFound(found)).toBe(true);
  });

  it('leaves one child when two passes create it at once, and writes nothing for one that is ours and current', async () => {
    const namespace = await freshNamespace(kc);
    const { child, read, applyOne } = await family(namespace);
    const both = await Promise.all([applyOne(child({ a: '1' })), applyOne(child({ a: '1' }))]);
    expect(both.map(([c]) => c!.metadata?.uid)).toEqual([
      both[0]![0]!.metadata?.uid,
      both[0]![0]!.metadata?.uid,
    ]);
    const once = await read();
    // Uncached again (the watch lags): found to be ours and current, so not written.
    await applyOne(child({ a: '1' }));
    expect((await read()).metadata?.resourceVersion).toBe(once.metadata?.resourceVersion);
    const all = await core(kc).listNamespacedConfigMap({ namespace });
    expect(all.items.filter((c) => c.metadata?.name === 'child')).toHaveLength(1);
  });
});
