// Computes a TrainingJob's status from what the cluster shows, once per reconcile, as a pure
// function: the trainer Job, its pods and the error of this pass (if any).
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import {
  type Condition,
  decodeTermination,
  isStopReason,
  MAX_RESUMES,
  TrainingJobReason as Reason,
  type TerminationMessage,
  TrainerExitCode,
  type TrainingJob,
  type TrainingJobStatus,
  TrainingJobConditionType as Type,
} from '../../../api/index.ts';
import {
  type ConditionInput,
  findCondition,
  type Refusal,
  sameStatus,
  setCondition,
  toRFC3339,
} from '../conditions.ts';
import { invalidSpecRefusal } from '../invalid-spec.ts';
import { jobName, TRAINER_CONTAINER } from './desired.ts';

/** The part of status the operator owns (status.progress belongs to the trainer). */
export type OperatorStatus = Omit<TrainingJobStatus, 'progress'>;

export interface Observed {
  job?: V1Job;
  pods: V1Pod[];
  /** An error of this reconcile pass (for example a failed apply). */
  error?: Error;
  /** Why this pass wrote no children (policy, a foreign object in a child's place). */
  refusal?: Refusal;
  now: Date;
}

function terminationMessage(pod: V1Pod): string | undefined {
  const status = pod.status?.containerStatuses?.find((c) => c.name === TRAINER_CONTAINER);
  return status?.state?.terminated?.message ?? status?.lastState?.terminated?.message;
}

const byCreation = (a: V1Pod, b: V1Pod) =>
  new Date(a.metadata?.creationTimestamp ?? 0).getTime() -
  new Date(b.metadata?.creationTimestamp ?? 0).getTime();

function jobCondition(job: V1Job | undefined, type: string) {
  return job?.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

export interface Summary {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Stopped' | 'Suspended';
  reason: string;
  message: string;
}

/** Why the newest pod is not running yet, in words a user can act on. */
function pendingSummary(pod: V1Pod | undefined): Summary {
  if (!pod)
    return { phase: 'Pending', reason: Reason.Pending, message: 'waiting for the trainer pod to be created' };
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return {
      phase: 'Pending',
      reason: Reason.Unschedulable,
      message: `trainer pod ${pod.metadata?.name} cannot be scheduled: ${scheduled.message ?? 'no node fits'}`,
    };
  }
  const waiting = pod.status?.containerStatuses?.find((c) => c.name === TRAINER_CONTAINER)?.state?.waiting;
  if (waiting && /ImagePull|ErrImage|InvalidImageName/.test(waiting.reason ?? '')) {
    return {
      phase: 'Pending',
      reason: Reason.ImagePullFailed,
      message: `trainer image cannot be pulled (${waiting.reason}): ${waiting.message ?? ''}`.trim(),
    };
  }
  if (!pod.spec?.nodeName) {
    return {
      phase: 'Pending',
      reason: Reason.Pending,
      message: `trainer pod ${pod.metadata?.name} is waiting to be scheduled on a node`,
    };
  }
  return {
    phase: 'Pending',
    reason: Reason.Pending,
    message: `trainer pod ${pod.metadata?.name} is starting on node ${pod.spec.nodeName}${waiting?.reason ? ` (${waiting.reason})` : ''}`,
  };
}

/**
 * Why the trainer is not running although an earlier one had started: its pod was stopped from
 * outside (deleted, evicted, preempted, its node lost), which the Job does not count as a failure
 * (ADR 0025), so neither does job.status.failed. Undefined when nothing says a trainer ran before.
 */
function stoppedTrainer(tj: TrainingJob, job: V1Job, pods: V1Pod[]): string | undefined {
  const stopped = pods
    .filter((p) => p.metadata?.deletionTimestamp || p.status?.phase === 'Failed')
    .sort(byCreation)
    .at(-1);
  if (stopped) {
    const name = stopped.metadata?.name;
    const disruption = stopped.status?.conditions?.find(
      (c) => c.type === 'DisruptionTarget' && c.status === 'True',
    );
    if (disruption) return `trainer pod ${name} was stopped (${disruption.reason ?? 'DisruptionTarget'})`;
    const exit = stopped.status?.containerStatuses?.find((c) => c.name === TRAINER_CONTAINER)?.state
      ?.terminated?.exitCode;
    if (exit === TrainerExitCode.Stopped) return `trainer pod ${name} was stopped (deleted or evicted)`;
    // The Job fails on invalid input a moment later: nothing replaces that pod.
    if (exit === TrainerExitCode.InvalidInput) return undefined;
    if (stopped.metadata?.deletionTimestamp) return `trainer pod ${name} is being deleted`;
    return `trainer pod ${name} failed`;
  }
  const progress = tj.status?.progress;
  // Suspending deletes the pod on purpose; resuming is not a restart to warn about.
  const suspended = job.status?.conditions?.find((c) => c.type === 'Suspended')?.lastTransitionTime;
  const reported = progress?.updateTime ? new Date(progress.updateTime).getTime() : 0;
  if (suspended && new Date(suspended).getTime() >= reported) return undefined;
  if (progress)
    return `the trainer pod${progress.pod ? ` ${progress.pod}` : ''} that reported epoch ${progress.epoch}/${progress.epochs} stopped before it finished`;
  return undefined;
}

function failureSummary(job: V1Job, pods: V1Pod[]): Summary {
  const failed = jobCondition(job, 'Failed');
  const lastFailed = pods
    .filter((p) => p.status?.phase === 'Failed')
    .sort(byCreation)
    .at(-1);
  const result = lastFailed ? decodeTermination(terminationMessage(lastFailed)) : undefined;
  const detail = result?.error?.message ? `: ${result.error.message}` : '';
  switch (failed?.reason) {
    case 'PodFailurePolicy':
      return {
        phase: 'Failed',
        reason: Reason.InvalidInput,
        message: `the trainer rejected its input${detail}`,
      };
    case 'BackoffLimitExceeded':
      return {
        phase: 'Failed',
        reason: Reason.BackoffLimitExceeded,
        message: `the trainer failed ${job.status?.failed ?? 0} times${detail}`,
      };
    case 'DeadlineExceeded':
      return {
        phase: 'Failed',
        reason: Reason.DeadlineExceeded,
        message: `training ran longer than spec.activeDeadlineSeconds (${job.spec?.activeDeadlineSeconds}s)`,
      };
    default:
      return {
        phase: 'Failed',
        reason: Reason.TrainerFailed,
        message: `${failed?.message ?? 'the trainer Job failed'}${detail}`,
      };
  }
}

/**
 * What the newest trainer that exited 0 wrote to its termination message. Kept in status as soon
 * as it is seen: its pod may be gone by the next pass (ttlSecondsAfterFinished deletes the Job
 * and its pods the moment the Job completes).
 */
function succeededResult(pods: V1Pod[]): TerminationMessage | undefined {
  const succeeded = pods
    .filter((p) => p.status?.phase === 'Succeeded')
    .sort(byCreation)
    .at(-1);
  return succeeded ? decodeTermination(terminationMessage(succeeded)) : undefined;
}

/**
 * The summary a finished TrainingJob's status already records, if it finished. A finished result
 * is final: whatever happens to the Job afterwards (deleted by ttlSecondsAfterFinished or by
 * someone, replaced by a fresh one, its pods gone), the status keeps it and the trainer never
 * runs again.
 */
export function finishedSummary(status: TrainingJobStatus | undefined): Summary | undefined {
  const succeeded = findCondition(status?.conditions, Type.Succeeded);
  if (succeeded?.status === 'True')
    return { phase: 'Succeeded', reason: succeeded.reason, message: succeeded.message };
  const failed = findCondition(status?.conditions, Type.Failed);
  if (failed?.status === 'True')
    return {
      phase: isStopReason(failed.reason) ? 'Stopped' : 'Failed',
      reason: failed.reason,
      message: failed.message,
    };
  return undefined;
}

/** The summary of a TrainingJob spec.stop ends (ADR 0020). */
function stoppedSummary(tj: TrainingJob): Summary | undefined {
  const stop = tj.spec.stop;
  if (!stop) return undefined;
  return {
    phase: 'Stopped',
    reason: stop.reason,
    message: stop.message ?? 'spec.stop is set: the trainer was stopped',
  };
}

function summarize(
  tj: TrainingJob,
  { job, pods }: Observed,
  result: TerminationMessage | undefined,
): Summary {
  // A trainer exits 0 only after its artifact is committed and verified, so its termination
  // message is proof enough, even when the Job was deleted before it was marked Complete.
  const complete = jobCondition(job, 'Complete');
  if (result?.artifact || (complete && !job?.metadata?.deletionTimestamp)) {
    return {
      phase: 'Succeeded',
      reason: Reason.Succeeded,
      message: 'the model was trained and its artifact written',
    };
  }
  if (complete) {
    // ttlSecondsAfterFinished took the pods before this pass read the artifact from them.
    // Succeeded without an artifact would be final, so wait: the Job is made again once it is
    // gone, and the retried trainer reports the artifact it committed (trainer/finished.ts).
    return {
      phase: 'Running',
      reason: Reason.Running,
      message: `trainer Job ${job!.metadata?.name} completed but is being deleted before its result was read; it will run again to report its artifact`,
    };
  }
  if (job && jobCondition(job, 'Failed')) return failureSummary(job, pods);
  // A stop never undoes a result: a committed artifact or a failed Job above wins over it.
  const stop = stoppedSummary(tj);
  if (stop) return stop;
  if (tj.spec.suspend) {
    return {
      phase: 'Suspended',
      reason: Reason.Suspended,
      message: 'spec.suspend is true: the trainer is not running',
    };
  }
  if (!job)
    return { phase: 'Pending', reason: Reason.JobCreated, message: `creating trainer Job ${jobName(tj)}` };
  const newest = pods
    .filter((p) => !p.metadata?.deletionTimestamp)
    .sort(byCreation)
    .at(-1);
  if (newest?.status?.phase === 'Running') {
    const progress = tj.status?.progress;
    const where = progress ? `, epoch ${progress.epoch}/${progress.epochs}` : '';
    // Said only once this pod reported it: the progress may still be the stopped pod's.
    const resumed =
      progress?.resumedFromEpoch !== undefined && progress.pod === newest.metadata?.name
        ? `, resumed from the checkpoint of epoch ${progress.resumedFromEpoch}`
        : '';
    return {
      phase: 'Running',
      reason: Reason.Running,
      message: `training in pod ${newest.metadata?.name}${where}${resumed}`,
    };
  }
  if (newest?.status?.phase === 'Succeeded') {
    // The trainer exited 0; the Job controller marks the Job Complete a moment later (after
    // SuccessCriteriaMet). Until then training is over but not yet settled: still Running, never
    // back to Pending, so a watcher sees Running -> Succeeded.
    return {
      phase: 'Running',
      reason: Reason.Running,
      message: `trainer pod ${newest.metadata?.name} finished; waiting for Job ${job.metadata?.name} to complete`,
    };
  }
  if ((job.status?.failed ?? 0) > 0 && newest?.status?.phase !== 'Running') {
    const s = pendingSummary(newest);
    return {
      ...s,
      reason: s.reason === Reason.Pending ? Reason.Restarting : s.reason,
      message: `retrying after ${job.status?.failed} failed attempt(s): ${s.message}`,
    };
  }
  const stopped = stoppedTrainer(tj, job, pods);
  if (stopped) {
    const s = pendingSummary(newest);
    return {
      ...s,
      reason: s.reason === Reason.Pending ? Reason.Restarting : s.reason,
      message: `${stopped}; the Job replaces it and training resumes from the newest checkpoint: ${s.message}`,
    };
  }
  return pendingSummary(newest);
}

export const isTerminal = (phase: Summary['phase'] | undefined) =>
  phase === 'Succeeded' || phase === 'Failed' || phase === 'Stopped';

/** The new operator-owned status; conditions keep their transition times when unchanged. */
export function computeStatus(tj: TrainingJob, observed: Observed): OperatorStatus {
  const { job, pods, error, now } = observed;
  // The API server refusing a child built from the spec is a refusal too: Stalled, not retried.
  const refusal = observed.refusal ?? invalidSpecRefusal(error);
  const generation = tj.metadata.generation;
  const finished = finishedSummary(tj.status);
  const result = succeededResult(pods);
  const summary = finished ?? summarize(tj, observed, result);
  const terminal = isTerminal(summary.phase);

  let conditions: Condition[] = [...(tj.status?.conditions ?? [])];
  const set = (input: ConditionInput) => {
    conditions = setCondition(conditions, input, generation, now);
  };
  const flag = (type: string, on: boolean, reason: string, message: string) =>
    set({ type, status: on ? 'True' : 'False', reason, message });

  flag(Type.Running, summary.phase === 'Running', summary.reason, summary.message);
  flag(Type.Succeeded, summary.phase === 'Succeeded', summary.reason, summary.message);
  // Stopped is a Failed (ADR 0020): it ended without an artifact and nothing will change that, so
  // Stalled too; kstatus reads Ready False without Stalled as still in progress.
  flag(
    Type.Failed,
    summary.phase === 'Failed' || summary.phase === 'Stopped',
    summary.reason,
    summary.message,
  );
  flag(
    Type.Suspended,
    summary.phase === 'Suspended',
    summary.phase === 'Suspended' ? Reason.Suspended : Reason.NotSuspended,
    summary.phase === 'Suspended' ? summary.message : 'spec.suspend is false',
  );

  if (refusal && !terminal) {
    // Retrying cannot help until someone acts: Stalled, not Reconciling (kstatus).
    flag(Type.Ready, false, refusal.reason, refusal.message);
    flag(Type.Reconciling, false, refusal.reason, refusal.message);
    flag(Type.Stalled, true, refusal.reason, refusal.message);
  } else if (error && !terminal) {
    set({ type: Type.Ready, status: 'False', reason: Reason.ReconcileError, message: error.message });
    flag(Type.Reconciling, true, Reason.ReconcileError, `retrying: ${error.message}`);
    flag(Type.Stalled, false, summary.reason, summary.message);
  } else {
    flag(Type.Ready, summary.phase === 'Succeeded', summary.reason, summary.message);
    flag(Type.Reconciling, !terminal && summary.phase !== 'Suspended', summary.reason, summary.message);
    flag(
      Type.Stalled,
      summary.phase === 'Failed' || summary.phase === 'Stopped',
      summary.reason,
      summary.message,
    );
  }

  if (finished) {
    // Server-side apply removes every field this pass does not send: what was recorded when the
    // TrainingJob finished (artifact, metrics, times, attempts, Job name) is sent again as it was.
    const { progress: _trainerOwned, ...recorded } = tj.status ?? {};
    const resumes = resumesOf(tj.status, now);
    return {
      ...recorded,
      observedGeneration: generation,
      conditions,
      phase: summary.phase,
      ...(resumes ? { resumes } : {}),
    };
  }
  const status: OperatorStatus = {
    observedGeneration: generation,
    conditions,
    phase: summary.phase,
  };
  const resumes = resumesOf(tj.status, now);
  if (resumes) status.resumes = resumes;
  if (job) {
    status.jobName = job.metadata?.name;
    const attempts = attemptsOf(job, pods);
    if (attempts > 0) status.attempts = attempts;
  }
  const startTime = job?.status?.startTime ?? tj.status?.startTime;
  if (startTime) status.startTime = toRFC3339(new Date(startTime));
  if (terminal) {
    const finishedAt =
      job?.status?.completionTime ??
      jobCondition(job, 'Failed')?.lastTransitionTime ??
      tj.status?.completionTime;
    status.completionTime = finishedAt ? toRFC3339(new Date(finishedAt)) : toRFC3339(now);
  }
  if (summary.phase === 'Succeeded') {
    const artifact = result?.artifact ?? tj.status?.artifact;
    if (artifact) status.artifact = artifact;
    // What it was trained on, as the trainer read it: a person can tell which data made the model.
    const dataset = result?.dataset ?? tj.status?.dataset;
    if (dataset) status.dataset = dataset;
    const metrics = result?.metrics ? finiteMetrics(result.metrics) : tj.status?.metrics;
    if (metrics) status.metrics = metrics;
  }
  return status;
}

export type Resume = NonNullable<TrainingJobStatus['resumes']>[number];

/**
 * status.resumes: what was recorded, plus the reporting trainer pod once its progress says it
 * resumed from a checkpoint. The trainer owns status.progress and a newer pod's report replaces
 * an older one's, so the operator keeps the record.
 */
export function resumesOf(status: TrainingJobStatus | undefined, now: Date): Resume[] | undefined {
  const recorded = status?.resumes ?? [];
  const progress = status?.progress;
  const pod = progress?.pod;
  const epoch = progress?.resumedFromEpoch;
  if (!pod || epoch === undefined || recorded.some((r) => r.pod === pod))
    return recorded.length > 0 ? recorded : undefined;
  return [...recorded, { pod, epoch, time: toRFC3339(now) }].slice(-MAX_RESUMES);
}

/** Entries of `next` that `current` does not have yet: resumes to announce with an event. */
export function newResumes(current: TrainingJobStatus | undefined, next: OperatorStatus): Resume[] {
  const known = new Set((current?.resumes ?? []).map((r) => r.pod));
  return (next.resumes ?? []).filter((r) => !known.has(r.pod));
}

/**
 * Trainer pods the Job has started. The Job controller first records a finished pod in
 * uncountedTerminatedPods and only later in failed/succeeded, so its counters alone can briefly
 * miss an attempt; the pods the cache holds are a lower bound too.
 */
export function attemptsOf(job: V1Job, pods: readonly V1Pod[]): number {
  const s = job.status;
  const counted =
    (s?.active ?? 0) +
    (s?.failed ?? 0) +
    (s?.succeeded ?? 0) +
    (s?.uncountedTerminatedPods?.failed?.length ?? 0) +
    (s?.uncountedTerminatedPods?.succeeded?.length ?? 0);
  return Math.max(counted, pods.length);
}

/** status.metrics holds numbers only: a metric training could not compute (null) is left out. */
function finiteMetrics(metrics: Record<string, number | null>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(metrics).filter(
      (e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]),
    ),
  );
}

/** Whether `next` differs from the operator-owned part of `current` (so a patch is needed). */
export function statusChanged(current: TrainingJobStatus | undefined, next: OperatorStatus): boolean {
  const { progress: _ignored, ...owned } = current ?? {};
  return !sameStatus(owned, next);
}

export { findCondition };
