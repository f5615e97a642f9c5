// Which namespaces a manager's informers see. Cluster-wide (optionally leaving some namespaces out
// with a field selector, so their objects never reach a cache or a reconcile), or only the listed
// namespaces, with one informer per namespace: then the operator needs no cluster-wide list or
// watch, and its RBAC can be Roles in those namespaces instead of a ClusterRole.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Informer, ResourceRef } from './informer.ts';

export interface NamespaceScope {
  /** Watch only these namespaces. Empty or unset: every namespace. */
  namespaces?: readonly string[];
  /** When watching every namespace, leave these out (ignored when `namespaces` are listed). */
  excludedNamespaces?: readonly string[];
}

/** The refs that cover `scope`: one per listed namespace, else one cluster-wide ref. */
export function scopedRefs(ref: Omit<ResourceRef, 'namespace'>, scope: NamespaceScope = {}): ResourceRef[] {
  if (scope.namespaces?.length) return scope.namespaces.map((namespace) => ({ ...ref, namespace }));
  const excluded = scope.excludedNamespaces ?? [];
  if (excluded.length === 0) return [{ ...ref }];
  const notIn = excluded.map((ns) => `metadata.namespace!=${ns}`);
  return [{ ...ref, fieldSelector: [ref.fieldSelector, ...notIn].filter(Boolean).join(',') }];
}

/** What a controller needs from the informers of one resource: events, sync and the cached objects. */
export type Source<T extends KubernetesObject> = Pick<Informer<T>, 'on' | 'waitForSync' | 'list' | 'get'>;

/** The informers of one resource across a scope, read and watched as one. */
export class InformerSet<T extends KubernetesObject> implements Source<T> {
  constructor(readonly informers: readonly Informer<T>[]) {}

  on(...args: Parameters<Informer<T>['on']>): void {
    for (const i of this.informers) i.on(...args);
  }

  async waitForSync(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.waitForSync()));
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.informerOf(namespace)?.get(namespace, name);
  }

  list(namespace?: string): T[] {
    if (namespace !== undefined) return this.informerOf(namespace)?.list(namespace) ?? [];
    return this.informers.flatMap((i) => i.list());
  }

  /** The informer that holds `namespace`: its own, or the one cluster-wide informer. */
  private informerOf(namespace: string | undefined): Informer<T> | undefined {
    return this.informers.find((i) => i.ref.namespace === undefined || i.ref.namespace === namespace);
  }
}
