// Every series the server exports, on one explicit registry: the request, batching and model
// series here, the drift series from drift/metrics.ts. Each series carries model, version and
// track: model and track never change in a process; version does on hot reload, so per-request
// series name it explicitly (old-version counters stay as they were) and the rest get the current
// version through the registry's default labels.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type DriftSource, registerDriftMetrics } from './drift/metrics.ts';
import type { BackendChoice } from './model/backend-choice.ts';

export const PROTOCOLS = ['tfserving', 'v2', 'health', 'admin', 'metrics', 'none'] as const;
export type Protocol = (typeof PROTOCOLS)[number];
/** How the request came: HTTP/1.1 (REST, probes, /metrics) or gRPC. */
export const TRANSPORTS = ['http', 'grpc'] as const;
export type Transport = (typeof TRANSPORTS)[number];

const REQUEST_LABELS = ['protocol', 'transport', 'endpoint', 'code', 'version'] as const;
const INFLIGHT_LABELS = ['protocol', 'transport', 'version'] as const;

/** Ends a request's measurement: its endpoint, its status code and the version that answered. */
/** Records a finished request; a forwarded one counts as the canary's (k2k_canary_forwarded_total), not this pod's. */
export type FinishRequest = (endpoint: string, code: string, version?: string, forwarded?: boolean) => void;
const VERSION_LABELS = ['version'] as const;
const LOAD_LABELS = ['version', 'result'] as const;
const FORWARDED_LABELS = ['transport', 'code'] as const;
const TRANSPORT_LABELS = ['transport'] as const;
const INFO_LABELS = ['uri', 'artifact_sha256', 'task', 'backend'] as const;
const BACKEND_LABELS = ['backend', 'requested'] as const;
const BACKEND_TIMING_LABELS = ['backend', 'batch'] as const;

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<(typeof REQUEST_LABELS)[number]>;
  readonly requestDuration: Histogram<(typeof REQUEST_LABELS)[number]>;
  readonly inFlight: Gauge<(typeof INFLIGHT_LABELS)[number]>;
  readonly batchRows: Histogram<(typeof VERSION_LABELS)[number]>;
  readonly batchRequests: Histogram<(typeof VERSION_LABELS)[number]>;
  readonly predictDuration: Histogram<(typeof VERSION_LABELS)[number]>;
  readonly loadDuration: Histogram<(typeof LOAD_LABELS)[number]>;
  readonly ready: Gauge;
  readonly info: Gauge<(typeof INFO_LABELS)[number]>;
  readonly backendInfo: Gauge<(typeof BACKEND_LABELS)[number]>;
  readonly backendSeconds: Gauge<(typeof BACKEND_TIMING_LABELS)[number]>;
  readonly canaryForwarded: Counter<(typeof FORWARDED_LABELS)[number]>;
  readonly canaryFallback: Counter<(typeof TRANSPORT_LABELS)[number]>;
  readonly canaryWeight: Gauge;
  private driftSource: DriftSource = () => undefined;
  private labels: { model: string; track: string; version: string };

  constructor(opts: { model: string; track: string; maxBatchSize: number; defaultMetrics?: boolean }) {
    this.labels = { model: opts.model, track: opts.track, version: 'none' };
    this.registry.setDefaultLabels(this.labels);
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'k2k_requests_total',
      help: 'Requests answered, by protocol (tfserving, v2, health, admin, metrics), transport (http, grpc), endpoint and status code (HTTP status, or gRPC status name).',
      labelNames: REQUEST_LABELS,
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'k2k_request_duration_seconds',
      help: 'Time from receiving a request to sending the response.',
      labelNames: REQUEST_LABELS,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.inFlight = new Gauge({
      name: 'k2k_requests_in_flight',
      help: 'Requests received and not yet answered.',
      labelNames: INFLIGHT_LABELS,
      registers,
    });
    const rowBuckets: number[] = [];
    for (let b = 1; b < opts.maxBatchSize; b *= 2) rowBuckets.push(b);
    rowBuckets.push(opts.maxBatchSize);
    this.batchRows = new Histogram({
      name: 'k2k_batch_size_rows',
      help: 'Rows per model call after micro-batching.',
      labelNames: VERSION_LABELS,
      buckets: rowBuckets,
      registers,
    });
    this.batchRequests = new Histogram({
      name: 'k2k_batch_requests',
      help: 'Requests gathered into one model call.',
      labelNames: VERSION_LABELS,
      buckets: rowBuckets,
      registers,
    });
    this.predictDuration = new Histogram({
      name: 'k2k_predict_duration_seconds',
      help: 'Time of one batched model call, preprocessing included.',
      labelNames: VERSION_LABELS,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.loadDuration = new Histogram({
      name: 'k2k_model_load_duration_seconds',
      help: 'Time to load a model version (read, verify, build, warm up), by result (success, failure).',
      labelNames: LOAD_LABELS,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.ready = new Gauge({
      name: 'k2k_model_ready',
      help: '1 when a model version is loaded, warmed up and serving; 0 otherwise.',
      registers,
    });
    this.info = new Gauge({
      name: 'k2k_model_info',
      help: 'The artifact being served (1): its URI, the sha256 of its manifest.json, task and TensorFlow.js backend.',
      labelNames: INFO_LABELS,
      registers,
    });
    this.backendInfo = new Gauge({
      name: 'k2k_model_backend_info',
      help: 'The TensorFlow.js backend the model runs on (1), and what K2K_BACKEND requested (auto: the fastest measured at load).',
      labelNames: BACKEND_LABELS,
      registers,
    });
    this.backendSeconds = new Gauge({
      name: 'k2k_model_backend_compute_seconds',
      help: 'Median time of one compute of the warm-up batch on each candidate backend, measured at the first load, by backend and batch rows.',
      labelNames: BACKEND_TIMING_LABELS,
      registers,
    });
    // A stable pod's forwarded requests are counted here, not in k2k_requests_total: the canary
    // pods count them under track="canary", and the stable track's error rate stays its own.
    this.canaryForwarded = new Counter({
      name: 'k2k_canary_forwarded_total',
      help: 'Inference requests this pod forwarded to the canary, by transport (http, grpc) and the status code the client got (HTTP status or gRPC status name; 502 or UNAVAILABLE with CanaryFailed: no answer from the canary).',
      labelNames: FORWARDED_LABELS,
      registers,
    });
    this.canaryFallback = new Counter({
      name: 'k2k_canary_fallback_total',
      help: 'Inference requests the split picked for the canary that this pod answered itself because the canary could not be reached, by transport (http, grpc).',
      labelNames: TRANSPORT_LABELS,
      registers,
    });
    this.canaryWeight = new Gauge({
      name: 'k2k_canary_weight_percent',
      help: 'Share of inference requests this pod forwards to the canary, as read from its traffic file.',
      registers,
    });
    // Drift series are computed at scrape time from whichever monitor is current then.
    registerDriftMetrics(this.registry, () => this.driftSource());
    if (opts.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges named like counters (promtool check metrics rejects them); each is the sum of its
      // nodejs_active_*{type} gauge, which stays.
      for (const name of [
        'nodejs_active_handles_total',
        'nodejs_active_requests_total',
        'nodejs_active_resources_total',
      ])
        this.registry.removeSingleMetric(name);
    }
  }

  /**
   * Counts a request in flight until the returned function ends it; a second call does nothing
   * (a request answered and then disconnected is counted once).
   */
  startRequest(protocol: Protocol, transport: Transport): FinishRequest {
    const at = process.hrtime.bigint();
    const version = this.version;
    this.inFlight.inc({ protocol, transport, version });
    let done = false;
    return (endpoint, code, servedVersion, forwarded) => {
      if (done) return;
      done = true;
      this.inFlight.dec({ protocol, transport, version });
      if (forwarded) {
        this.canaryForwarded.inc({ transport, code });
        return;
      }
      const labels = { protocol, transport, endpoint, code, version: servedVersion ?? version };
      this.requests.inc(labels);
      this.requestDuration.observe(labels, Number(process.hrtime.bigint() - at) / 1e9);
    };
  }

  /** Marks `labels` as the artifact now served (one series: the previous one is removed). */
  setServing(labels: Record<(typeof INFO_LABELS)[number], string>): void {
    this.info.reset();
    this.info.set(labels, 1);
  }

  /** Records the backend choice (made once per process, at the first load). */
  setBackend(choice: BackendChoice): void {
    this.backendInfo.reset();
    this.backendInfo.set({ backend: choice.backend, requested: choice.requested }, 1);
    this.backendSeconds.reset();
    for (const t of choice.timings) {
      this.backendSeconds.set({ backend: t.backend, batch: '1' }, t.batch1Seconds);
      this.backendSeconds.set({ backend: t.backend, batch: String(choice.maxBatch) }, t.maxBatchSeconds);
    }
  }

  setVersion(version: string): void {
    this.labels = { ...this.labels, version };
    this.registry.setDefaultLabels(this.labels);
  }

  get version(): string {
    return this.labels.version;
  }

  setDriftSource(source: DriftSource): void {
    this.driftSource = source;
  }
}
