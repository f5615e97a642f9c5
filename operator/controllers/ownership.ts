// k2k never adopts an object it did not create. Children have fixed names derived from their
// parent's, so a name can already be taken (a Service `y` someone made before ModelDeployment `y`);
// a forced server-side apply would rewrite it and add our ownerReference, and the garbage collector
// would then delete it with the parent. Before applying, each child is looked up (in the informer
// cache when one holds the kind, else with a GET) and left alone unless this parent is its
// controller.
import type { KubeConfig, KubernetesObject, V1OwnerReference } from '@kubernetes/client-node';
import { API_VERSION, RefusalReason } from '../../api/index.ts';
import { getObject, type ReconcileResult } from '../runtime/index.ts';
import type { Refusal } from './conditions.ts';

export type Ownership = 'absent' | 'ours' | 'foreign';

/**
 * The ownerReference that makes `parent` the controller of a child: garbage collection deletes the
 * child with it, and blockOwnerDeletion keeps the parent until the child is gone (foreground).
 */
export function controllerReference(parent: {
  kind: string;
  metadata: { name?: string; uid?: string };
}): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: parent.kind,
    name: parent.metadata.name!,
    uid: parent.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The ownerReference of `obj`'s controller, if it has one. */
function controllerOf(obj: KubernetesObject) {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** Whose `existing` is: ours only when its controller ownerReference carries the parent's UID. */
export function ownershipOf(existing: KubernetesObject | undefined, parentUID: string): Ownership {
  if (!existing) return 'absent';
  return controllerOf(existing)?.uid === parentUID ? 'ours' : 'foreign';
}

/** The Conflict refusal for a foreign `existing`, saying who controls it when someone does. */
export function conflict(existing: KubernetesObject, parent: KubernetesObject): Refusal {
  const controller = controllerOf(existing);
  const by = controller ? ` (its controller is ${controller.kind} ${controller.name})` : '';
  return {
    reason: RefusalReason.Conflict,
    message:
      `${existing.kind} ${existing.metadata?.name} already exists and is not managed by this ${parent.kind}${by}; ` +
      `k2k does not take over objects it did not create: delete or rename that ${existing.kind}, or give the ${parent.kind} another name`,
  };
}

/** A child as the cache shows it, or undefined when no informer caches its kind (then it is read). */
export type CachedChild = (child: KubernetesObject) => KubernetesObject | undefined;

/**
 * The Conflict refusal for the first of `children` that exists and is not `parent`'s, or
 * undefined when every one is absent or ours. Children found in the cache are not read again.
 */
export async function findConflict(
  kc: KubeConfig,
  parent: KubernetesObject,
  children: readonly KubernetesObject[],
  cached: CachedChild,
): Promise<Refusal | undefined> {
  const uid = parent.metadata!.uid!;
  const existing = await Promise.all(
    children.map(async (child) => cached(child) ?? (await getObject(kc, child))),
  );
  const foreign = existing.find((e) => ownershipOf(e, uid) === 'foreign');
  return foreign ? conflict(foreign, parent) : undefined;
}

/** How often a parent refused for a foreign child looks again: no event says the object went away. */
export const CONFLICT_RECHECK_MS = 30_000;

/** What a reconcile refused with `refusal` returns: a Conflict is checked again later. */
export function recheckAfter(refusal: Refusal | undefined): ReconcileResult {
  return refusal?.reason === RefusalReason.Conflict ? { requeueAfterMs: CONFLICT_RECHECK_MS } : undefined;
}
