// The runtime's Prometheus metrics, named after controller-runtime's so existing dashboards and
// alerts translate: reconciles, work queues, informers and leadership.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type ReconcileOutcome = 'success' | 'error' | 'requeue';

export class RuntimeMetrics {
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileDuration: Histogram<'controller'>;
  readonly workqueueDepth: Gauge<'name'>;
  readonly workqueueAdds: Counter<'name'>;
  readonly workqueueRetries: Counter<'name'>;
  readonly informerHealthy: Gauge<'resource'>;
  readonly informerRelists: Counter<'resource'>;
  readonly informerIdleWatches: Counter<'resource'>;
  readonly leader: Gauge<'identity'>;
  readonly maxConcurrentReconciles: Gauge<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly applies: Counter<'kind' | 'result'>;
  readonly restRequests: Counter<'method' | 'code'>;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.reconcileTotal = new Counter({
      name: 'k2k_reconcile_total',
      help: 'Reconciles per controller and result (success, error, requeue).',
      labelNames: ['controller', 'result'] as const,
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: 'k2k_reconcile_duration_seconds',
      help: 'How long a reconcile took, per controller.',
      labelNames: ['controller'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.workqueueDepth = new Gauge({
      name: 'k2k_workqueue_depth',
      help: 'Keys waiting in a work queue (not counting keys being processed).',
      labelNames: ['name'] as const,
      registers,
    });
    this.workqueueAdds = new Counter({
      name: 'k2k_workqueue_adds_total',
      help: 'Keys added to a work queue (an add of a key already waiting is not counted).',
      labelNames: ['name'] as const,
      registers,
    });
    this.workqueueRetries = new Counter({
      name: 'k2k_workqueue_retries_total',
      help: 'Keys requeued with backoff after a failed reconcile.',
      labelNames: ['name'] as const,
      registers,
    });
    this.informerHealthy = new Gauge({
      name: 'k2k_informer_healthy',
      help: '1 while an informer lists and watches successfully, 0 while its lists or watches fail.',
      labelNames: ['resource'] as const,
      registers,
    });
    this.informerRelists = new Counter({
      name: 'k2k_informer_relists_total',
      help: 'Full lists an informer made after its watch failed or expired (410 Gone).',
      labelNames: ['resource'] as const,
      registers,
    });
    this.applies = new Counter({
      name: 'k2k_child_applies_total',
      help: 'Children a reconcile wanted in place, per kind: applied (a PATCH was sent) or unchanged (the cached child already held the desired state).',
      labelNames: ['kind', 'result'] as const,
      registers,
    });
    this.informerIdleWatches = new Counter({
      name: 'k2k_informer_watch_idle_restarts_total',
      help: 'Watches closed and resumed because they were silent (no event, no bookmark) for the idle timeout: half-open connections.',
      labelNames: ['resource'] as const,
      registers,
    });
    this.leader = new Gauge({
      name: 'k2k_leader',
      help: '1 while this process holds the leader lease.',
      labelNames: ['identity'] as const,
      registers,
    });
    this.restRequests = new Counter({
      name: 'k2k_rest_client_requests_total',
      help: 'Requests to the API server (watches excluded) by method and HTTP status code; code "error" when no answer came (connection failed or timed out).',
      labelNames: ['method', 'code'] as const,
      registers,
    });
    this.maxConcurrentReconciles = new Gauge({
      name: 'k2k_max_concurrent_reconciles',
      help: 'Workers a controller runs: at most this many keys are reconciled at once.',
      labelNames: ['controller'] as const,
      registers,
    });
    this.activeWorkers = new Gauge({
      name: 'k2k_active_workers',
      help: 'Workers running a reconcile now; all of them busy means keys wait in the queue.',
      labelNames: ['controller'] as const,
      registers,
    });
  }
}
