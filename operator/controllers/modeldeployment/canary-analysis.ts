// A canary analysis's numbers, from Prometheus: each track's inference request count, 5xx share,
// rejected (4xx) share and p99 latency over the step's window, and its current prediction bins. The track is the label
// every model server series carries (K2K_TRACK); the stable pods leave forwarded requests out of
// their own k2k_requests_total, so each track's numbers are its own.
import type { ModelDeployment } from '../../../api/index.ts';
import type { VectorSample } from '../../monitoring/drift.ts';
import { FAILED_CODES, INFERENCE_ENDPOINTS, REJECTED_CODES } from '../../monitoring/rules.ts';
import type { Measurement, TrackMetrics } from './canary.ts';
import { serviceName } from './desired.ts';
import { canaryName } from './desired-canary.ts';

/**
 * Runs an instant query at `time` (Unix seconds; instantQuery of operator/monitoring); rejects
 * when Prometheus cannot answer (the analysis then holds).
 */
export type InstantQuery = (promql: string, time: number) => Promise<VectorSample[]>;

/** Where the analysis gets its numbers (tests may pass a real Prometheus at another address). */
export interface CanaryMetrics {
  measure(md: ModelDeployment, windowSeconds: number): Promise<Measurement>;
}

// Both transports: a gRPC Predict or ModelInfer carries the same protocol and endpoint labels as
// its REST twin (transport="grpc"), and FAILED_CODES names gRPC's failing statuses.
const INFERENCE = `protocol=~"tfserving|v2", endpoint=~"${INFERENCE_ENDPOINTS}"`;

/** The PromQL of one track's numbers (exported for the docs and tests). */
export function trackQueries(md: ModelDeployment, track: 'stable' | 'canary', windowSeconds: number) {
  const scope = `namespace="${md.metadata.namespace}", service=~"${serviceName(md)}|${canaryName(md)}", track="${track}"`;
  const w = `[${windowSeconds}s]`;
  return {
    requests: `sum(increase(k2k_requests_total{${scope}, ${INFERENCE}}${w}))`,
    errors: `sum(increase(k2k_requests_total{${scope}, ${INFERENCE}, code=~"${FAILED_CODES}"}${w}))`,
    rejected: `sum(increase(k2k_requests_total{${scope}, ${INFERENCE}, code=~"${REJECTED_CODES}"}${w}))`,
    p99: `histogram_quantile(0.99, sum by (le) (rate(k2k_request_duration_seconds_bucket{${scope}, ${INFERENCE}}${w})))`,
    predictions: `sum by (bin) (k2k_drift_prediction_window_rows{${scope}})`,
  };
}

const scalar = (r: VectorSample[]): number | undefined => {
  const v = r[0] ? Number(r[0].value[1]) : undefined;
  return v !== undefined && Number.isFinite(v) ? v : undefined;
};

export function prometheusCanaryMetrics(query: InstantQuery): CanaryMetrics {
  // Every query of one measurement is evaluated at the same instant: the error share divides two
  // of them, and two instants a scrape apart would not read the same samples.
  const track = async (
    md: ModelDeployment,
    t: 'stable' | 'canary',
    w: number,
    at: number,
  ): Promise<TrackMetrics> => {
    const q = trackQueries(md, t, w);
    const [requests, errors, rejected, p99, predictions] = await Promise.all([
      query(q.requests, at),
      query(q.errors, at),
      query(q.rejected, at),
      query(q.p99, at),
      query(q.predictions, at),
    ]);
    const n = scalar(requests) ?? 0;
    const e = scalar(errors) ?? 0;
    const r = scalar(rejected) ?? 0;
    const bins = Object.fromEntries(predictions.map((s) => [s.metric.bin ?? '', Number(s.value[1])]));
    return {
      requests: Math.round(n),
      // Each increase() is extrapolated on its own, so the ratio can land a hair above 1.
      ...(n > 0 ? { errorRate: Math.min(1, e / n), rejectionRate: Math.min(1, r / n) } : {}),
      ...(scalar(p99) !== undefined ? { p99LatencySeconds: scalar(p99) } : {}),
      ...(predictions.length > 0 ? { predictionBins: bins } : {}),
    };
  };
  return {
    async measure(md, windowSeconds) {
      try {
        const at = Date.now() / 1000;
        const [canary, stable] = await Promise.all([
          track(md, 'canary', windowSeconds, at),
          track(md, 'stable', windowSeconds, at),
        ]);
        return { state: 'measured', canary, stable };
      } catch (err) {
        return { state: 'unavailable', message: (err as Error).message };
      }
    },
  };
}
