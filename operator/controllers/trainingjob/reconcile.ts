// The TrainingJob reconcile: read the TrainingJob and its children from the caches, apply the
// desired children, compute the status once and patch it only when it changed. It follows the
// contract on the runtime's Reconciler type (operator/runtime/controller.ts).
import type {
  KubernetesObject,
  V1Job,
  V1Pod,
  V1Role,
  V1RoleBinding,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import {
  API_VERSION,
  RefusalReason,
  TRAININGJOB_KIND,
  TRAININGJOB_PLURAL,
  type TrainingJob,
  TrainingJobEventReason,
  TrainingJobReason,
} from '../../../api/index.ts';
import type { KubeConfig } from '../../runtime/index.ts';
import {
  applyChildren,
  type ChildApply,
  type EventRecorder,
  getObject,
  type Lister,
  type Logger,
  type ObjectKey,
  type ReconcileResult,
  type RuntimeMetrics,
  splitKey,
} from '../../runtime/index.ts';
import type { Refusal } from '../conditions.ts';
import { classifyApplyError } from '../invalid-spec.ts';
import { cachedConflict, conflictOf, ownedBy, ownershipOf, recheckAfter } from '../ownership.ts';
import { checkPodPolicy, type PodPolicy } from '../policy.ts';
import { publishStatus } from '../publish.ts';
import { desiredChildren, desiredJob, jobName, LABEL_TRAININGJOB, type TrainerImages } from './desired.ts';
import { computeStatus, finishedSummary, newResumes, statusChanged } from './status.ts';

/** What a TrainingJob reconcile reads (caches) and writes with (API client, events). */
export interface TrainingJobDeps {
  kubeConfig: KubeConfig;
  images: TrainerImages;
  policy: PodPolicy;
  events?: EventRecorder;
  metrics?: RuntimeMetrics;
  trainingJobs: Lister<TrainingJob>;
  jobs: Lister<V1Job>;
  serviceAccounts: Lister<V1ServiceAccount>;
  roles: Lister<V1Role>;
  roleBindings: Lister<V1RoleBinding>;
  pods: Lister<V1Pod>;
}

/** The trainer's ServiceAccount, Role or RoleBinding as the cache has it (the Job is looked up apart). */
function cachedChild(deps: TrainingJobDeps, child: KubernetesObject): KubernetesObject | undefined {
  const { namespace, name } = child.metadata!;
  const lister = {
    ServiceAccount: deps.serviceAccounts,
    Role: deps.roles,
    RoleBinding: deps.roleBindings,
  }[child.kind as string] as Lister<KubernetesObject> | undefined;
  return lister?.get(namespace, name!);
}

/**
 * The children to apply, in three stages: the account and the Role together, then the RoleBinding
 * (RBAC refuses to bind a Role it cannot find: 404), then the Job whose pods run as the account.
 * The Job comes last on its own so that no trainer starts while a name the others need turns out
 * to be someone else's (a stage stops at a foreign object). Each is paired with its cached copy,
 * so unchanged ones are skipped.
 */
function childStages(
  deps: TrainingJobDeps,
  tj: TrainingJob,
  children: KubernetesObject[],
  existingJob: V1Job | undefined,
): ChildApply[][] {
  const stages: ChildApply[][] = [[], [], []];
  for (const desired of children) {
    if (desired.kind === 'Job') {
      // The Job copies its immutable pod template from the live Job: hash what the TrainingJob
      // asks for instead, so the copy does not read as a change.
      stages[2]!.push({ desired, live: existingJob, hashed: desiredJob(tj, deps.images) });
    } else {
      stages[desired.kind === 'RoleBinding' ? 1 : 0]!.push({ desired, live: cachedChild(deps, desired) });
    }
  }
  return stages;
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
  let job = existingJob;
  // A finished TrainingJob keeps its result: its Job is never made again nor changed. A stopped one
  // gets no new children either: its Job is suspended below once the status says Stopped.
  if (!finishedSummary(tj.status) && !tj.spec.stop) {
    try {
      const children = desiredChildren(tj, deps.images, existingJob);
      refusal =
        checkPodPolicy(tj.spec, deps.policy, tj.kind) ??
        cachedConflict(tj, children, (c) => (c.kind === 'Job' ? cachedJob : cachedChild(deps, c)));
      if (!refusal) {
        const stored = await applyChildren(deps.kubeConfig, childStages(deps, tj, children, existingJob), {
          metrics: deps.metrics,
          owns: ownedBy(tj),
          classifyError: classifyApplyError,
        });
        // A Job just written is newer than the cache: the status describes it now, so the pass
        // the Job's watch event brings finds nothing to write (one status write, not two).
        job = (stored.find((c) => c.kind === 'Job') as V1Job | undefined) ?? job;
      }
    } catch (err) {
      refusal = conflictOf(err, tj);
      if (!refusal) {
        error = err instanceof Error ? err : new Error(String(err));
        log.error('applying children failed', { error: error.message });
      }
    }
    if (refusal) log.info('not applying children', { reason: refusal.reason, message: refusal.message });
  }

  const trainerPods = deps.pods
    .list(namespace)
    .filter((p) => p.metadata?.labels?.[LABEL_TRAININGJOB] === name);
  const status = computeStatus(tj, { job, pods: trainerPods, error, refusal, now: new Date() });
  if (statusChanged(tj.status, status)) {
    await publishStatus(tj, status, {
      kubeConfig: deps.kubeConfig,
      plural: TRAININGJOB_PLURAL,
      events: deps.events,
      warningReasons: WARNING_REASONS,
      log,
      logFields: { phase: status.phase },
    });
    for (const r of newResumes(tj.status, status)) {
      await deps.events?.record(
        tj,
        'Normal',
        TrainingJobEventReason.Resumed,
        `Resumed from checkpoint at epoch ${r.epoch} in pod ${r.pod}: the epochs before it were not trained again`,
      );
    }
  }
  if (status.phase === 'Stopped' && existingJob && existingJob.spec?.suspend !== true) {
    // Level-based: a stopped TrainingJob's Job is suspended (the Job controller deletes its pod),
    // whichever pass recorded the stop; nothing resumes it again.
    await applyChildren(
      deps.kubeConfig,
      [
        [
          {
            desired: desiredJob(tj, deps.images, existingJob),
            live: existingJob,
            hashed: desiredJob(tj, deps.images),
          },
        ],
      ],
      { metrics: deps.metrics, owns: ownedBy(tj), classifyError: classifyApplyError },
    );
    log.info('stopped: trainer Job suspended', { job: existingJob.metadata?.name });
  }
  // Returning the error retries with per-key backoff (a TerminalError is not retried); the status
  // above already tells the user.
  if (error) throw error;
  return recheckAfter(refusal);
}
