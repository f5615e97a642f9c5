// The Prometheus rules for k2k model servers, written once for two uses: config/prometheus/k2k-alerts.yaml
// (every model a Prometheus scrapes; api/generate.ts writes it) and the PrometheusRule the operator
// makes per ModelDeployment (the same rules, restricted to that model's series). The drift rule is
// also what the operator asks Prometheus when it sets the Drifting condition (drift.ts), so the
// alert and the condition cannot disagree.
//
// Every k2k series carries model, version and track (stable|canary); rules aggregate by model and
// track so a canary alerts separately from its stable twin.
import yaml from 'js-yaml';
import { DEFAULT_DRIFT_FOR, type MonitoringAlerts } from '../../api/monitoring.ts';

/** Which series the rules read and what rates are aggregated by. */
export interface RuleScope {
  /** Label matchers added to every selector: none for all models, namespace and service for one. */
  matchers: Readonly<Record<string, string>>;
  /** Labels the recorded ratios keep. */
  by: readonly string[];
}

/** Every model the Prometheus scrapes (config/prometheus/k2k-alerts.yaml). */
export const ALL_MODELS: RuleScope = { matchers: {}, by: ['namespace', 'model', 'track'] };

/**
 * One ModelDeployment's series: the Prometheus Operator labels the targets of a ServiceMonitor
 * with their namespace and Service. Service is kept in the ratios, so two ModelDeployments serving
 * the same model in one namespace never record the same series from two rules.
 */
export function modelScope(namespace: string, service: string): RuleScope {
  return { matchers: { namespace, service }, by: ['namespace', 'service', 'model', 'track'] };
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Why the rule is written this way: a comment in the generated file. */
  why?: string;
}

export interface RecordingRule {
  record: string;
  expr: string;
  why?: string;
}

export type Rule = AlertRule | RecordingRule;

export interface RuleGroup {
  name: string;
  rules: Rule[];
}

const quote = (v: string) => `"${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;

/** `name{matchers…}` with the scope's matchers after the rule's own. */
export function selector(scope: RuleScope, name: string, ...matchers: string[]): string {
  const all = [...matchers, ...Object.entries(scope.matchers).map(([k, v]) => `${k}=${quote(v)}`)];
  return all.length ? `${name}{${all.join(', ')}}` : name;
}

const byClause = (labels: readonly string[]) => `(${labels.join(', ')})`;

/**
 * A feature drifts only if all three agree, evaluated per pod (server/drift/decision.ts is the same
 * rule in TypeScript): the window holds at least min_samples rows (few samples make PSI and KS
 * noisy), PSI is over its threshold (a practically relevant change of the distribution), and the KS
 * p-value is under alpha / (number of features) (Bonferroni: with 20 features at alpha 0.05, one
 * of them would "drift" by chance in most windows otherwise). One series per drifting feature and
 * pod, valued at its PSI.
 */
export function featureDriftExpr(scope: RuleScope): string {
  const s = (name: string, ...m: string[]) => selector(scope, name, ...m);
  return `(
  ${s('k2k_drift_feature_psi')}
    > ignoring(feature, threshold) group_left ${s('k2k_drift_threshold', 'threshold="psi"')}
)
and
(
  ${s('k2k_drift_feature_ks_pvalue')}
    < ignoring(feature, threshold) group_left ${s('k2k_drift_threshold', 'threshold="ks_pvalue_bonferroni"')}
)
and
(
  ${s('k2k_drift_feature_samples')}
    >= ignoring(feature, threshold) group_left ${s('k2k_drift_threshold', 'threshold="min_samples"')}
)`;
}

/**
 * Codes of requests the server failed: REST 5xx (503 "not ready" included), and over gRPC the
 * statuses it answers for its own failures: UNAVAILABLE (not ready), RESOURCE_EXHAUSTED
 * (overloaded; also the size limits, which REST answers 413), INTERNAL, UNKNOWN.
 */
export const FAILED_CODES = '5..|UNAVAILABLE|RESOURCE_EXHAUSTED|INTERNAL|UNKNOWN';

/**
 * Codes of requests the server rejected as the client's mistake: REST 4xx, gRPC INVALID_ARGUMENT,
 * NOT_FOUND and UNIMPLEMENTED (server/grpc/status.ts). Not failures of the server, but a canary
 * that rejects more of the same requests than its stable twin is broken for its clients (an
 * input signature the clients do not send), so the canary analysis compares the two tracks' shares.
 */
export const REJECTED_CODES = '4..|INVALID_ARGUMENT|NOT_FOUND|UNIMPLEMENTED';

/** The `endpoint` values of inference calls (predict, OIP infer, classify), which the SLOs, dashboards and canary analysis count. */
export const INFERENCE_ENDPOINTS = 'predict|infer|classify';

/** Ratio of inference requests the server failed over `window`, by the scope's labels. */
function errorRatio(scope: RuleScope, window: string): string {
  const by = byClause(scope.by);
  const requests = (...m: string[]) =>
    `rate(${selector(scope, 'k2k_requests_total', `endpoint=~"${INFERENCE_ENDPOINTS}"`, ...m)}[${window}])`;
  return `sum by ${by} (${requests(`code=~"${FAILED_CODES}"`)})
  / sum by ${by} (${requests()})`;
}

function slowRatio(scope: RuleScope, window: string): string {
  const by = byClause(scope.by);
  const series = (name: string, ...m: string[]) =>
    `rate(${selector(scope, name, `endpoint=~"${INFERENCE_ENDPOINTS}"`, ...m)}[${window}])`;
  return `1 - (
  sum by ${by} (${series('k2k_request_duration_seconds_bucket', 'le="0.25"')})
    / sum by ${by} (${series('k2k_request_duration_seconds_count')})
)`;
}

/** The model server's rule groups over the series `scope` selects; `alerts` times the drift alerts. */
export function modelServerRuleGroups(
  scope: RuleScope,
  { driftFor }: Required<MonitoringAlerts> = { driftFor: DEFAULT_DRIFT_FOR },
): RuleGroup[] {
  const s = (name: string, ...m: string[]) => selector(scope, name, ...m);
  const perPod = byClause(['namespace', 'model', 'version', 'track', 'pod']);
  const recorded = (name: string) => s(name);
  return [
    {
      name: 'k2k-model-server-drift',
      rules: [
        {
          alert: 'K2KFeatureDrift',
          why: 'A feature drifts only if the window holds min_samples rows, PSI is over its threshold and the KS p-value under alpha / features (Bonferroni); see featureDriftExpr.',
          expr: featureDriftExpr(scope),
          for: driftFor,
          labels: { severity: 'warning' },
          annotations: {
            summary:
              'Input feature {{ $labels.feature }} of model {{ $labels.model }} ({{ $labels.track }}) drifted from its training data',
            description: `PSI {{ $value | printf "%.3f" }} over the configured threshold, KS p-value under the Bonferroni-corrected level, with at least the minimum number of samples, for ${driftFor} (pod {{ $labels.pod }}, version {{ $labels.version }}). Compare the live histogram (k2k_drift_feature_window_rows) with the training one (k2k_drift_feature_reference_ratio) in the k2k model server dashboard; consider retraining on recent data.`,
          },
        },
        {
          alert: 'K2KManyFeaturesDrift',
          why: "Several features drifting at once usually means an upstream pipeline change, not the world. k2k_drift_feature_drifted is the server's own decision (server/drift/decision.ts), so the min_samples gate and the Bonferroni correction hold here too.",
          expr: `count by ${perPod} (${s('k2k_drift_feature_drifted')} == 1)
  / on${perPod} ${s('k2k_drift_features')}
  > 0.5`,
          for: driftFor,
          labels: { severity: 'critical' },
          annotations: {
            summary: 'Most input features of model {{ $labels.model }} ({{ $labels.track }}) drifted at once',
            description:
              "{{ $value | humanizePercentage }} of the monitored features drift together: check the client's feature pipeline (units, encoding, missing-value handling) before retraining.",
          },
        },
        {
          alert: 'K2KPredictionDrift',
          why: 'One distribution (the predicted classes), so no correction for many features; the same min_samples gate as the features.',
          expr: `(
  ${s('k2k_drift_prediction_psi')}
    > ignoring(threshold) ${s('k2k_drift_threshold', 'threshold="psi"')}
)
and
(
  ${s('k2k_drift_window_samples')}
    >= ignoring(threshold) ${s('k2k_drift_threshold', 'threshold="min_samples"')}
)`,
          for: '30m',
          labels: { severity: 'warning' },
          annotations: {
            summary: 'Predictions of model {{ $labels.model }} ({{ $labels.track }}) drifted from validation',
            description:
              'The predicted class (or binned output) distribution has PSI {{ $value | printf "%.3f" }} against the validation split over the last window (k2k_drift_prediction_window_rows).',
          },
        },
      ],
    },
    {
      name: 'k2k-model-server-slo-recording',
      rules: [
        ...['5m', '30m', '1h', '6h'].map((w, i) => ({
          record: `k2k:inference_errors:ratio_rate${w}`,
          expr: errorRatio(scope, w),
          ...(i === 0
            ? {
                why: 'Availability SLI: share of inference requests failed by the server (REST 5xx, gRPC UNAVAILABLE, RESOURCE_EXHAUSTED, INTERNAL, UNKNOWN).',
              }
            : {}),
        })),
        ...['5m', '1h'].map((w, i) => ({
          record: `k2k:inference_slow:ratio_rate${w}`,
          expr: slowRatio(scope, w),
          ...(i === 0 ? { why: 'Latency SLI: share of inference requests slower than 250 ms.' } : {}),
        })),
      ],
    },
    {
      name: 'k2k-model-server-slo',
      rules: [
        {
          alert: 'K2KErrorBudgetFastBurn',
          why: 'Availability SLO 99.9%: multiwindow, multi-burn-rate alerts (Google SRE workbook, ch. 5).',
          expr: `${recorded('k2k:inference_errors:ratio_rate1h')} > (14.4 * 0.001)
and
${recorded('k2k:inference_errors:ratio_rate5m')} > (14.4 * 0.001)`,
          for: '2m',
          labels: { severity: 'critical' },
          annotations: {
            summary: 'Model {{ $labels.model }} ({{ $labels.track }}) burns its error budget 14x too fast',
            description:
              '{{ $value | humanizePercentage }} of inference requests failed over the last hour (SLO: 99.9% succeed).',
          },
        },
        {
          alert: 'K2KErrorBudgetSlowBurn',
          expr: `${recorded('k2k:inference_errors:ratio_rate6h')} > (6 * 0.001)
and
${recorded('k2k:inference_errors:ratio_rate30m')} > (6 * 0.001)`,
          for: '15m',
          labels: { severity: 'warning' },
          annotations: {
            summary: 'Model {{ $labels.model }} ({{ $labels.track }}) burns its error budget 6x too fast',
            description:
              '{{ $value | humanizePercentage }} of inference requests failed over the last 6 hours (SLO: 99.9% succeed).',
          },
        },
        {
          alert: 'K2KLatencySLOBurn',
          why: 'Latency SLO: 99% of inference requests within 250 ms.',
          expr: `${recorded('k2k:inference_slow:ratio_rate1h')} > (14.4 * 0.01)
and
${recorded('k2k:inference_slow:ratio_rate5m')} > (14.4 * 0.01)`,
          for: '5m',
          labels: { severity: 'warning' },
          annotations: {
            summary: 'Model {{ $labels.model }} ({{ $labels.track }}) answers too slowly',
            description:
              '{{ $value | humanizePercentage }} of inference requests took longer than 250 ms over the last hour (SLO: 99% within 250 ms). Check k2k_batch_size_rows, k2k_predict_duration_seconds and CPU throttling.',
          },
        },
        {
          alert: 'K2KModelNotReady',
          expr: `${s('k2k_model_ready')} == 0`,
          for: '10m',
          labels: { severity: 'warning' },
          annotations: {
            summary:
              'Model server pod {{ $labels.pod }} of {{ $labels.model }} has not been ready for 10 minutes',
            description:
              'The model did not load (see /readyz or /v2/health/ready for the reason) or the pod is stuck shutting down.',
          },
        },
        {
          alert: 'K2KModelLoadFailing',
          expr: `increase(${s('k2k_model_load_duration_seconds_count', 'result="failure"')}[15m]) > 0`,
          labels: { severity: 'warning' },
          annotations: {
            summary: 'Model {{ $labels.model }} ({{ $labels.track }}) failed to load a version',
            description:
              'A load or reload failed in the last 15 minutes (pod {{ $labels.pod }}). A pod that already served keeps its previous version; the reason is in the pod log and on the ready endpoints.',
          },
        },
      ],
    },
  ];
}

/** The groups as Prometheus reads them (no comments). */
export function prometheusGroups(groups: readonly RuleGroup[]) {
  return groups.map((g) => ({ name: g.name, rules: g.rules.map(({ why: _why, ...rule }) => rule) }));
}

/** `text` as comment lines of at most ~100 characters, indented by `indent`. */
function comment(text: string, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + line.length + word.length + 3 > 100) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => `${indent}# ${l}\n`).join('');
}

const FILE_HEADER = `# Code generated by api/generate.ts from operator/monitoring/rules.ts. DO NOT EDIT.
#
# Alerts for k2k model servers (server/): input drift against the training profile, and the
# availability and latency SLOs of the inference endpoints, over every model this Prometheus
# scrapes. With the Prometheus Operator, the operator makes the same rules per ModelDeployment as
# a PrometheusRule instead (docs/monitoring.md): load one or the other, not both.
#
# Validate: promtool check rules config/prometheus/k2k-alerts.yaml
#           promtool test rules config/prometheus/k2k-alerts.test.yaml
# Every alert needs a test case that fires and one that stays quiet (test/integration/alerts.test.ts
# enforces it), and K2KFeatureDrift must answer server/drift/decision-cases.ts like the server does.
`;

/** config/prometheus/k2k-alerts.yaml: the rules over every model, each with its reason as a comment. */
export const alertsFileYAML = () => ruleFileYAML(FILE_HEADER, modelServerRuleGroups(ALL_MODELS));

/** A Prometheus rule file of `groups` after `header`, each rule's reason as a comment above it. */
export function ruleFileYAML(header: string, groups: readonly RuleGroup[]): string {
  let out = `${header}groups:\n`;
  for (const group of groups) {
    out += `  - name: ${group.name}\n    rules:\n`;
    for (const { why, ...rule } of group.rules) {
      if (why) out += comment(why, '      ');
      out += `${yaml.dump([rule], { lineWidth: -1, noRefs: true }).trimEnd().replace(/^/gm, '      ')}\n`;
    }
  }
  return out.replace(/ +$/gm, '');
}
