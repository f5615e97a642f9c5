// One reconcile's part of a canary rollout: read what the cluster shows, ask Prometheus when a
// step's interval is over, and let the pure state machine (canary.ts) say what to serve.
import type { V1Deployment } from '@kubernetes/client-node';
import type { ModelDeployment } from '../../../api/index.ts';
import {
  type Artifact,
  analysisDueInMs,
  type CanaryDecision,
  isActive,
  judgeAnalysis,
  nextCanaryState,
} from './canary.ts';
import type { CanaryMetrics } from './canary-analysis.ts';
import type { CanaryPlan } from './desired-canary.ts';
import type { Resolution } from './status.ts';
import { rolloutComplete, servedURI } from './status.ts';

export interface CanaryPass {
  decision: CanaryDecision;
  plan: CanaryPlan;
  /** When the running step's analysis is due (requeue then). */
  dueInMs?: number;
}

const NO_PROMETHEUS = 'the operator has no --prometheus-url: a canary is never judged, so it never advances';

/** Whether the Deployment (ours) has a ready pod serving `uri` and no pod serving anything else. */
function serving(d: V1Deployment | undefined, uri: string): boolean {
  return d !== undefined && servedURI(d) === uri && rolloutComplete(d) && (d.status?.readyReplicas ?? 0) > 0;
}

export async function canaryPass(
  md: ModelDeployment,
  resolution: Resolution,
  live: { stable?: V1Deployment; canary?: V1Deployment },
  metrics: CanaryMetrics | undefined,
  now: Date,
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
  const decision = nextCanaryState(current, analysis, now, spec, {
    stable,
    wanted,
    canaryReady: serving(live.canary, wanted.uri),
    stableRolledOut: current !== undefined && serving(live.stable, current.artifact.uri),
  });
  const status = decision.status;
  return {
    decision,
    plan: {
      uri: status?.artifact.uri ?? stable.uri,
      weight: status?.weight ?? 0,
      active: isActive(status),
    },
    dueInMs: analysisDueInMs(status, spec, now),
  };
}
