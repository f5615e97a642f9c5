// A throwaway CRD with a status subresource, for tests of status apply and of informers on custom
// resources. It knows nothing about k2k's kinds, on purpose.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { apply } from '../apply.ts';
import { kubeRequest } from '../rest.ts';
import { eventually } from './helpers.ts';

export const WIDGET_GROUP = 'runtime-test.k2k.dev';
export const WIDGET_API_VERSION = `${WIDGET_GROUP}/v1`;
export const widgetRef = (namespace?: string) => ({
  apiVersion: WIDGET_API_VERSION,
  kind: 'Widget',
  plural: 'widgets',
  namespace,
});

export type Widget = KubernetesObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

/** A namespaced CRD of `group`/v1 that keeps whatever spec and status it is given. */
export function throwawayCrd(group: string, kind: string, plural: string) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              },
            },
          },
        },
      ],
    },
  };
}

const crd = throwawayCrd(WIDGET_GROUP, 'Widget', 'widgets');

/** Applies the Widget CRD (idempotent, so parallel test files may all call it) and waits until it is served. */
export async function installWidgetCrd(kc: KubeConfig): Promise<void> {
  await apply(kc, crd);
  await eventually(
    async () => {
      const doc = await kubeRequest<{ resources: Array<{ name: string }> }>(kc, {
        path: `/apis/${WIDGET_API_VERSION}`,
      });
      return doc.resources.some((r) => r.name === 'widgets');
    },
    { what: 'the Widget CRD to be served' },
  );
}
