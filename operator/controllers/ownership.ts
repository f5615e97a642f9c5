// k2k never adopts an object it did not create. Children have fixed names derived from their
// parent's, so a name can already be taken (a Service `y` someone made before ModelDeployment `y`);
// a forced server-side apply would rewrite it and add our ownerReference, and the garbage collector
// would then delete it with the parent. A child the caches hold is applied only when this parent
// is its controller; a child they do not hold is created, never applied, and a name already taken
// is read and left alone unless this parent is its controller (createOrRead, ADR 0031).
import type { KubernetesObject, V1OwnerReference } from '@kubernetes/client-node';
import { API_VERSION, RefusalReason } from '../../api/index.ts';
import { ForeignObjectError, type ReconcileResult } from '../runtime/index.ts';
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

/** A child as a cache (or a read made this pass) shows it; undefined when none holds it. */
export type CachedChild = (child: KubernetesObject) => KubernetesObject | undefined;

/**
 * The Conflict refusal for the first of `children` that a cache holds and `parent` does not own,
 * or undefined. Children no cache holds are checked when they are created (applyChildren).
 */
export function cachedConflict(
  parent: KubernetesObject,
  children: readonly KubernetesObject[],
  cached: CachedChild,
): Refusal | undefined {
  const uid = parent.metadata!.uid!;
  const foreign = children.map(cached).find((e) => ownershipOf(e, uid) === 'foreign');
  return foreign ? conflict(foreign, parent) : undefined;
}

/** Whether an object found under a child's name is `parent`'s: what applyChildren's `owns` asks. */
export function ownedBy(parent: KubernetesObject): (existing: KubernetesObject) => boolean {
  const uid = parent.metadata!.uid!;
  return (existing) => ownershipOf(existing, uid) === 'ours';
}

/** The Conflict refusal when `err` says a child's name is taken by a foreign object, else undefined. */
export function conflictOf(err: unknown, parent: KubernetesObject): Refusal | undefined {
  return err instanceof ForeignObjectError ? conflict(err.existing, parent) : undefined;
}

/** How often a parent refused for a foreign child looks again: no event says the object went away. */
export const CONFLICT_RECHECK_MS = 30_000;

/** What a reconcile refused with `refusal` returns: a Conflict is checked again later. */
export function recheckAfter(refusal: Refusal | undefined): ReconcileResult {
  return refusal?.reason === RefusalReason.Conflict ? { requeueAfterMs: CONFLICT_RECHECK_MS } : undefined;
}
