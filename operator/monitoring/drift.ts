// Asks Prometheus whether a model's inputs drift, by the rule of the K2KFeatureDrift alert
// (featureDriftExpr in rules.ts: enough samples, PSI over its threshold, KS p-value under the
// Bonferroni-corrected level), evaluated now with instant queries. The ModelDeployment controller
// turns the answer into the Drifting condition; a canary analysis can call queryDrift the same way.
import { featureDriftExpr, type RuleScope, selector } from './rules.ts';

export interface PrometheusClient {
  /** Base URL of the Prometheus HTTP API, e.g. http://prometheus.monitoring.svc:9090. */
  url: string;
  /** Each query is abandoned after this long (default 5 s): a reconcile must not wait for long. */
  timeoutMs?: number;
}

/** One drifting feature: its name, the pods it drifts on and its largest PSI among them. */
export interface DriftingFeature {
  feature: string;
  psi: number;
  pods: string[];
}

export type DriftAnswer =
  | { state: 'drifting'; features: DriftingFeature[] }
  | { state: 'stable'; samples: number; minSamples: number }
  | { state: 'unknown'; reason: 'PrometheusUnreachable' | 'NoSamples' | 'TooFewSamples'; message: string };

/** An instant-vector sample as the HTTP API returns it (value: [unix seconds, "number"]). */
export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

interface QueryResponse {
  status: 'success' | 'error';
  data?: { resultType: string; result: VectorSample[] };
  errorType?: string;
  error?: string;
}

export class PrometheusError extends Error {}

/**
 * An instant query (GET /api/v1/query) evaluated at `time` (Unix seconds; Prometheus's "now" when
 * left out); rejects with a PrometheusError saying what went wrong. Queries whose answers are
 * compared with each other pass one `time`, so they read the same samples.
 */
export async function instantQuery(
  client: PrometheusClient,
  query: string,
  time?: number,
): Promise<VectorSample[]> {
  const url = new URL('api/v1/query', client.url.endsWith('/') ? client.url : `${client.url}/`);
  url.searchParams.set('query', query);
  if (time !== undefined) url.searchParams.set('time', String(time));
  const timeoutMs = client.timeoutMs ?? 5_000;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const why =
      err instanceof Error && err.name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : String((err as Error).cause ?? err);
    throw new PrometheusError(`Prometheus at ${client.url} is unreachable: ${why}`);
  }
  const text = await response.text();
  let body: QueryResponse;
  try {
    body = JSON.parse(text) as QueryResponse;
  } catch {
    throw new PrometheusError(
      `Prometheus at ${client.url} answered ${response.status} without JSON: ${text.slice(0, 200)}`,
    );
  }
  if (body.status !== 'success' || body.data?.resultType !== 'vector') {
    throw new PrometheusError(
      `Prometheus at ${client.url} refused the query (${response.status} ${body.errorType ?? ''}): ${body.error ?? text.slice(0, 200)}`,
    );
  }
  return body.data.result;
}

/** The queries behind a drift answer, for a model's series (scope); exported for the fixtures. */
export function driftQueries(scope: RuleScope) {
  return {
    drifting: featureDriftExpr(scope),
    samples: selector(scope, 'k2k_drift_window_samples'),
    minSamples: selector(scope, 'k2k_drift_threshold', 'threshold="min_samples"'),
  };
}

/** The answer from the three query results (pure, so recorded responses test it). */
export function decideDrift(results: {
  drifting: VectorSample[];
  samples: VectorSample[];
  minSamples: VectorSample[];
}): DriftAnswer {
  if (results.drifting.length > 0) {
    const byFeature = new Map<string, DriftingFeature>();
    for (const s of results.drifting) {
      const name = s.metric.feature ?? '';
      const psi = Number(s.value[1]);
      const f = byFeature.get(name) ?? { feature: name, psi, pods: [] };
      f.psi = Math.max(f.psi, psi);
      if (s.metric.pod && !f.pods.includes(s.metric.pod)) f.pods.push(s.metric.pod);
      byFeature.set(name, f);
    }
    const features = [...byFeature.values()].sort(
      (a, b) => b.psi - a.psi || a.feature.localeCompare(b.feature),
    );
    for (const f of features) f.pods.sort();
    return { state: 'drifting', features };
  }
  if (results.samples.length === 0) {
    return {
      state: 'unknown',
      reason: 'NoSamples',
      message: 'Prometheus has no k2k_drift_window_samples of this model: it is not scraped (yet)',
    };
  }
  // Drift is judged per pod: one pod with a full enough window is enough to say "no drift".
  const pods = results.samples.map((s) => ({
    samples: Number(s.value[1]),
    minSamples: Number(
      results.minSamples.find((m) => m.metric.pod === s.metric.pod)?.value[1] ?? Number.POSITIVE_INFINITY,
    ),
  }));
  const judged = pods.find((p) => p.samples >= p.minSamples);
  if (judged) return { state: 'stable', ...judged };
  const fullest = pods.reduce((a, b) => (b.samples > a.samples ? b : a));
  const needed = Number.isFinite(fullest.minSamples)
    ? `drift is judged from ${fullest.minSamples} (spec.drift.minSamples)`
    : 'the model server exports no min_samples threshold';
  return {
    state: 'unknown',
    reason: 'TooFewSamples',
    message: `the drift window holds ${fullest.samples} rows; ${needed}`,
  };
}

/** Whether the model whose series `scope` selects drifts now, by the alert's rule. */
export async function queryDrift(client: PrometheusClient, scope: RuleScope): Promise<DriftAnswer> {
  const q = driftQueries(scope);
  const now = Date.now() / 1000;
  try {
    const [drifting, samples, minSamples] = await Promise.all([
      instantQuery(client, q.drifting, now),
      instantQuery(client, q.samples, now),
      instantQuery(client, q.minSamples, now),
    ]);
    return decideDrift({ drifting, samples, minSamples });
  } catch (err) {
    if (!(err instanceof PrometheusError)) throw err;
    return { state: 'unknown', reason: 'PrometheusUnreachable', message: err.message };
  }
}

/**
 * The last answer per model, asked again once it is older than maxAgeMs: reconciles in between
 * (a pod event, a status write) cost no query, and a Prometheus that is down is asked once per
 * interval rather than once per reconcile.
 */
export class DriftCache {
  private readonly answers = new Map<string, { at: number; answer: DriftAnswer }>();

  constructor(
    private readonly ask: (scope: RuleScope) => Promise<DriftAnswer>,
    readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string, scope: RuleScope): Promise<DriftAnswer> {
    const cached = this.answers.get(key);
    if (cached && this.now() - cached.at < this.maxAgeMs) return cached.answer;
    const answer = await this.ask(scope);
    this.answers.set(key, { at: this.now(), answer });
    return answer;
  }

  /** Drops a deleted model's answer. */
  forget(key: string): void {
    this.answers.delete(key);
  }
}
