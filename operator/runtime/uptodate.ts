// Whether a child needs applying. Re-applying an unchanged object is a no-op for etcd but still a
// PATCH the API server must decode, merge and diff; at 1,000 TrainingJobs, every trainer epoch and
// every status write re-applied four children. A child is skipped only when both hold:
//
// - its live copy carries the hash of exactly this desired object (APPLIED_HASH_ANNOTATION), so a
//   field k2k stopped setting is still removed by the next apply, and
// - every field of the desired object has that value in the live copy (from the informer's
//   cache), so a child someone else changed is applied again. Fields k2k does not set (labels
//   added by others, defaults, status) are not compared.
import { createHash } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';

export const APPLIED_HASH_ANNOTATION = 'k2k.dev/applied-hash';

/** A short, stable hash of what an object asks for (key order does not matter). */
export function desiredHash(obj: KubernetesObject): string {
  return createHash('sha256').update(canonicalJSON(obj)).digest('hex').slice(0, 20);
}

/** `obj` carrying the hash of `hashed` (default: of `obj` itself) in its annotations. */
export function withAppliedHash<T extends KubernetesObject>(obj: T, hashed: KubernetesObject = obj): T {
  const metadata = obj.metadata ?? {};
  return {
    ...obj,
    metadata: {
      ...metadata,
      annotations: { ...metadata.annotations, [APPLIED_HASH_ANNOTATION]: desiredHash(hashed) },
    },
  };
}

/**
 * True when applying `desired` to `live` would change nothing k2k owns. `hashed` is what the
 * hash was taken of, when the applied object carries parts copied from the live one (a Job's
 * immutable pod template).
 */
export function upToDate(
  desired: KubernetesObject,
  live: KubernetesObject | undefined,
  hashed: KubernetesObject = desired,
): boolean {
  if (!live) return false;
  if (live.metadata?.annotations?.[APPLIED_HASH_ANNOTATION] !== desiredHash(hashed)) return false;
  return holds(live, desired);
}

/** Every value `want` sets is in `have`; lists must match element by element. */
function holds(have: unknown, want: unknown): boolean {
  if (want === undefined) return true;
  if (Array.isArray(want)) {
    if (want.length === 0) return have === undefined || (Array.isArray(have) && have.length === 0);
    return Array.isArray(have) && have.length === want.length && want.every((w, i) => holds(have[i], w));
  }
  if (want !== null && typeof want === 'object') {
    if (have === undefined && Object.keys(want).length === 0) return true; // the API server drops {}
    if (have === null || typeof have !== 'object' || Array.isArray(have)) return false;
    const h = have as Record<string, unknown>;
    return Object.entries(want).every(([k, w]) => holds(h[k], w));
  }
  // int-or-string fields (quantities, ports) may come back as the other type.
  if (typeof want === 'number' && typeof have === 'string') return String(want) === have;
  return have === want;
}

function canonicalJSON(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
