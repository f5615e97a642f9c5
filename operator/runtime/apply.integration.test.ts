// Integration tests: a real kube-apiserver (the vitest global setup starts it).
import type { V1ConfigMap } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { apply, applyStatus, FIELD_MANAGER } from './apply.ts';
import { isConflict, RuntimeError, RuntimeErrorCode } from './errors.ts';
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
