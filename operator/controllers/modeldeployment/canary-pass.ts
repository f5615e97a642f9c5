// One reconcile's part of a canary rollout: read what the cluster shows, ask Prometheus when a
// step's interval is over, and let the pure state machine (canary.ts) say what to serve.
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import type { ModelDeployment } from '../../../api/index.ts';
import {
  type Artifact,
  analysisDueInMs,
  type CanaryDecision,
  canaryServes,
  judgeAnalysis,
  nextCanaryState,
  progressDeadlineInMs,
} from './canary.ts';
import type { CanaryMetrics } from './canary-analysis.ts';
import { MODEL_URI_ENV, SERVER_CONTAINER } from './desired.ts';
import { type CanaryPlan, canaryReplicas } from './desired-canary.ts';
import type { Resolution } from './status.ts';
import { rolloutComplete, servedURI, unavailableSummary } from './status.ts';

export interface CanaryPass {
  decision: CanaryDecision;
  plan: CanaryPlan;
  /**
   * When the running step's analysis is due, a waiting step's progress deadline, or when a promoted
   * canary's pods may go (requeue then).
   */
  dueInMs?: number;
}

/**
 * How long a promoted canary keeps its pods after the weight went to 0: the kubelet projects a
 * changed ConfigMap into the stable pods within its sync period (1 minute by default) plus its
 * cache's delay, and a stable pod forwards until it reads the new weight.
 */
export const DEFAULT_CANARY_DRAIN_SECONDS = 90;

const NO_PROMETHEUS = 'the operator has no --prometheus-url: a canary is never judged, so it never advances';

/** Whether the Deployment (ours) has a ready pod serving `uri` and no pod serving anything else. */
function serving(d: V1Deployment | undefined, uri: string): boolean {
  return d !== undefined && servedURI(d) === uri && rolloutComplete(d) && (d.status?.readyReplicas ?? 0) > 0;
}

/**
 * The canary pods that can take a share: ready ones serving `uri`, and none while a live pod still
 * serves anything else (a replaced canary's pods). Read from the pods, not the Deployment's rollout
 * status: pods still starting after a scale-up (desired-canary.ts sizes the canary by weight) leave
 * the step running on the ready ones, instead of pausing it at weight 0 (and scaling back down).
 */
function readyCanaryPods(pods: V1Pod[], uri: string): number {
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
  const uriOf = (p: V1Pod) =>
    p.spec?.containers.find((c) => c.name === SERVER_CONTAINER)?.env?.find((e) => e.name === MODEL_URI_ENV)
      ?.value;
  if (!live.every((p) => uriOf(p) === uri)) return 0;
  return live.filter(isReady).length;
}

const isReady = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

/**
 * Why the canary lacks ready pods, as the cluster shows it: the canary Deployment's own verdict
 * (its ProgressDeadlineExceeded, or a ReplicaFailure such as an exceeded quota: pods that were
 * never created), and the first pod that is not ready (unschedulable, image not pulled, crash
 * loop, a model it cannot load, or still starting).
 */
export function canaryNotReadyBecause(d: V1Deployment | undefined, pods: V1Pod[]): string {
  const conditions = d?.status?.conditions ?? [];
  const failed = conditions.filter(
    (c) =>
      (c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded') ||
      (c.type === 'ReplicaFailure' && c.status === 'True'),
  );
  const pod = unavailableSummary(pods.filter((p) => !isReady(p)));
  return [
    ...failed.map((c) => `${c.reason}: ${c.message ?? ''}`.trim().replace(/\.$/, '')),
    `${pod.reason}: ${pod.message}`,
  ].join('; ');
}

export async function canaryPass(
  md: ModelDeployment,
  resolution: Resolution,
  live: { stable?: V1Deployment; canary?: V1Deployment; canaryPods: V1Pod[] },
  metrics: CanaryMetrics | undefined,
  now: Date,
  drainSeconds = DEFAULT_CANARY_DRAIN_SECONDS,
): Promise<CanaryPass | undefined> {
  const spec = md.spec.canary;
  if (!spec || resolution.state !== 'resolved') return undefined;
  const wanted: Artifact = {
    uri: resolution.uri,
    ...(resolution.version ? { version: resolution.version } : {}),
  };
  const liveURI = servedURI(live.stable);
  // The stable artifact is the one status records; before there is a status, what the stable
  // Deployment serves; before there is one, spec.model (a new ModelDeployment has no canary).
  const stable: Artifact = md.status?.artifact ?? (liveURI ? { uri: liveURI } : wanted);
  const current = md.status?.canary;
  let analysis: ReturnType<typeof judgeAnalysis> | undefined;
  if (current && analysisDueInMs(current, spec, now) === 0) {
    const measured = metrics
      ? await metrics.measure(md, spec.intervalSeconds)
      : ({ state: 'unavailable', message: NO_PROMETHEUS } as const);
    analysis = judgeAnalysis(measured, spec, current.step, now);
  }
  // The stable replicas are what its HPA set: the canary is sized per unit of the same work.
  const stableReplicas = live.stable?.spec?.replicas;
  const podsFor = (weight: number) => canaryReplicas(md, weight, stableReplicas);
  const decision = nextCanaryState(current, analysis, now, spec, {
    stable,
    wanted,
    readyCanaryPods: readyCanaryPods(live.canaryPods, wanted.uri),
    podsFor,
    stableRolledOut: current !== undefined && serving(live.stable, current.artifact.uri),
    notReadyBecause: canaryNotReadyBecause(live.canary, live.canaryPods),
  });
  const status = decision.status;
  const serves = canaryServes(status, spec, now, drainSeconds);
  const replicas =
    serves.drainsInMs !== undefined
      ? (live.canary?.spec?.replicas ?? 0)
      : serves.sizedFor !== undefined
        ? podsFor(serves.sizedFor)
        : 0;
  const due = [
    analysisDueInMs(status, spec, now),
    progressDeadlineInMs(status, spec, now),
    serves.drainsInMs,
  ].filter((ms) => ms !== undefined);
  return {
    decision,
    plan: { uri: status?.artifact.uri ?? stable.uri, weight: serves.weight, replicas },
    ...(due.length > 0 ? { dueInMs: Math.min(...due) } : {}),
  };
}
