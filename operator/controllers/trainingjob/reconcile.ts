// The TrainingJob reconcile: read the TrainingJob and its children from the caches, apply the
// desired children, compute the status once and patch it only when it changed. It follows the
// contract on the runtime's Reconciler type (operator/runtime/controller.ts).
import type { KubeConfig, V1Job, V1Pod } from '@kubernetes/client-node';
import {
  API_VERSION,
  RefusalReason,
  TRAININGJOB_KIND,
  TRAININGJOB_PLURAL,
  type TrainingJob,
  TrainingJobReason,
} from '../../../api/index.ts';
import {
  type EventRecorder,
  getObject,
  type Lister,
  type Logger,
  type ObjectKey,
  type ReconcileResult,
  splitKey,
} from '../../runtime/index.ts';
import type { Refusal } from '../conditions.ts';
import { applyChild } from '../invalid-spec.ts';
import { findConflict, ownershipOf, recheckAfter } from '../ownership.ts';
import { checkPodPolicy, type PodPolicy } from '../policy.ts';
import { publishStatus } from '../publish.ts';
import { desiredChildren, jobName, LABEL_TRAININGJOB, type TrainerImages } from './desired.ts';
import { computeStatus, finishedSummary, statusChanged } from './status.ts';

/** What a TrainingJob reconcile reads (caches) and writes with (API client, events). */
export interface TrainingJobDeps {
  kubeConfig: KubeConfig;
  images: TrainerImages;
  policy: PodPolicy;
  events?: EventRecorder;
  trainingJobs: Lister<TrainingJob>;
  jobs: Lister<V1Job>;
  pods: Lister<V1Pod>;
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
  ...Object.values(RefusalReason),
]);

/** The TrainingJob as the API server has it now (undefined once deleted), bypassing the cache. */
function readTrainingJob(kc: KubeConfig, namespace: string, name: string) {
  return getObject<TrainingJob>(
    kc,
    { apiVersion: API_VERSION, kind: TRAININGJOB_KIND, metadata: { namespace, name } },
    { plural: TRAININGJOB_PLURAL },
  );
}

export async function reconcileTrainingJob(
  deps: TrainingJobDeps,
  key: ObjectKey,
  log: Logger,
): Promise<ReconcileResult> {
  const { namespace, name } = splitKey(key);
  let tj = deps.trainingJobs.get(namespace, name);
  if (!tj || tj.metadata.deletionTimestamp) return; // owner references let the garbage collector clean up

  const cachedJob = deps.jobs.get(namespace, jobName(tj));
  // A Job in the cache that is not this TrainingJob's is neither described nor touched.
  const existingJob = ownershipOf(cachedJob, tj.metadata.uid!) === 'ours' ? cachedJob : undefined;
  if (!existingJob && tj.status?.jobName && !finishedSummary(tj.status)) {
    // Its Job is gone (ttlSecondsAfterFinished deletes it as soon as it completes). The two
    // watches are not ordered, so the cached TrainingJob may not show yet that it finished:
    // ask the API server before running the trainer again.
    tj = await readTrainingJob(deps.kubeConfig, namespace, name);
    if (!tj || tj.metadata.deletionTimestamp) return;
  }

  let error: Error | undefined;
  let refusal: Refusal | undefined;
  // A finished TrainingJob keeps its result: its Job is never made again nor changed.
  if (!finishedSummary(tj.status)) {
    try {
      const children = desiredChildren(tj, deps.images, existingJob);
      refusal =
        checkPodPolicy(tj.spec, deps.policy, tj.kind) ??
        (await findConflict(deps.kubeConfig, tj, children, (c) =>
          c.kind === 'Job' ? cachedJob : undefined,
        ));
      if (refusal) log.info('not applying children', { reason: refusal.reason, message: refusal.message });
      else for (const child of children) await applyChild(deps.kubeConfig, child);
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
      log.error('applying children failed', { error: error.message });
    }
  }

  const trainerPods = deps.pods
    .list(namespace)
    .filter((p) => p.metadata?.labels?.[LABEL_TRAININGJOB] === name);
  const status = computeStatus(tj, { job: existingJob, pods: trainerPods, error, refusal, now: new Date() });
  if (statusChanged(tj.status, status)) {
    await publishStatus(tj, status, {
      kubeConfig: deps.kubeConfig,
      plural: TRAININGJOB_PLURAL,
      events: deps.events,
      warningReasons: WARNING_REASONS,
      log,
      logFields: { phase: status.phase },
    });
  }
  // Returning the error retries with per-key backoff (a TerminalError is not retried); the status
  // above already tells the user.
  if (error) throw error;
  return recheckAfter(refusal);
}
