// The operator dashboard: reconciles per controller and result, work queues and workers, its
// requests to the API server (rates, errors, child applies) and its informers, and leadership. The series are
// operator/runtime/metrics.ts (named after controller-runtime's); namespace and pod come from the
// scrape of the operator's metrics endpoint.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as Stat } from '@grafana/grafana-foundation-sdk/stat';
import { datasourceVariable, labelVariable, orZero, panel, q, selector, timeseries } from './panels.ts';

export const OPERATOR_UID = 'k2k-operator';

const s = selector('namespace=~"$namespace", pod=~"$pod"');
const RATE = '[$__rate_interval]';
const rateBy = (by: string, metric: string, ...m: string[]) =>
  `sum by (${by}) (rate(${s(metric, ...m)}${RATE}))`;
/** The share of `metric`'s rate that `matcher` selects, 0 (not "No data") while it never happened. */
const shareOf = (by: string, metric: string, matcher: string) =>
  `${orZero(rateBy(by, metric, matcher), rateBy(by, metric))} / ${rateBy(by, metric)}`;

const reconciles = () =>
  panel(timeseries(), {
    title: 'Reconciles per second by controller and result',
    description: 'success, error (retried with backoff, or terminal) and requeue (asked to come back later).',
    unit: 'ops',
    queries: [q(rateBy('controller, result', 'k2k_reconcile_total'), '{{controller}} {{result}}')],
  });

const reconcileErrors = () =>
  panel(timeseries(), {
    title: 'Reconcile error ratio by controller',
    description: 'Share of reconciles that failed; a lasting ratio means objects are not converging.',
    unit: 'percentunit',
    queries: [q(shareOf('controller', 'k2k_reconcile_total', 'result="error"'), '{{controller}}')],
  });

const reconcileLatency = () =>
  panel(timeseries(), {
    title: 'Reconcile duration p50 and p99 by controller',
    description: 'Time of one reconcile, reads from the cache and writes to the API server included.',
    unit: 's',
    span: 24,
    queries: [0.5, 0.99].map((quantile) =>
      q(
        `histogram_quantile(${quantile}, ${rateBy('controller, le', 'k2k_reconcile_duration_seconds_bucket')})`,
        `{{controller}} p${quantile * 100}`,
      ),
    ),
  });

const queueDepth = () =>
  panel(timeseries(), {
    title: 'Work queue depth',
    description: 'Keys waiting for a worker. A depth that keeps growing means the workers cannot keep up.',
    span: 8,
    queries: [q(`max by (name) (${s('k2k_workqueue_depth')})`, '{{name}}')],
  });

const queueRates = () =>
  panel(timeseries(), {
    title: 'Work queue adds and retries per second',
    description: 'Keys added to each queue, and keys requeued with backoff after a failed reconcile.',
    unit: 'ops',
    span: 8,
    queries: [
      q(rateBy('name', 'k2k_workqueue_adds_total'), '{{name}} adds'),
      q(
        orZero(rateBy('name', 'k2k_workqueue_retries_total'), rateBy('name', 'k2k_workqueue_adds_total')),
        '{{name}} retries',
      ),
    ],
  });

const workers = () =>
  panel(timeseries(), {
    title: 'Busy workers by controller',
    description: 'Workers running a reconcile against the workers configured: all busy means keys wait.',
    span: 8,
    queries: [
      q(`sum by (controller) (${s('k2k_active_workers')})`, '{{controller}} busy'),
      q(`max by (controller) (${s('k2k_max_concurrent_reconciles')})`, '{{controller}} configured'),
    ],
  });

const apiRequests = () =>
  panel(timeseries(), {
    title: 'API server requests per second by method and code',
    description:
      'Requests the operator sent to the API server (watches excluded), by the answer it got; error: no answer (connection failed or timed out).',
    unit: 'reqps',
    queries: [q(rateBy('method, code', 'k2k_rest_client_requests_total'), '{{method}} {{code}}')],
  });

const apiErrors = () =>
  panel(timeseries(), {
    title: 'API server request error ratio',
    description:
      'Share of requests answered 5xx or not at all, and of requests throttled (429): the API server or the path to it in trouble.',
    unit: 'percentunit',
    queries: [
      q(shareOf('method', 'k2k_rest_client_requests_total', 'code=~"5..|error"'), '{{method}} failed'),
      q(shareOf('method', 'k2k_rest_client_requests_total', 'code="429"'), '{{method}} throttled'),
    ],
  });

const applies = () =>
  panel(timeseries(), {
    title: 'Writes to the API server: child applies by kind and result',
    description:
      'Server-side applies of children (applied: a PATCH was sent), and children already as desired (unchanged: no request).',
    unit: 'ops',
    queries: [q(rateBy('kind, result', 'k2k_child_applies_total'), '{{kind}} {{result}}')],
  });

const informers = () =>
  panel(timeseries(), {
    title: 'Watches: informer health and relists',
    description:
      'Informers listing and watching successfully (1), and full relists or idle-watch restarts per second: API server trouble shows here first.',
    queries: [
      q(`min by (resource) (${s('k2k_informer_healthy')})`, '{{resource}} healthy'),
      q(
        orZero(
          rateBy('resource', 'k2k_informer_relists_total'),
          `sum by (resource) (${s('k2k_informer_healthy')})`,
        ),
        '{{resource}} relists',
      ),
      q(
        orZero(
          rateBy('resource', 'k2k_informer_watch_idle_restarts_total'),
          `sum by (resource) (${s('k2k_informer_healthy')})`,
        ),
        '{{resource}} idle restarts',
      ),
    ],
  });

const leader = () =>
  panel(new Stat(), {
    title: 'Leader',
    description: 'Which operator replica holds the leader lease (1); the others stand by (0).',
    span: 12,
    queries: [q(`max by (pod, identity) (${s('k2k_leader')})`, '{{identity}}')],
  });

const leaderChanges = () =>
  panel(timeseries(), {
    title: 'Leader changes',
    description: 'Lease hand-overs in the window: more than a few an hour means replicas are fighting.',
    span: 12,
    queries: [q(`sum(changes(${s('k2k_leader')}[$__range]))`, 'changes')],
  });

export function operatorDashboard(): dashboard.Dashboard {
  return new dashboard.DashboardBuilder('k2k operator')
    .uid(OPERATOR_UID)
    .description('Reconciles, work queues, writes and watches, leadership and workers of the k2k operator.')
    .tags(['k2k'])
    .editable()
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .withVariable(datasourceVariable())
    .withVariable(labelVariable('namespace', 'label_values(k2k_reconcile_total, namespace)', { all: true }))
    .withVariable(
      labelVariable('pod', 'label_values(k2k_reconcile_total{namespace=~"$namespace"}, pod)', { all: true }),
    )
    .withRow(new dashboard.RowBuilder('Reconciles'))
    .withPanel(reconciles())
    .withPanel(reconcileErrors())
    .withPanel(reconcileLatency())
    .withRow(new dashboard.RowBuilder('Work queues and workers'))
    .withPanel(queueDepth())
    .withPanel(queueRates())
    .withPanel(workers())
    .withRow(new dashboard.RowBuilder('API server'))
    .withPanel(apiRequests())
    .withPanel(apiErrors())
    .withPanel(applies())
    .withPanel(informers())
    .withRow(new dashboard.RowBuilder('Leadership'))
    .withPanel(leader())
    .withPanel(leaderChanges())
    .build();
}
