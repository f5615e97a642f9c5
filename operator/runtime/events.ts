// Kubernetes Events (events.k8s.io/v1) about the objects a controller manages, so that
// `kubectl describe` and event-based alerting show what happened. Status conditions remain the
// source of truth; events are the history. Repeats of the same event within `dedupeMs` are
// dropped rather than flooding the API server.
import { randomBytes } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from './logger.ts';
import type { KubeConfig } from './rest.ts';
import { kubeRequest } from './rest.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  /** reportingController, e.g. k2k.dev/operator. */
  controller: string;
  /** reportingInstance: this process (pod name). */
  instance: string;
  logger?: Logger;
  dedupeMs?: number;
}

export class EventRecorder {
  private readonly recent = new Map<string, number>();

  constructor(
    private readonly kc: KubeConfig,
    private readonly opts: EventRecorderOptions,
  ) {}

  /** Records an event; never throws (an event that cannot be written is logged and dropped). */
  async record(
    obj: KubernetesObject,
    type: EventType,
    reason: string,
    note: string,
    action = reason,
  ): Promise<void> {
    const { namespace, name, uid } = obj.metadata ?? {};
    if (!namespace || !name) return;
    const key = `${uid ?? `${namespace}/${name}`}|${type}|${reason}|${note}`;
    const now = Date.now();
    const last = this.recent.get(key);
    if (last !== undefined && now - last < (this.opts.dedupeMs ?? 10 * 60_000)) return;
    this.recent.set(key, now);
    if (this.recent.size > 10_000) this.recent.delete(this.recent.keys().next().value!);
    try {
      await kubeRequest(this.kc, {
        method: 'POST',
        path: `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/events`,
        body: {
          apiVersion: 'events.k8s.io/v1',
          kind: 'Event',
          metadata: { name: `${name}.${randomBytes(8).toString('hex')}`, namespace },
          eventTime: new Date(now).toISOString().replace('Z', '000Z'),
          reportingController: this.opts.controller,
          reportingInstance: this.opts.instance,
          action,
          reason,
          note: note.slice(0, 1024),
          type,
          regarding: { apiVersion: obj.apiVersion, kind: obj.kind, namespace, name, uid },
        },
      });
    } catch (err) {
      this.opts.logger?.warn('recording an event failed', { reason, err });
    }
  }
}
