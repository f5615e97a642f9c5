// The last step of every reconcile pass: write the status computed in this pass with server-side
// apply, and record an event when the Ready condition's reason changed, or that of another condition
// the controller names (Warning for the reasons that need someone's attention), so `kubectl
// describe` tells the story without a status diff. An object's first status is not a change: it
// gets an event only when it is a Warning. A Normal "Pending" or "Suspended" for every object
// created is one more write per object (the Events API is etcd too) that nobody acts on, and
// the status already says it; kubebuilder-style controllers do not announce it either.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { Condition } from '../../api/common.ts';
import { API_VERSION } from '../../api/index.ts';
import type { KubeConfig } from '../runtime/index.ts';
import { applyStatus, type EventRecorder, type Logger } from '../runtime/index.ts';

interface Reconciled {
  kind: string;
  metadata: V1ObjectMeta;
  status?: { conditions?: Condition[] };
}

export interface PublishOptions {
  kubeConfig: KubeConfig;
  plural: string;
  events?: EventRecorder;
  /** Ready reasons recorded as Warning events; every other change is Normal. */
  warningReasons: ReadonlySet<string>;
  log: Logger;
  /** Condition types, besides Ready, whose reason changes are recorded as events too. */
  eventConditions?: readonly string[];
  /** Extra fields for the "status updated" log line. */
  logFields?: Record<string, unknown>;
}

/** Applies `status` to `obj` (as last seen in the cache) and records the Ready reason's change. */
export async function publishStatus(
  obj: Reconciled,
  status: { conditions?: Condition[] },
  opts: PublishOptions,
): Promise<void> {
  const { name, namespace } = obj.metadata;
  await applyStatus(
    opts.kubeConfig,
    { apiVersion: API_VERSION, kind: obj.kind, metadata: { name, namespace }, status },
    { plural: opts.plural },
  );
  opts.log.info('status updated', {
    ...opts.logFields,
    reason: condition(status.conditions, 'Ready')?.reason,
  });
  for (const type of ['Ready', ...(opts.eventConditions ?? [])]) {
    const now = condition(status.conditions, type);
    const kind = now && eventType(condition(obj.status?.conditions, type), now, opts.warningReasons);
    if (kind) await opts.events?.record(obj, kind, now.reason, now.message);
  }
}

/**
 * The event a condition's change from `before` to `now` gets: none when the reason is the same,
 * and none for a Normal first status (see the top of this file).
 */
export function eventType(
  before: Condition | undefined,
  now: Condition,
  warningReasons: ReadonlySet<string>,
): 'Normal' | 'Warning' | undefined {
  if (now.reason === before?.reason) return undefined;
  if (warningReasons.has(now.reason)) return 'Warning';
  return before ? 'Normal' : undefined;
}

function condition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
