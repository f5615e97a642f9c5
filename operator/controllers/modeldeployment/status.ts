// Computes a ModelDeployment's status from what the cluster shows, once per reconcile, as a pure
// function: the TrainingJob it serves (if any), the serving Deployment, its pods and the error of
// this pass, with the Monitoring condition of this pass's monitoring objects and the Drifting
// condition from the last answer from Prometheus (drifting.ts).
import type { V1ContainerStatus, V1Deployment, V1Pod } from '@kubernetes/client-node';
import {
  CanaryPhase,
  CanaryReason,
  type CanaryStatus,
  type Condition,
  type HyperparameterSweep,
  isModelLoadFailure,
  type ModelDeployment,
  type ModelDeploymentStatus,
  PERMANENT_LOAD_FAILURES,
  ModelDeploymentReason as Reason,
  type RetrainingStatus,
  SweepConditionType,
  type TrainingJob,
  TrainingJobConditionType,
  ModelDeploymentConditionType as Type,
} from '../../../api/index.ts';
import {
  type ConditionInput,
  findCondition,
  isTrue,
  type Refusal,
  sameStatus,
  setCondition,
  toRFC3339,
} from '../conditions.ts';
import { invalidSpecRefusal } from '../invalid-spec.ts';
import { ownershipOf } from '../ownership.ts';
import {
  deploymentName,
  GRPC_PORT,
  MODEL_URI_ENV,
  SERVER_CONTAINER,
  SERVICE_PORT,
  serviceName,
} from './desired.ts';
import { type DriftObservation, driftingCondition } from './drifting.ts';

export type Status = ModelDeploymentStatus;

/** Where the artifact to serve comes from, as resolved in this pass. */
export type Resolution =
  | { state: 'resolved'; uri: string; version?: string }
  | { state: 'waiting'; reason: string; message: string }
  | { state: 'failed'; reason: string; message: string };

const VERSION_SEGMENT = /^[1-9][0-9]{0,18}$/;

/** …/<model>/<version>/ names a version; …/<model>/ lets the server pick the newest one (no version). */
function versionOf(uri: string): string | undefined {
  const last = uri.replace(/\/+$/, '').split('/').at(-1) ?? '';
  return VERSION_SEGMENT.test(last) ? last : undefined;
}

/** The artifact a Deployment the operator made serves (its K2K_MODEL_URI). */
export function servedURI(deployment: V1Deployment | undefined): string | undefined {
  const server = deployment?.spec?.template?.spec?.containers?.find((c) => c.name === SERVER_CONTAINER);
  return server?.env?.find((e) => e.name === MODEL_URI_ENV)?.value;
}

/**
 * The best trial of the referenced sweep, once there is one with an artifact. `bestTrial` is the
 * TrainingJob the sweep's status.bestTrial names, from the cache; it must be that sweep's trial.
 */
function resolveSweep(
  md: ModelDeployment,
  sweep: HyperparameterSweep | undefined,
  bestTrial: TrainingJob | undefined,
): Resolution {
  const name = md.spec.model.sweepRef?.name ?? '';
  if (!sweep)
    return {
      state: 'waiting',
      reason: Reason.SweepNotFound,
      message: `HyperparameterSweep ${name} does not exist (yet) in namespace ${md.metadata.namespace}`,
    };
  const best = sweep.status?.bestTrial;
  const artifact = bestTrial?.status?.artifact;
  const ours = bestTrial && ownershipOf(bestTrial, sweep.metadata.uid!) === 'ours';
  if (best && ours && artifact && isTrue(bestTrial.status?.conditions, TrainingJobConditionType.Succeeded))
    return { state: 'resolved', uri: artifact.uri, version: artifact.version };
  const failed = findCondition(sweep.status?.conditions, SweepConditionType.Failed);
  if (!best && failed?.status === 'True')
    return {
      state: 'failed',
      reason: Reason.SweepFailed,
      message: `HyperparameterSweep ${name} failed with no trial to serve (${failed.reason}): ${failed.message}`,
    };
  const ready = findCondition(sweep.status?.conditions, SweepConditionType.Ready);
  const where = ready ? ` (${ready.reason}: ${ready.message})` : '';
  return {
    state: 'waiting',
    reason: Reason.WaitingForSweep,
    message: best
      ? `waiting for the artifact of trial ${best.name}, the best of HyperparameterSweep ${name}`
      : `waiting for HyperparameterSweep ${name} to have a succeeded trial with an artifact${where}`,
  };
}

/**
 * The artifact to serve: spec.model.artifactURI as given, the artifact of the referenced
 * TrainingJob once it succeeded, or that of the referenced sweep's best trial. `trainingJob` is the
 * referenced TrainingJob (or the sweep's best trial) from the cache, if any.
 */
export function resolveArtifact(
  md: ModelDeployment,
  trainingJob: TrainingJob | undefined,
  sweep?: HyperparameterSweep,
): Resolution {
  const { artifactURI, trainingJobRef, sweepRef } = md.spec.model;
  if (artifactURI) {
    const version = versionOf(artifactURI);
    return { state: 'resolved', uri: artifactURI, ...(version ? { version } : {}) };
  }
  if (sweepRef) return resolveSweep(md, sweep, trainingJob);
  const name = trainingJobRef?.name ?? '';
  if (!trainingJob) {
    return {
      state: 'waiting',
      reason: Reason.TrainingJobNotFound,
      message: `TrainingJob ${name} does not exist (yet) in namespace ${md.metadata.namespace}`,
    };
  }
  const conditions = trainingJob.status?.conditions;
  if (isTrue(conditions, TrainingJobConditionType.Failed)) {
    const failed = findCondition(conditions, TrainingJobConditionType.Failed);
    return {
      state: 'failed',
      reason: Reason.TrainingJobFailed,
      message: `TrainingJob ${name} failed (${failed?.reason}): ${failed?.message ?? ''}`.trim(),
    };
  }
  const artifact = trainingJob.status?.artifact;
  if (!artifact || !isTrue(conditions, TrainingJobConditionType.Succeeded)) {
    const ready = findCondition(conditions, TrainingJobConditionType.Ready);
    const where = ready ? ` (${ready.reason}: ${ready.message})` : '';
    return {
      state: 'waiting',
      reason: Reason.WaitingForTrainingJob,
      message: `waiting for TrainingJob ${name} to succeed and write its artifact${where}`,
    };
  }
  return { state: 'resolved', uri: artifact.uri, version: artifact.version };
}

export interface Observed {
  resolution: Resolution;
  deployment?: V1Deployment;
  /** The Deployment's pods (from the cache), to say why none is ready. */
  pods: V1Pod[];
  /** An error of this reconcile pass (for example a failed apply). */
  error?: Error;
  /** Why this pass wrote no children (policy, a foreign object in a child's place). */
  refusal?: Refusal;
  /** The Monitoring condition of this pass (monitoring.ts); left as it is when unset. */
  monitoring?: ConditionInput;
  /** What Prometheus said about drift; the Drifting condition is left as it is when unset. */
  drift?: DriftObservation;
  /** With spec.canary: the rollout after this pass and the artifact the stable pods serve. */
  canary?: { status?: CanaryStatus; stable: { uri: string; version?: string } };
  /** With spec.retraining: status.retraining after this pass (retrain.ts). */
  retraining?: RetrainingStatus;
  now: Date;
}

/** Ready while a rollout runs or after it stopped short of spec.model (docs/canary.md). */
function canarySummary(
  md: ModelDeployment,
  canary: Observed['canary'],
  resolution: Resolution,
): (Summary & { stalled: boolean }) | undefined {
  const s = canary?.status;
  if (!s) return undefined;
  const reason = {
    [CanaryPhase.Progressing]: CanaryReason.CanaryProgressing,
    [CanaryPhase.Paused]: CanaryReason.CanaryPaused,
    [CanaryPhase.Scaling]: CanaryReason.CanaryScaling,
    [CanaryPhase.Promoting]: CanaryReason.CanaryPromoting,
    [CanaryPhase.RolledBack]: CanaryReason.CanaryRolledBack,
    [CanaryPhase.Aborted]: CanaryReason.CanaryAborted,
    [CanaryPhase.Promoted]: undefined,
  }[s.phase];
  if (!reason) return undefined;
  const stopped = s.phase === CanaryPhase.RolledBack || s.phase === CanaryPhase.Aborted;
  // A stopped rollout matters only while spec.model still names its artifact.
  if (stopped && (resolution.state !== 'resolved' || resolution.uri !== s.artifact.uri)) return undefined;
  const message = stopped
    ? `${s.message}; spec.model still names ${s.artifact.uri}: point it at another artifact to try again`
    : s.message;
  return { reason, message, stalled: stopped && md.spec.canary !== undefined };
}

interface Summary {
  reason: string;
  message: string;
}

const byCreation = (a: V1Pod, b: V1Pod) =>
  new Date(a.metadata?.creationTimestamp ?? 0).getTime() -
  new Date(b.metadata?.creationTimestamp ?? 0).getTime();

function deploymentCondition(deployment: V1Deployment | undefined, type: string) {
  return deployment?.status?.conditions?.find((c) => c.type === type);
}

/** As `kubectl rollout status`: the controller saw the newest spec and every pod runs it and is available. */
export function rolloutComplete(d: V1Deployment): boolean {
  const s = d.status ?? {};
  const desired = d.spec?.replicas ?? 1;
  return (
    (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
    (s.updatedReplicas ?? 0) >= desired &&
    (s.replicas ?? 0) <= (s.updatedReplicas ?? 0) &&
    (s.availableReplicas ?? 0) >= (s.updatedReplicas ?? 0)
  );
}

/**
 * The model server's own account of why it gave up loading: the coded termination message of its
 * last exit (api/model-load.ts), as long as the container has not become ready since.
 */
function loadFailure(server: V1ContainerStatus | undefined): { code: string; message: string } | undefined {
  if (!server || server.ready) return undefined;
  const terminated = server.state?.terminated ?? server.lastState?.terminated;
  if (!terminated?.message) return undefined;
  try {
    const { error } = JSON.parse(terminated.message) as { error?: { code?: unknown; message?: unknown } };
    if (!isModelLoadFailure(error?.code)) return undefined;
    return { code: error.code, message: typeof error.message === 'string' ? error.message : '' };
  } catch {
    return undefined; // not ours: a crash's log tail or another program's message
  }
}

/** The first pod whose model server gave up loading, in words a user can act on. */
function loadFailureSummary(pods: V1Pod[]): Summary | undefined {
  for (const pod of pods) {
    const server = pod.status?.containerStatuses?.find((c) => c.name === SERVER_CONTAINER);
    const failure = loadFailure(server);
    if (!failure) continue;
    const restarts = server?.restartCount ? `; restarted ${server.restartCount} times` : '';
    return {
      reason: failure.code,
      message: `model server in pod ${pod.metadata?.name} cannot load the model: ${failure.message}${restarts}`,
    };
  }
  return undefined;
}

/** Why no model server pod is ready, in words a user can act on. */
export function unavailableSummary(pods: V1Pod[]): Summary {
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp).sort(byCreation);
  const failed = loadFailureSummary(live);
  if (failed) return failed;
  for (const pod of live) {
    const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
      return {
        reason: Reason.Unschedulable,
        message: `model server pod ${pod.metadata?.name} cannot be scheduled: ${scheduled.message ?? 'no node fits'}`,
      };
    }
    const server = pod.status?.containerStatuses?.find((c) => c.name === SERVER_CONTAINER);
    const waiting = server?.state?.waiting;
    if (waiting && /ImagePull|ErrImage|InvalidImageName/.test(waiting.reason ?? '')) {
      return {
        reason: Reason.ImagePullFailed,
        message: `model server image cannot be pulled (${waiting.reason}): ${waiting.message ?? ''}`.trim(),
      };
    }
    if (waiting?.reason === 'CrashLoopBackOff') {
      const last = server?.lastState?.terminated;
      const detail = last
        ? ` (exit code ${last.exitCode}${last.message ? `: ${last.message.trim()}` : ''})`
        : '';
      return {
        reason: Reason.ServerCrashLooping,
        message: `model server in pod ${pod.metadata?.name} keeps exiting${detail}`,
      };
    }
  }
  const newest = live.at(-1);
  if (!newest) return { reason: Reason.ModelLoading, message: 'waiting for model server pods to be created' };
  if (!newest.spec?.nodeName) {
    return {
      reason: Reason.ModelLoading,
      message: `model server pod ${newest.metadata?.name} is waiting to be scheduled on a node`,
    };
  }
  return {
    reason: Reason.ModelLoading,
    message: `model server pod ${newest.metadata?.name} is starting on node ${newest.spec.nodeName}: not ready until the model is loaded and warmed up (/readyz)`,
  };
}

/** The new status; conditions keep their transition times when unchanged. */
export function computeStatus(md: ModelDeployment, observed: Observed): Status {
  const { resolution, deployment, pods, error, now } = observed;
  // The API server refusing a child built from the spec is a refusal too: Stalled, not retried.
  const refusal = observed.refusal ?? invalidSpecRefusal(error);
  const generation = md.metadata.generation;
  let conditions: Condition[] = [...(md.status?.conditions ?? [])];
  const set = (input: ConditionInput) => {
    conditions = setCondition(conditions, input, generation, now);
  };
  const flag = (type: string, on: boolean, { reason, message }: Summary) =>
    set({ type, status: on ? 'True' : 'False', reason, message });

  // Available and Progressing mirror the Deployment; before there is one, neither holds.
  let available: Summary & { on: boolean };
  let progressing: Summary & { on: boolean };
  let stalled: Summary | undefined;
  let ready: Summary & { on: boolean };
  const served =
    observed.canary?.stable.uri ?? (resolution.state === 'resolved' ? resolution.uri : servedURI(deployment));
  const canary = canarySummary(md, observed.canary, resolution);
  if (deployment) {
    const deadline = deploymentCondition(deployment, 'Progressing');
    const isAvailable = deploymentCondition(deployment, 'Available')?.status === 'True';
    const complete = rolloutComplete(deployment);
    const readyReplicas = deployment.status?.readyReplicas ?? 0;
    const replicas = deployment.status?.replicas ?? 0;
    available = isAvailable
      ? {
          on: true,
          reason: Reason.Available,
          message: `${deployment.status?.availableReplicas ?? 0} of ${replicas} model server pods are available`,
        }
      : { on: false, ...unavailableSummary(pods) };
    if (deadline?.status === 'False' && deadline.reason === 'ProgressDeadlineExceeded') {
      stalled = {
        reason: Reason.ProgressDeadlineExceeded,
        message: `the rollout made no progress within its deadline: ${deadline.message ?? ''}${isAvailable ? '' : `; ${available.message}`}`,
      };
      progressing = { on: false, ...stalled };
    } else if (!isAvailable && PERMANENT_LOAD_FAILURES.has(available.reason)) {
      // The same bytes fail the same way on every restart: waiting for the deadline tells nothing new.
      stalled = {
        reason: available.reason,
        message: `${available.message}; retrying cannot help: fix the artifact or point spec.model at another`,
      };
      progressing = { on: false, ...stalled };
    } else if (complete) {
      progressing = {
        on: false,
        reason: Reason.RolloutComplete,
        message: `every model server pod runs the current spec (${readyReplicas} ready)`,
      };
    } else {
      progressing = {
        on: true,
        reason: Reason.RolloutInProgress,
        message: `rolling out: ${deployment.status?.updatedReplicas ?? 0} of ${deployment.spec?.replicas ?? 1} pods updated, ${deployment.status?.availableReplicas ?? 0} available`,
      };
    }
    if (stalled) ready = { on: false, ...stalled };
    else if (!isAvailable) ready = { on: false, reason: available.reason, message: available.message };
    else if (!complete) {
      // Old pods serve while the new ones come up; a new one that cannot load says so.
      const failed = loadFailureSummary(pods.filter((p) => !p.metadata?.deletionTimestamp));
      ready = { on: false, ...(failed ?? { reason: progressing.reason, message: progressing.message }) };
    } else
      ready = {
        on: true,
        reason: Reason.Serving,
        message: `serving ${served} at ${serviceURL(md)} (${readyReplicas} ready)`,
      };
  } else {
    const why = { reason: Reason.DeploymentCreated, message: `creating Deployment ${deploymentName(md)}` };
    available = { on: false, ...why };
    progressing = { on: true, ...why };
    ready = { on: false, ...why };
  }
  if (resolution.state !== 'resolved') {
    // Nothing new can be deployed. A Deployment of an earlier artifact (the TrainingJob was
    // replaced) keeps serving it, and Available and Progressing keep describing it.
    const still = deployment && served ? `; the Deployment keeps serving ${served}` : '';
    const why = { reason: resolution.reason, message: `${resolution.message}${still}` };
    if (!deployment) {
      available = { on: false, ...why };
      progressing = { on: false, ...why };
    }
    ready = { on: false, ...why };
    if (resolution.state === 'failed') stalled = why;
  }

  if (canary && !stalled) {
    // kstatus and Argo CD read a running canary as in progress and a stopped one as needing a person.
    ready = { on: false, reason: canary.reason, message: canary.message };
    if (canary.stalled) stalled = ready;
    else progressing = { on: true, reason: canary.reason, message: canary.message };
  }
  flag(Type.Available, available.on, available);
  flag(Type.Progressing, progressing.on, progressing);
  if (refusal) {
    // Retrying cannot help until someone acts: Stalled, not Reconciling (kstatus).
    flag(Type.Ready, false, refusal);
    flag(Type.Reconciling, false, refusal);
    flag(Type.Stalled, true, refusal);
  } else if (error) {
    // An error of this pass means what the cluster shows may not be what the spec asks for.
    const why = { reason: Reason.ReconcileError, message: error.message };
    flag(Type.Ready, false, why);
    flag(Type.Reconciling, true, { reason: Reason.ReconcileError, message: `retrying: ${error.message}` });
    flag(Type.Stalled, false, why);
  } else {
    flag(Type.Ready, ready.on, ready);
    flag(Type.Reconciling, !ready.on && !stalled, ready);
    flag(Type.Stalled, stalled !== undefined, stalled ?? ready);
  }
  if (observed.monitoring) set(observed.monitoring);
  if (observed.drift) {
    set(
      driftingCondition(observed.drift, findCondition(md.status?.conditions, Type.Drifting), toRFC3339(now)),
    );
  }

  const status: Status = { observedGeneration: generation, conditions };
  if (served) {
    const version = observed.canary
      ? observed.canary.stable.version
      : resolution.state === 'resolved'
        ? resolution.version
        : versionOf(served);
    status.url = serviceURL(md);
    status.grpcURL = grpcURL(md);
    status.artifact = { uri: served, ...(version ? { version } : {}) };
  }
  if (deployment) {
    status.replicas = deployment.status?.replicas ?? 0;
    status.readyReplicas = deployment.status?.readyReplicas ?? 0;
  }
  if (observed.canary?.status) status.canary = observed.canary.status;
  if (observed.retraining) status.retraining = observed.retraining;
  return status;
}

/** The in-cluster URL of the model's Service. */
export function serviceURL(md: ModelDeployment): string {
  return `http://${serviceName(md)}.${md.metadata.namespace}.svc:${SERVICE_PORT}`;
}

/** The gRPC target of the model's Service, in the form gRPC clients take (gRPC's naming doc). */
export function grpcURL(md: ModelDeployment): string {
  return `dns:///${serviceName(md)}.${md.metadata.namespace}.svc:${GRPC_PORT}`;
}

/** Whether `next` differs from `current` (so a patch is needed). */
export function statusChanged(current: Status | undefined, next: Status): boolean {
  return !sameStatus(current, next);
}
