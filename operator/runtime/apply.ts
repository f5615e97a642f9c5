// Server-side apply: the controller states the fields it owns, the API server merges and tracks
// ownership per field manager. One fixed field manager lets every reconcile re-apply the same
// desired object idempotently.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { PatchStrategy } from '@kubernetes/client-node';
import { isNotFound, RuntimeError, RuntimeErrorCode } from './errors.ts';
import type { RuntimeMetrics } from './metrics.ts';
import { discoverResource, kubeRequest, resourcePath } from './rest.ts';
import { upToDate, withAppliedHash } from './uptodate.ts';

export const FIELD_MANAGER = 'k2k-operator';

/** Per client: may it write now? A leader-elected manager registers its elector's isLeader. */
const writeFences = new WeakMap<KubeConfig, () => boolean>();

/**
 * Makes apply and applyStatus through `kc` refuse to write while `mayWrite()` is false, so a
 * leader whose lease may have passed to another replica cannot overwrite the new leader's work.
 */
export function fenceWrites(kc: KubeConfig, mayWrite: () => boolean): void {
  writeFences.set(kc, mayWrite);
}

export interface ApplyOptions {
  fieldManager?: string;
  /** Take over fields another manager owns instead of failing with 409 Conflict (default true, like controllers do). */
  force?: boolean;
  /** The resource's plural name; looked up through discovery when absent. */
  plural?: string;
}

/** Applies `obj` (apiVersion, kind, metadata.name and the fields this manager owns); returns the object as stored. */
export async function apply<T extends KubernetesObject>(
  kc: KubeConfig,
  obj: T,
  opts: ApplyOptions = {},
): Promise<T> {
  return send(kc, obj, undefined, opts);
}

export interface ChildApply<T extends KubernetesObject = KubernetesObject> {
  desired: T;
  /** The child as the informer's cache has it now; undefined when it does not exist. */
  live: T | undefined;
  /** What the desired state's hash is taken of, when `desired` copies parts of `live` (see upToDate). */
  hashed?: KubernetesObject;
}

/**
 * Applies each child whose live copy does not already hold its desired state (uptodate.ts);
 * returns each child as stored (applied) or as cached (skipped), in order. Children within one
 * stage are applied in parallel; stages run one after the other, so a later stage can rely on
 * an earlier one (a Job after the ServiceAccount its pods run as).
 */
export async function applyChildren(
  kc: KubeConfig,
  stages: ChildApply[][],
  metrics?: RuntimeMetrics,
  /** How one child is applied (default: apply); controllers wrap it to classify refusals. */
  applyOne: (kc: KubeConfig, obj: KubernetesObject) => Promise<KubernetesObject> = apply,
): Promise<KubernetesObject[]> {
  const result: KubernetesObject[] = [];
  for (const stage of stages) {
    const stored = await Promise.all(
      stage.map(async ({ desired, live, hashed }) => {
        const fresh = upToDate(desired, live, hashed);
        metrics?.applies.inc({ kind: desired.kind ?? '', result: fresh ? 'unchanged' : 'applied' });
        return fresh ? live! : applyOne(kc, withAppliedHash(desired, hashed));
      }),
    );
    result.push(...stored);
  }
  return result;
}

/**
 * Applies `obj.status` through the /status subresource (status is ignored by the main resource when
 * the subresource is enabled). `obj` needs apiVersion, kind, metadata.name (and namespace) and status.
 */
export async function applyStatus<T extends KubernetesObject>(
  kc: KubeConfig,
  obj: T,
  opts: ApplyOptions = {},
): Promise<T> {
  const { apiVersion, kind, metadata } = obj;
  const status = (obj as { status?: unknown }).status;
  if (status === undefined) {
    throw new RuntimeError(
      RuntimeErrorCode.InvalidObject,
      `applyStatus of ${kind} ${metadata?.name}: status is missing`,
    );
  }
  const body = {
    apiVersion,
    kind,
    metadata: { name: metadata?.name, namespace: metadata?.namespace },
    status,
  };
  return send(kc, body as unknown as T, 'status', opts);
}

/**
 * The stored object that `obj` names (apiVersion, kind, metadata.name and namespace), or undefined
 * when there is none: for looking before applying where no informer caches the kind.
 */
export async function getObject<T extends KubernetesObject>(
  kc: KubeConfig,
  obj: KubernetesObject,
  opts: Pick<ApplyOptions, 'plural'> = {},
): Promise<T | undefined> {
  const path = await pathOf(kc, obj, undefined, opts.plural);
  return kubeRequest<T>(kc, { path }).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });
}

async function send<T extends KubernetesObject>(
  kc: KubeConfig,
  obj: T,
  subresource: string | undefined,
  opts: ApplyOptions,
): Promise<T> {
  const path = await pathOf(kc, obj, subresource, opts.plural);
  // Checked after discovery, as close to the write as possible.
  if (writeFences.get(kc)?.() === false) {
    throw new RuntimeError(
      RuntimeErrorCode.NotLeader,
      `not writing ${obj.kind} ${obj.metadata?.name}${subresource ? ` ${subresource}` : ''}: this replica is not the leader`,
    );
  }
  // An apply body must not carry managedFields; objects copied from the cache do.
  const { managedFields: _managed, ...metadata } = obj.metadata ?? {};
  return kubeRequest<T>(kc, {
    method: 'PATCH',
    path,
    query: { fieldManager: opts.fieldManager ?? FIELD_MANAGER, force: opts.force ?? true },
    body: { ...obj, metadata },
    contentType: PatchStrategy.ServerSideApply,
    // Status tells users what happened: it goes ahead of waiting child applies.
    priority: subresource === 'status' ? 'high' : 'normal',
  });
}

/** The object's URL path, its plural from discovery unless given. */
async function pathOf(
  kc: KubeConfig,
  obj: KubernetesObject,
  subresource: string | undefined,
  knownPlural: string | undefined,
): Promise<string> {
  const { apiVersion, kind } = obj;
  const name = obj.metadata?.name;
  if (!apiVersion || !kind || !name) {
    throw new RuntimeError(
      RuntimeErrorCode.InvalidObject,
      `a request for one object needs apiVersion, kind and metadata.name; got apiVersion=${apiVersion} kind=${kind} name=${name}`,
    );
  }
  const found = knownPlural ? undefined : await discoverResource(kc, apiVersion, kind);
  const plural = knownPlural ?? found!.plural;
  const namespace = obj.metadata?.namespace;
  if (found?.namespaced && !namespace) {
    throw new RuntimeError(
      RuntimeErrorCode.InvalidObject,
      `${kind} ${name} is namespaced: metadata.namespace is missing`,
    );
  }
  return resourcePath({ apiVersion, plural, namespace, name, subresource });
}
