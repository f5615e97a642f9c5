// The model serving dashboard: traffic and SLOs, batching, load state, and input and prediction
// drift against the training profile, for one model (all or some of its tracks) in a namespace.
// The series are server/metrics.ts and server/drift/metrics.ts; the namespace and pod labels come
// from the scrape (a ServiceMonitor or PodMonitor adds them).
import { PanelBuilder as BarChart } from '@grafana/grafana-foundation-sdk/barchart';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as Stat } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as Table } from '@grafana/grafana-foundation-sdk/table';
import { FAILED_CODES, INFERENCE_ENDPOINTS } from '../operator/monitoring/rules.ts';
import {
  datasourceVariable,
  labelVariable,
  orZero,
  panel,
  q,
  selector,
  threshold,
  timeseries,
} from './panels.ts';

export const MODEL_SERVER_UID = 'k2k-model-server';

const s = selector('namespace=~"$namespace", model="$model", track=~"$track"');
const PREDICT = `endpoint=~"${INFERENCE_ENDPOINTS}"`;
const RATE = '[$__rate_interval]';
const requests = (...m: string[]) => `sum(rate(${s('k2k_requests_total', PREDICT, ...m)}${RATE}))`;
const latency = (quantile: number) =>
  `histogram_quantile(${quantile}, sum by (le) (rate(${s('k2k_request_duration_seconds_bucket', PREDICT)}${RATE})))`;
const mean = (histogram: string, ...m: string[]) =>
  `sum(rate(${s(`${histogram}_sum`, ...m)}${RATE})) / sum(rate(${s(`${histogram}_count`, ...m)}${RATE}))`;
const configured = (name: string) => `max(${s('k2k_drift_threshold', `threshold="${name}"`)})`;

/** The panels a reader of the README sees drawn (hack/dashboards/render.ts): keep their titles. */
export const KEY_PANELS = {
  traffic: 'Requests per second by protocol and status',
  latency: 'Inference latency (p50, p90, p99)',
  psi: 'Population stability index per feature',
  ks: 'KS p-value per feature (log scale)',
} as const;

const traffic = () =>
  panel(timeseries(), {
    title: KEY_PANELS.traffic,
    description:
      'Prediction requests (TF Serving :predict and v2 infer, over HTTP or gRPC) answered per second.',
    unit: 'reqps',
    queries: [
      q(
        `sum by (protocol, transport, code) (rate(${s('k2k_requests_total', PREDICT)}${RATE}))`,
        '{{protocol}} {{transport}} {{code}}',
      ),
    ],
  });

const latencyPanel = () =>
  panel(timeseries(), {
    title: KEY_PANELS.latency,
    description:
      'From receiving a prediction request to sending its response, batching wait included. The SLO (operator/monitoring/rules.ts): 99% within 250 ms.',
    unit: 's',
    queries: [
      q(latency(0.5), 'p50'),
      q(latency(0.9), 'p90'),
      q(latency(0.99), 'p99'),
      threshold('vector(0.25)', 'SLO: 99% within 250 ms'),
    ],
  });

const errors = () =>
  panel(timeseries(), {
    title: 'Errors per second by status code',
    description:
      'Prediction requests not answered 2xx (HTTP) or OK (gRPC): 4xx and INVALID_ARGUMENT are callers sending what the model cannot take; 5xx, UNAVAILABLE, RESOURCE_EXHAUSTED, INTERNAL are the server failing.',
    unit: 'reqps',
    span: 8,
    queries: [
      q(`sum by (code) (rate(${s('k2k_requests_total', PREDICT, 'code!~"2.."')}${RATE}))`, '{{code}}'),
    ],
  });

const errorRatio = () =>
  panel(timeseries(), {
    title: 'Server error ratio vs SLO',
    description:
      'Share of prediction requests the server failed (the codes the availability alerts count), against the 0.1% budget of the 99.9% SLO.',
    unit: 'percentunit',
    span: 8,
    queries: [
      q(`${orZero(requests(`code=~"${FAILED_CODES}"`), requests())} / ${requests()}`, 'failed ratio'),
      threshold('vector(0.001)', 'SLO budget (0.1%)'),
    ],
  });

const ready = () =>
  panel(new Stat(), {
    title: 'Ready pods',
    description: 'Pods with a model version loaded, warmed up and serving (k2k_model_ready).',
    span: 4,
    queries: [q(`sum(${s('k2k_model_ready')})`, 'ready')],
  });

const loadTime = () =>
  panel(new Stat(), {
    title: 'Mean model load time',
    description:
      'Read, verify, build and warm up one model version, by result, averaged since each pod started.',
    unit: 's',
    span: 4,
    queries: [
      q(
        `max by (result) (${s('k2k_model_load_duration_seconds_sum')} / ${s('k2k_model_load_duration_seconds_count')})`,
        '{{result}}',
      ),
    ],
  });

const versions = () =>
  panel(new Table(), {
    title: 'Serving versions',
    description: 'Which artifact each track serves: version, backend and the sha256 of its manifest.',
    span: 12,
    queries: [q(`count by (track, version, backend, artifact_sha256) (${s('k2k_model_info')})`, '')],
  });

const inFlight = () =>
  panel(timeseries(), {
    title: 'Requests in flight (waiting for a batch or being predicted)',
    description: 'Requests received and not yet answered: the batcher queue plus the batch being run.',
    span: 12,
    queries: [q(`sum by (protocol) (${s('k2k_requests_in_flight')})`, '{{protocol}}')],
  });

const batchSize = () =>
  panel(timeseries(), {
    title: 'Rows and requests per model call',
    description: 'Micro-batching at work: mean rows per model call and requests gathered into one.',
    span: 8,
    queries: [
      q(mean('k2k_batch_size_rows'), 'rows per batch'),
      q(mean('k2k_batch_requests'), 'requests per batch'),
    ],
  });

const batchWait = () =>
  panel(timeseries(), {
    title: 'Time in the model call vs waiting',
    description:
      'Mean model call (preprocessing included) against the mean request: the difference is time spent queued for a batch, parsing and answering.',
    unit: 's',
    span: 8,
    queries: [
      q(mean('k2k_predict_duration_seconds'), 'model call'),
      q(mean('k2k_request_duration_seconds', PREDICT), 'request'),
    ],
  });

const modelCall = () =>
  panel(timeseries(), {
    title: 'Model call duration p99',
    description: 'One batched model call, preprocessing included.',
    unit: 's',
    span: 8,
    queries: [
      q(
        `histogram_quantile(0.99, sum by (le) (rate(${s('k2k_predict_duration_seconds_bucket')}${RATE})))`,
        'p99',
      ),
    ],
  });

const psi = () =>
  panel(timeseries(), {
    title: KEY_PANELS.psi,
    description:
      'PSI of the live window against the training profile. A feature drifts when PSI is over the threshold line and its KS p-value under the Bonferroni line, with enough samples.',
    queries: [
      q(`max by (feature) (${s('k2k_drift_feature_psi')})`, '{{feature}}'),
      threshold(configured('psi'), 'threshold'),
    ],
  });

const ks = () =>
  panel(timeseries(), {
    title: KEY_PANELS.ks,
    description:
      'Kolmogorov-Smirnov p-value per feature; the line is the family-wise level divided by the number of features.',
    queries: [
      q(`min by (feature) (${s('k2k_drift_feature_ks_pvalue')})`, '{{feature}}'),
      threshold(configured('ks_pvalue_bonferroni'), 'alpha / features (Bonferroni)'),
    ],
  }).scaleDistribution(
    new common.ScaleDistributionConfigBuilder().type(common.ScaleDistribution.Log).log(10),
  );

const drifting = () =>
  panel(new Stat(), {
    title: 'Drifting features',
    description: 'Features whose drift decision is on (k2k_drift_feature_drifted), of those monitored.',
    span: 6,
    queries: [
      q(`sum(max by (feature) (${s('k2k_drift_feature_drifted')}))`, 'drifting'),
      q(`max(${s('k2k_drift_features')})`, 'monitored'),
    ],
  });

const samples = () =>
  panel(timeseries(), {
    title: 'Window samples vs minimum',
    description: 'Rows in the drift window; below min_samples no feature is called drifting.',
    span: 12,
    queries: [
      q(`min(${s('k2k_drift_window_samples')})`, 'samples in window (min over pods)'),
      threshold(configured('min_samples'), 'min_samples'),
    ],
  });

const evaluationAge = () =>
  panel(new Stat(), {
    title: 'Seconds since last drift evaluation',
    description: 'A growing age means the window is not being evaluated (no traffic, or a stuck monitor).',
    unit: 's',
    span: 6,
    queries: [q(`time() - max(${s('k2k_drift_last_evaluation_timestamp_seconds')} > 0)`, 'age')],
  });

const featureCdf = () =>
  panel(new BarChart(), {
    title: 'Feature $feature: live vs training CDF on the profile bins',
    description: 'Cumulative share of rows at or under each training bin edge: where the live inputs moved.',
    queries: [
      q(
        `max by (upper_edge) (${s('k2k_drift_feature_window_rows', 'feature="$feature"')}) / ignoring(upper_edge) group_left max(${s('k2k_drift_feature_samples', 'feature="$feature"')})`,
        'live',
      ),
      q(`max by (upper_edge) (${s('k2k_drift_feature_reference_ratio', 'feature="$feature"')})`, 'training'),
    ],
  });

const predictedClasses = () =>
  panel(new BarChart(), {
    title: 'Predicted classes: live window vs validation',
    description: 'Share of predictions per class (or regression bin), live against the validation set.',
    queries: [
      q(
        `sum by (bin) (${s('k2k_drift_prediction_window_rows')}) / ignoring(bin) group_left sum(${s('k2k_drift_prediction_window_rows')})`,
        'live',
      ),
      q(`max by (bin) (${s('k2k_drift_prediction_reference_ratio')})`, 'validation'),
    ],
  });

const predictionDrift = () =>
  panel(timeseries(), {
    title: 'Prediction drift',
    description:
      'PSI of the predicted classes against validation, and the chi-square p-value of their counts.',
    span: 24,
    queries: [
      q(`max(${s('k2k_drift_prediction_psi')})`, 'prediction PSI'),
      q(`min(${s('k2k_drift_prediction_chi2_pvalue')})`, 'chi-square p-value'),
    ],
  });

export function modelServerDashboard(): dashboard.Dashboard {
  return new dashboard.DashboardBuilder('k2k model server')
    .uid(MODEL_SERVER_UID)
    .description('Traffic, latency, errors, batching, load state and data drift of one k2k model.')
    .tags(['k2k'])
    .editable()
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .withVariable(datasourceVariable())
    .withVariable(labelVariable('namespace', 'label_values(k2k_model_ready, namespace)', { all: true }))
    .withVariable(labelVariable('model', 'label_values(k2k_model_ready{namespace=~"$namespace"}, model)'))
    .withVariable(
      labelVariable(
        'track',
        'label_values(k2k_model_ready{namespace=~"$namespace", model="$model"}, track)',
        {
          all: true,
        },
      ),
    )
    .withVariable(
      labelVariable(
        'feature',
        'label_values(k2k_drift_feature_psi{namespace=~"$namespace", model="$model"}, feature)',
      ),
    )
    .withRow(new dashboard.RowBuilder('Traffic and SLOs'))
    .withPanel(traffic())
    .withPanel(latencyPanel())
    .withPanel(errors())
    .withPanel(errorRatio())
    .withPanel(ready())
    .withPanel(loadTime())
    .withPanel(versions())
    .withPanel(inFlight())
    .withRow(new dashboard.RowBuilder('Batching'))
    .withPanel(batchSize())
    .withPanel(batchWait())
    .withPanel(modelCall())
    .withRow(new dashboard.RowBuilder('Input drift against the training profile'))
    .withPanel(psi())
    .withPanel(ks())
    .withPanel(drifting())
    .withPanel(samples())
    .withPanel(evaluationAge())
    .withPanel(featureCdf())
    .withRow(new dashboard.RowBuilder('Prediction drift against validation'))
    .withPanel(predictedClasses())
    .withPanel(predictionDrift())
    .build();
}
