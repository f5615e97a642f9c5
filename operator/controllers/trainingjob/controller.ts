// The TrainingJob reconciler: read the TrainingJob and its children from the caches, apply the
// desired children, compute the status once and patch it only when it changed. It never looks at
// which event woke it up.
import type { KubeConfig, V1Job, V1Pod } from '@kubernetes/client-node';
import {
  API_VERSION,
  TRAININGJOB_KIND,
  TRAININGJOB_PLURAL,
  type TrainingJob,
  TrainingJobConditionType,
  TrainingJobReason,
} from '../../../api/index.ts';
import {
  apply,
  Controller,
  type EventRecorder,
  type Logger,
  type Manager,
  type ObjectKey,
  type ReconcileResult,
  splitKey,
} from '../../runtime/index.ts';
import { isTrue } from '../conditions.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../labels.ts';
import { publishStatus } from '../publish.ts';
import { desiredChildren, jobName, LABEL_TRAININGJOB, type TrainerImages } from './desired.ts';
import { computeStatus, statusChanged } from './status.ts';

export interface TrainingJobControllerOptions {
  kubeConfig: KubeConfig;
  images: TrainerImages;
  /** Watch one namespace only; all namespaces if unset. */
  namespace?: string;
  workers?: number;
  events?: EventRecorder;
}

/** Ready reasons that need someone's attention are recorded as Warning events. */
const WARNING_REASONS = new Set<string>([
  TrainingJobReason.Unschedulable,
  TrainingJobReason.ImagePullFailed,
  TrainingJobReason.Restarting,
  TrainingJobReason.InvalidInput,
  TrainingJobReason.BackoffLimitExceeded,
  TrainingJobReason.DeadlineExceeded,
  TrainingJobReason.TrainerFailed,
  TrainingJobReason.ReconcileError,
]);

export function setupTrainingJobController(manager: Manager, opts: TrainingJobControllerOptions): Controller {
  const ns = opts.namespace ? { namespace: opts.namespace } : {};
  const trainingJobs = manager.informer<TrainingJob>({
    apiVersion: API_VERSION,
    kind: TRAININGJOB_KIND,
    plural: TRAININGJOB_PLURAL,
    ...ns,
  });
  const jobs = manager.informer<V1Job>({
    apiVersion: 'batch/v1',
    kind: 'Job',
    plural: 'jobs',
    labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_TRAININGJOB}`,
    ...ns,
  });
  const pods = manager.informer<V1Pod>({
    apiVersion: 'v1',
    kind: 'Pod',
    plural: 'pods',
    labelSelector: LABEL_TRAININGJOB,
    ...ns,
  });

  const reconcile = async (key: ObjectKey, log: Logger): Promise<ReconcileResult> => {
    const { namespace, name } = splitKey(key);
    const tj = trainingJobs.get(namespace, name);
    if (!tj || tj.metadata.deletionTimestamp) return; // owner references let the garbage collector clean up

    const existingJob = jobs.get(namespace, jobName(tj));
    const finished =
      isTrue(tj.status?.conditions, TrainingJobConditionType.Succeeded) ||
      isTrue(tj.status?.conditions, TrainingJobConditionType.Failed);

    let error: Error | undefined;
    // A finished TrainingJob whose Job was removed (ttlSecondsAfterFinished) is not run again.
    if (!(finished && !existingJob)) {
      try {
        for (const child of desiredChildren(tj, opts.images, existingJob)) {
          await apply(opts.kubeConfig, child);
        }
      } catch (err) {
        error = err instanceof Error ? err : new Error(String(err));
        log.error('applying children failed', { error: error.message });
      }
    }

    const trainerPods = pods.list(namespace).filter((p) => p.metadata?.labels?.[LABEL_TRAININGJOB] === name);
    const status = computeStatus(tj, { job: existingJob, pods: trainerPods, error, now: new Date() });
    if (statusChanged(tj.status, status)) {
      await publishStatus(tj, status, {
        kubeConfig: opts.kubeConfig,
        plural: TRAININGJOB_PLURAL,
        events: opts.events,
        warningReasons: WARNING_REASONS,
        log,
        logFields: { phase: status.phase },
      });
    }
    // Returning the error retries with per-key backoff; the status above already tells the user.
    if (error) throw error;
  };

  const controller = new Controller({ name: 'trainingjob', reconcile, workers: opts.workers })
    .watches(trainingJobs)
    .owns(jobs, { apiVersion: API_VERSION, kind: TRAININGJOB_KIND })
    .watchesMapped(pods, (pod) => {
      const owner = pod.metadata?.labels?.[LABEL_TRAININGJOB];
      return owner && pod.metadata?.namespace ? [`${pod.metadata.namespace}/${owner}`] : [];
    });
  manager.add(controller);
  return controller;
}
