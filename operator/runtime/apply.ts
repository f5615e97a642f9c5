// Server-side apply: the controller states the fields it owns, the API server merges and tracks
// ownership per field manager. One fixed field manager lets every reconcile re-apply the same
// desired object idempotently.
//
// A child no cache holds is created with a plain POST instead (createOrRead): a create cannot take
// over an object someone else made, so the parent's ownership needs no read before it, and a new
// parent's first reconcile costs one request per child (ADR 0031).
import type { KubernetesObject, V1ManagedFieldsEntry } from '@kubernetes/client-node';
import { ForeignObjectError, isConflict, isNotFound, RuntimeError, RuntimeErrorCode } from './errors.ts';
import type { RuntimeMetrics } from './metrics.ts';
import type { KubeConfig } from './rest.ts';
import { discoverResource, kubeRequest, resourcePath } from './rest.ts';
import { upToDate, withAppliedHash } from './uptodate.ts';

const APPLY_PATCH = 'application/apply-patch+yaml';

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

export interface ApplyChildrenOptions {
  metrics?: RuntimeMetrics;
  /**
   * Whether an object found under a child's name is the parent's. A child no cache holds is
   * created; when its name is taken, the object there is read and handed to `owns`: only the
   * parent's is applied, any other fails the stage with ForeignObjectError.
   */
  owns: (existing: KubernetesObject) => boolean;
  /** What a failed write of `child` is reported as (controllers classify refusals). */
  classifyError?: (err: unknown, child: KubernetesObject) => Error;
}

/**
 * Writes each child whose live copy does not already hold its desired state (uptodate.ts):
 * creates the ones without a live copy (createOrRead), applies the changed ones, skips the rest.
 * Returns each child as stored (written) or as cached (skipped), in order. Children within one
 * stage are written in parallel; stages run one after the other, so a later stage can rely on an
 * earlier one (a Job after the ServiceAccount its pods run as) and is not written at all when an
 * earlier one failed or found a foreign object.
 */
export async function applyChildren(
  kc: KubeConfig,
  stages: ChildApply[][],
  opts: ApplyChildrenOptions,
): Promise<KubernetesObject[]> {
  const result: KubernetesObject[] = [];
  // `applied` counts every write, a create too (ADR 0016's applied | unchanged split).
  const count = (child: KubernetesObject, outcome: 'unchanged' | 'applied') =>
    opts.metrics?.applies.inc({ kind: child.kind ?? '', result: outcome });
  const write = async <R>(child: KubernetesObject, send: () => Promise<R>): Promise<R> => {
    try {
      return await send();
    } catch (err) {
      if (err instanceof ForeignObjectError || !opts.classifyError) throw err;
      throw opts.classifyError(err, child);
    }
  };
  const one = async ({ desired, live, hashed }: ChildApply): Promise<KubernetesObject> => {
    let current = live;
    if (!current) {
      const found = await write(desired, () => createOrRead(kc, withAppliedHash(desired, hashed), opts.owns));
      if (found.created) {
        count(desired, 'applied');
        return found.stored;
      }
      // Ours already (created by an earlier pass the cache has not seen yet): go on as if cached.
      current = found.stored;
    }
    if (upToDate(desired, current, hashed)) {
      count(desired, 'unchanged');
      return current;
    }
    count(desired, 'applied');
    return write(desired, () => apply(kc, withAppliedHash(desired, hashed)));
  };
  for (const stage of stages) result.push(...(await Promise.all(stage.map(one))));
  return result;
}

/**
 * Creates `obj` unless its name is taken; then reads what is there and returns it when `owns`
 * says it is the caller's, else throws ForeignObjectError. A create never changes someone else's
 * object, so a foreign object made at any moment before it, even after the caller's cache was
 * read, is refused rather than adopted.
 */
export async function createOrRead<T extends KubernetesObject>(
  kc: KubeConfig,
  obj: T,
  owns: (existing: KubernetesObject) => boolean,
  opts: ApplyOptions = {},
): Promise<{ stored: T; created: boolean }> {
  try {
    return { stored: await create(kc, obj, opts), created: true };
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
  const existing = await getObject<T>(kc, obj, opts);
  if (!existing) {
    // Deleted between the create and the read (garbage collection of an earlier owner, say).
    throw new RuntimeError(
      RuntimeErrorCode.ObjectVanished,
      `${obj.kind} ${obj.metadata?.name} existed when it was created and was gone when it was read; trying again`,
    );
  }
  if (!owns(existing)) throw new ForeignObjectError(existing);
  return { stored: existing, created: false };
}

/** Creates `obj` (POST): 409 AlreadyExists when its name is taken, whoever holds it. */
export async function create<T extends KubernetesObject>(
  kc: KubeConfig,
  obj: T,
  opts: ApplyOptions = {},
): Promise<T> {
  const path = await pathOf(kc, obj, undefined, opts.plural);
  assertMayWrite(kc, obj);
  return kubeRequest<T>(kc, {
    method: 'POST',
    path: path.slice(0, path.lastIndexOf('/')),
    query: { fieldManager: opts.fieldManager ?? FIELD_MANAGER },
    body: withoutManagedFields(obj),
  });
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
  folded = false,
): Promise<T> {
  const path = await pathOf(kc, obj, subresource, opts.plural);
  assertMayWrite(kc, obj, subresource);
  const fieldManager = opts.fieldManager ?? FIELD_MANAGER;
  const stored = await kubeRequest<T>(kc, {
    method: 'PATCH',
    path,
    query: { fieldManager, force: opts.force ?? true },
    body: withoutManagedFields(obj),
    contentType: APPLY_PATCH,
    // Status tells users what happened: it goes ahead of waiting child applies.
    priority: subresource === 'status' ? 'high' : 'normal',
  });
  if (subresource || folded || !createdEntries(stored, fieldManager).length) return stored;
  // Created with a POST (createOrRead), the object's fields are also owned by this manager's
  // Update entry, and a field an apply leaves out is removed only when no entry owns it. Fold the
  // Update entry into the Apply entry once, then apply again, so dropped fields go (ADR 0031).
  let current: KubernetesObject = stored;
  for (let attempt = 1; ; attempt++) {
    try {
      await foldCreateIntoApply(kc, path, current, fieldManager);
      break;
    } catch (err) {
      // Another writer (a Deployment's controller updating its status, say) moved the object on
      // between the apply and the fold: fold what is there now rather than fail the pass.
      const tested = current.metadata?.resourceVersion;
      current = await kubeRequest<KubernetesObject>(kc, { method: 'GET', path });
      if (attempt === 3 || current.metadata?.resourceVersion === tested) throw err;
      if (!createdEntries(current, fieldManager).length) break;
    }
  }
  return send(kc, obj, subresource, opts, true);
}

/** The Update entries `fieldManager` has on the object itself (not a subresource): its create. */
function createdEntries(obj: KubernetesObject, fieldManager: string): V1ManagedFieldsEntry[] {
  return (obj.metadata?.managedFields ?? []).filter(
    (e) => e.manager === fieldManager && e.operation === 'Update' && !e.subresource,
  );
}

/**
 * Rewrites `stored`'s managedFields so that `fieldManager`'s Apply entry owns what its Update
 * entries owned and those entries are gone (kubectl's csaupgrade does the same for client-side
 * apply). The test on resourceVersion makes it fail if anything wrote the object in between;
 * send() then folds the newer version (a few times at most).
 */
async function foldCreateIntoApply(
  kc: KubeConfig,
  path: string,
  stored: KubernetesObject,
  fieldManager: string,
): Promise<void> {
  const entries = stored.metadata?.managedFields ?? [];
  const created = createdEntries(stored, fieldManager);
  const managedFields = entries
    .filter((e) => !created.includes(e))
    .map((e) =>
      e.manager === fieldManager && e.operation === 'Apply' && !e.subresource
        ? { ...e, fieldsV1: created.reduce((fields, c) => mergeFields(fields, c.fieldsV1), e.fieldsV1) }
        : e,
    );
  await kubeRequest(kc, {
    method: 'PATCH',
    path,
    body: [
      { op: 'test', path: '/metadata/resourceVersion', value: stored.metadata?.resourceVersion },
      { op: 'replace', path: '/metadata/managedFields', value: managedFields },
    ],
    contentType: 'application/json-patch+json',
  });
}

/** The union of two FieldsV1 sets (nested objects whose keys name fields; leaves are {}). */
function mergeFields(a: unknown, b: unknown): unknown {
  if (!isRecord(a) || !isRecord(b)) return a ?? b;
  const merged: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) merged[k] = k in a ? mergeFields(a[k], v) : v;
  return merged;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Throws NotLeader while the client's fence says this replica must not write (fenceWrites). */
function assertMayWrite(kc: KubeConfig, obj: KubernetesObject, subresource?: string): void {
  // Checked after discovery, as close to the write as possible.
  if (writeFences.get(kc)?.() === false) {
    throw new RuntimeError(
      RuntimeErrorCode.NotLeader,
      `not writing ${obj.kind} ${obj.metadata?.name}${subresource ? ` ${subresource}` : ''}: this replica is not the leader`,
    );
  }
}

/** A write body must not carry managedFields; objects copied from the cache do. */
function withoutManagedFields<T extends KubernetesObject>(obj: T): T {
  const { managedFields: _managed, ...metadata } = obj.metadata ?? {};
  return { ...obj, metadata };
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
