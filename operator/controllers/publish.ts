// The last step of every reconcile pass: write the status computed in this pass with server-side
// apply, and record an event when the Ready condition's reason changed, or that of another condition
// the controller names (Warning for the reasons that need someone's attention), so `kubectl
// describe` tells the story without a status diff.
import type { KubeConfig, V1ObjectMeta } from '@kubernetes/client-node';
import type { Condition } from '../../api/common.ts';
import { API_VERSION } from '../../api/index.ts';
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
    if (now && now.reason !== condition(obj.status?.conditions, type)?.reason) {
      await opts.events?.record(
        obj,
        opts.warningReasons.has(now.reason) ? 'Warning' : 'Normal',
        now.reason,
        now.message,
      );
    }
  }
}

function condition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
