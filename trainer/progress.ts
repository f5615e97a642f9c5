// Reports per-epoch progress into the TrainingJob's status with server-side apply under the
// field manager k2k-trainer, which then owns status.progress and nothing else: the operator's
// own status fields (conditions, artifact, ...) are never touched. Reports are best effort —
// a failed one is logged as a warning and training goes on.
import { existsSync } from 'node:fs';
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { API_VERSION, GROUP, VERSION } from '../api/common.ts';
import { type TrainerConfig, TrainerEnv } from '../api/trainer.ts';
import type { TrainingProgress } from '../api/training.ts';
import { TRAININGJOB_KIND, TRAININGJOB_PLURAL } from '../api/trainingjob.ts';
import type { Logger } from './log.ts';
import type { EpochMetrics } from './train.ts';

export const FIELD_MANAGER = 'k2k-trainer';
export const HISTORY_LIMIT = 500;
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface ProgressReporter {
  /** Queues a report; only the newest queued one is sent when a send is already in flight. */
  report(progress: TrainingProgress): void;
  /** Waits (at most timeoutMs) for the queued report to be sent. */
  flush(timeoutMs?: number): Promise<void>;
}

/** Significant digits of status.progress.metrics, which `kubectl get trainingjobs` prints. */
const DISPLAY_DIGITS = 4;

/** Which trainer run reports: its pod, and the checkpoint it resumed from (if it did). */
export interface ReportingRun {
  pod?: string;
  resumedFromEpoch?: number;
  /** spec.resumeFrom: the epochs the continued run had trained. */
  continuedFromEpoch?: number;
  /** How the steps run (trainer/graph/engine.ts), once training has started. */
  stepEngine?: string;
}

/**
 * The progress object for status.progress: metrics of the last epoch, rounded for people (kubectl
 * prints a float64 with all 17 digits), and the newest 500 epochs at full precision.
 */
export function progressOf(
  history: EpochMetrics[],
  epochs: number,
  backend: string,
  { run = {}, now = new Date() }: { run?: ReportingRun; now?: Date } = {},
): TrainingProgress {
  const strip = ({ epoch: _, ...metrics }: EpochMetrics) => finite(metrics);
  const last = history[history.length - 1];
  return {
    epoch: last?.epoch ?? 0,
    epochs,
    metrics: last ? rounded(strip(last)) : {},
    history: history.slice(-HISTORY_LIMIT).map((h) => ({ epoch: h.epoch, metrics: strip(h) })),
    backend,
    ...(run.resumedFromEpoch !== undefined ? { resumedFromEpoch: run.resumedFromEpoch } : {}),
    ...(run.continuedFromEpoch !== undefined ? { continuedFromEpoch: run.continuedFromEpoch } : {}),
    ...(run.pod ? { pod: run.pod } : {}),
    ...(run.stepEngine ? { stepEngine: run.stepEngine } : {}),
    updateTime: now.toISOString(),
  };
}

function rounded(m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Number(v.toPrecision(DISPLAY_DIGITS))]));
}

/** The API server rejects NaN/Infinity in JSON; such a metric is left out. */
function finite(m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(m).filter(([, v]) => Number.isFinite(v)));
}

/** The kubeconfig to report with: in-cluster (service-account token) or K2K_KUBECONFIG; none otherwise. */
export function kubeConfigFromEnv(env: NodeJS.ProcessEnv = process.env): KubeConfig | undefined {
  const kc = new KubeConfig();
  const file = env[TrainerEnv.Kubeconfig];
  if (file) {
    kc.loadFromFile(file);
    return kc;
  }
  if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
    kc.loadFromCluster();
    return kc;
  }
  return undefined;
}

export function createProgressReporter(
  job: NonNullable<TrainerConfig['trainingJob']>,
  kc: KubeConfig,
  log: Logger,
): ProgressReporter {
  const api = kc.makeApiClient(CustomObjectsApi);
  // SSA needs the apply content type; client-node 1.x picks JSON merge patch unless told otherwise.
  const applyOptions = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
  let pending: TrainingProgress | undefined;
  let inflight: Promise<void> | undefined;
  let lastError = '';

  const send = async (progress: TrainingProgress) => {
    const body = {
      apiVersion: API_VERSION,
      kind: TRAININGJOB_KIND,
      // The uid makes the apply a precondition: a TrainingJob recreated under the same name is not ours.
      metadata: { name: job.name, namespace: job.namespace, ...(job.uid ? { uid: job.uid } : {}) },
      status: { progress },
    };
    try {
      await api.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          namespace: job.namespace,
          plural: TRAININGJOB_PLURAL,
          name: job.name,
          body,
          fieldManager: FIELD_MANAGER,
          force: true,
        },
        applyOptions,
      );
      lastError = '';
    } catch (err) {
      const message = describeError(err);
      // One warning per distinct failure, not one per epoch.
      if (message !== lastError)
        log.warn('progress report failed; training continues', { error: message, epoch: progress.epoch });
      lastError = message;
    }
  };

  const pump = async () => {
    while (pending) {
      const next = pending;
      pending = undefined;
      await send(next);
    }
    inflight = undefined;
  };

  return {
    report(progress) {
      pending = progress;
      inflight ??= pump();
    },
    async flush(timeoutMs = 10_000) {
      if (!inflight) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        inflight,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
    },
  };
}

function describeError(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  if (typeof e.code === 'number' && e.body !== undefined) {
    const body = typeof e.body === 'string' ? e.body : JSON.stringify(e.body);
    let message = body;
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {}
    return `HTTP ${e.code}: ${message.slice(0, 300)}`;
  }
  return e.message ?? String(err);
}
