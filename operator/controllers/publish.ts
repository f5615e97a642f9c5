// The last step of every reconcile pass: write the status computed in this pass with server-side
// apply, and record an event when the Ready condition's reason changed (Warning for the reasons
// that need someone's attention), so `kubectl describe` tells the story without a status diff.
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
  const ready = readyCondition(status.conditions);
  opts.log.info('status updated', { ...opts.logFields, reason: ready?.reason });
  if (ready && ready.reason !== readyCondition(obj.status?.conditions)?.reason) {
    await opts.events?.record(
      obj,
      opts.warningReasons.has(ready.reason) ? 'Warning' : 'Normal',
      ready.reason,
      ready.message,
    );
  }
}

function readyCondition(conditions: readonly Condition[] | undefined): Condition | undefined {
  return conditions?.find((c) => c.type === 'Ready');
}
