// Helpers for metav1.Condition lists, shaped like apimachinery's meta.SetStatusCondition (a
// condition keeps its lastTransitionTime unless its status changes), and for comparing statuses.
import type { Condition } from '../../api/common.ts';

export type ConditionStatus = Condition['status'];

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** Returns a new list with `input` set; other conditions are kept as they are. */
export function setCondition(
  conditions: readonly Condition[],
  input: ConditionInput,
  observedGeneration: number | undefined,
  now: Date,
): Condition[] {
  const existing = conditions.find((c) => c.type === input.type);
  const lastTransitionTime =
    existing && existing.status === input.status ? existing.lastTransitionTime : toRFC3339(now);
  const next: Condition = { ...input, lastTransitionTime };
  if (observedGeneration !== undefined) next.observedGeneration = observedGeneration;
  return existing ? conditions.map((c) => (c.type === input.type ? next : c)) : [...conditions, next];
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/** Kubernetes timestamps have second precision. */
export function toRFC3339(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/**
 * Whether two statuses are equal as the API server stores them: key order and fields set to
 * undefined do not count. Reconcilers patch status only when this is false.
 */
export function sameStatus(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}

/**
 * Why the operator will not act on a resource until someone changes something (a spec outside the
 * operator's policy, a child's name taken by a foreign object): Ready False with this reason and
 * kstatus Stalled, and no children are written.
 */
export interface Refusal {
  reason: string;
  message: string;
}
