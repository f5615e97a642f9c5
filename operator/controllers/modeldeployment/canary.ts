// The canary rollout as a pure state machine (docs/canary.md): status.canary is the only state, so
// an operator that restarts resumes at the same step from status alone. Each reconcile asks
// nextCanaryState what the rollout is now, given what the cluster shows and, when a step's
// interval is over, the analysis of that window; the reconcile then applies what the answer says
// (the stable pods' artifact, the canary's artifact and weight).
import {
  AnalysisVerdict,
  type CanaryAnalysisStatus,
  CanaryPhase,
  CanaryRollbackReason,
  type CanarySpec,
  type CanaryStatus,
} from '../../../api/index.ts';
import { psi } from '../../../lib/psi.ts';

export interface Artifact {
  uri: string;
  version?: string;
}

/** One track's numbers over an analysis window, as Prometheus gave them (absent: no data). */
export interface TrackMetrics {
  requests: number;
  errorRate?: number;
  /** Share of the requests rejected as the client's mistake (4xx, INVALID_ARGUMENT, …). */
  rejectionRate?: number;
  p99LatencySeconds?: number;
  /** Prediction rows per bin (k2k_drift_prediction_window_rows summed over the track's pods). */
  predictionBins?: Record<string, number>;
}

export type Measurement =
  | { state: 'measured'; canary: TrackMetrics; stable: TrackMetrics }
  | { state: 'unavailable'; message: string };

/** What the reconcile saw in this pass. */
export interface CanaryObserved {
  /** The artifact the stable pods serve (status.artifact; the resolved spec.model before there is one). */
  stable: Artifact;
  /** What spec.model resolves to now. */
  wanted: Artifact;
  /** Ready canary pods serving `wanted` (0 while a live canary pod still serves another artifact). */
  readyCanaryPods: number;
  /** The ready canary pods a weight needs at the stable track's current size (desired-canary.ts). */
  podsFor: (weight: number) => number;
  /** Whether every stable pod runs `wanted` (the promotion's rolling update finished). */
  stableRolledOut: boolean;
  /**
   * Why canary pods are not ready, when the cluster shows it (the canary Deployment's failure
   * conditions, a pod that cannot be scheduled, pulled, started or load its model).
   */
  notReadyBecause?: string;
}

export interface CanaryEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface CanaryDecision {
  status?: CanaryStatus;
  /** The artifact the stable Deployment is to serve. */
  stableArtifact: Artifact;
  event?: CanaryEvent;
}

const ACTIVE = new Set<string>([CanaryPhase.Progressing, CanaryPhase.Paused, CanaryPhase.Scaling]);

export const isActive = (s: CanaryStatus | undefined): boolean => s !== undefined && ACTIVE.has(s.phase);

/** The phases in which a step waits for its canary pods, under spec.canary.progressDeadlineSeconds. */
const WAITING = new Set<string>([CanaryPhase.Paused, CanaryPhase.Scaling]);

/** Milliseconds until a waiting step's progress deadline (undefined: no step waits). */
export function progressDeadlineInMs(
  s: CanaryStatus | undefined,
  spec: CanarySpec,
  now: Date,
): number | undefined {
  if (!s?.waitingSince || !WAITING.has(s.phase)) return undefined;
  return Math.max(0, Date.parse(s.waitingSince) + spec.progressDeadlineSeconds * 1000 - now.getTime());
}

/**
 * When the wait for canary pods began. It goes on from Paused to Scaling and back (pods that come
 * and go are no progress), so neither restarts the clock; a status from before the field existed
 * starts it now.
 */
const waitingSince = (s: CanaryStatus, now: Date): string =>
  (WAITING.has(s.phase) ? s.waitingSince : undefined) ?? now.toISOString();

/** A status whose step serves its weight: no wait, no deadline. */
const served = ({ waitingSince: _, ...s }: CanaryStatus): CanaryStatus => s;

/** Milliseconds until the running step's analysis is due (undefined: none is). */
export function analysisDueInMs(
  s: CanaryStatus | undefined,
  spec: CanarySpec,
  now: Date,
): number | undefined {
  if (s?.phase !== CanaryPhase.Progressing) return undefined;
  return Math.max(0, Date.parse(s.stepStartedAt) + spec.intervalSeconds * 1000 - now.getTime());
}

/**
 * The analysis of one window against the spec's thresholds. Fewer canary requests than
 * minRequests, or any metric without data, is Inconclusive: the step holds and never advances.
 */
export function judgeAnalysis(
  m: Measurement,
  spec: CanarySpec,
  step: number,
  now: Date,
): CanaryAnalysisStatus {
  const base = { time: now.toISOString(), step };
  if (m.state === 'unavailable') {
    return { ...base, verdict: AnalysisVerdict.Inconclusive, checks: [], message: `holding: ${m.message}` };
  }
  const t = spec.analysis;
  const checks: CanaryAnalysisStatus['checks'] = [];
  const check = (
    name: CanaryAnalysisStatus['checks'][number]['name'],
    value: number | undefined,
    stable: number | undefined,
    threshold: number,
    fails: (v: number) => boolean,
  ) => {
    const known = value !== undefined && Number.isFinite(value);
    checks.push({
      name,
      ...(known ? { value } : {}),
      ...(stable !== undefined && Number.isFinite(stable) ? { stable } : {}),
      threshold,
      verdict: !known
        ? AnalysisVerdict.Inconclusive
        : fails(value)
          ? AnalysisVerdict.Fail
          : AnalysisVerdict.Pass,
    });
  };
  check('requests', m.canary.requests, m.stable.requests, t.minRequests, (v) => v < t.minRequests);
  check('errorRate', m.canary.errorRate, m.stable.errorRate, t.maxErrorRate, (v) => v > t.maxErrorRate);
  // Both tracks get the same requests (a counter per request splits them), so rejecting more of
  // them than stable is the canary's fault: an input signature the clients do not send answers
  // every request 400 and no 5xx. A stable track without requests leaves nothing to excuse.
  const rejectedByStable = m.stable.rejectionRate ?? 0;
  check(
    'rejectionRate',
    m.canary.rejectionRate,
    m.stable.rejectionRate,
    t.maxErrorRate,
    (v) => v - rejectedByStable > t.maxErrorRate,
  );
  check(
    'p99LatencySeconds',
    m.canary.p99LatencySeconds,
    m.stable.p99LatencySeconds,
    t.maxP99LatencySeconds,
    (v) => v > t.maxP99LatencySeconds,
  );
  // A model without a prediction profile exports no prediction bins: nothing to compare.
  if (m.stable.predictionBins && Object.keys(m.stable.predictionBins).length > 0) {
    check(
      'predictionDrift',
      predictionPSI(m.stable.predictionBins, m.canary.predictionBins),
      undefined,
      t.maxPredictionDrift,
      (v) => v > t.maxPredictionDrift,
    );
  }
  const tooFew = m.canary.requests < t.minRequests;
  const failed = checks.filter((c) => c.verdict === AnalysisVerdict.Fail && c.name !== 'requests');
  const unknown = checks.filter((c) => c.verdict === AnalysisVerdict.Inconclusive);
  if (tooFew) {
    return {
      ...base,
      checks,
      verdict: AnalysisVerdict.Inconclusive,
      message: `holding: the canary answered ${m.canary.requests} requests in the window, fewer than analysis.minRequests (${t.minRequests})`,
    };
  }
  if (failed.length > 0) {
    const what = failed
      .map((c) =>
        c.name === 'rejectionRate'
          ? `${c.name} ${round(c.value!)} > the stable track's ${round(rejectedByStable)} + ${c.threshold}`
          : `${c.name} ${round(c.value!)} > ${c.threshold}`,
      )
      .join(', ');
    return { ...base, checks, verdict: AnalysisVerdict.Fail, message: `failed: ${what}` };
  }
  if (unknown.length > 0) {
    return {
      ...base,
      checks,
      verdict: AnalysisVerdict.Inconclusive,
      message: `holding: no data for ${unknown.map((c) => c.name).join(', ')}`,
    };
  }
  return { ...base, checks, verdict: AnalysisVerdict.Pass, message: 'every check passed' };
}

const round = (v: number) => Math.round(v * 10_000) / 10_000;

/** PSI of the canary's prediction bins against the stable track's (undefined: the canary has none). */
function predictionPSI(stable: Record<string, number>, canary: Record<string, number> | undefined) {
  if (!canary || Object.keys(canary).length === 0) return undefined;
  const bins = [...new Set([...Object.keys(stable), ...Object.keys(canary)])].sort();
  const value = psi(
    bins.map((b) => stable[b] ?? 0),
    bins.map((b) => canary[b] ?? 0),
  );
  return Number.isNaN(value) ? undefined : value;
}

const stepMessage = (step: number, spec: CanarySpec, artifact: Artifact) =>
  `step ${step + 1} of ${spec.steps.length}: ${spec.steps[step]}% of requests to ${artifact.uri}`;

/**
 * Step `step` of the rollout. Its weight is served only once the canary has the ready pods that
 * weight needs (never a share routed to capacity that is not there, as Flagger and Argo Rollouts
 * promise); until then the stable pods keep forwarding the weight served so far, and the step's
 * window (its analysis clock) starts only when its weight is served.
 */
function enterStep(
  s: CanaryStatus,
  step: number,
  spec: CanarySpec,
  observed: CanaryObserved,
  now: Date,
): CanaryStatus {
  const weight = spec.steps[step]!;
  const needed = observed.podsFor(weight);
  if (observed.readyCanaryPods > 0 && observed.readyCanaryPods >= needed) {
    return {
      ...served(s),
      phase: CanaryPhase.Progressing,
      step,
      weight,
      stepStartedAt: now.toISOString(),
      message: stepMessage(step, spec, s.artifact),
    };
  }
  return {
    ...s,
    phase: CanaryPhase.Scaling,
    step,
    waitingSince: waitingSince(s, now),
    message: `step ${step + 1} of ${spec.steps.length} waits for canary pods: ${observed.readyCanaryPods} of the ${needed} that ${weight}% needs are ready; ${s.weight > 0 ? `the stable pods keep forwarding ${s.weight}% to ${s.artifact.uri}` : `no request goes to ${s.artifact.uri}`} until then`,
  };
}

function started(artifact: Artifact, spec: CanarySpec, observed: CanaryObserved, now: Date): CanaryStatus {
  const waiting: CanaryStatus = {
    phase: CanaryPhase.Paused,
    artifact,
    step: 0,
    weight: 0,
    stepStartedAt: now.toISOString(),
    waitingSince: now.toISOString(),
    failedAnalyses: 0,
    message: `waiting for a canary pod of ${artifact.uri} to be ready; no request goes to it`,
  };
  return observed.readyCanaryPods === 0 ? waiting : enterStep(waiting, 0, spec, observed, now);
}

const ended = (s: CanaryStatus, phase: CanaryPhase, message: string, now: Date): CanaryStatus => ({
  ...s,
  phase,
  weight: 0,
  finishedAt: now.toISOString(),
  message,
});

/**
 * Every step passed or spec.canary.promote: the stable pods roll to the canary's artifact. The
 * canary keeps serving the share it has (weight and pods) meanwhile: the stable Deployment was
 * sized for the rest, and its rolling update must not be the moment it takes everything.
 */
const promoting = (s: CanaryStatus, message: string): CanaryStatus => ({
  ...served(s),
  phase: CanaryPhase.Promoting,
  message,
});

interface Transition {
  status: CanaryStatus;
  event?: CanaryEvent;
}

/**
 * A step that waits for its canary pods: Paused while none is ready (weight 0), Scaling while
 * fewer are ready than its weight needs (the weight served before holds). Once they are ready the
 * weight is raised. A wait longer than spec.canary.progressDeadlineSeconds is rolled back as a
 * failed analysis is (Flagger's and Argo Rollouts' progressDeadlineSeconds): a canary whose pods
 * cannot be scheduled, pulled, started or load their model would otherwise wait for ever.
 */
function awaitPods(
  current: CanaryStatus,
  step: number,
  spec: CanarySpec,
  observed: CanaryObserved,
  now: Date,
): Transition {
  const next = ((): Transition => {
    if (observed.readyCanaryPods === 0) {
      if (current.phase === CanaryPhase.Paused) {
        return { status: { ...current, waitingSince: waitingSince(current, now) } };
      }
      const message = `paused at step ${step + 1}: no canary pod of ${current.artifact.uri} is ready, every request goes to stable`;
      return {
        status: {
          ...current,
          phase: CanaryPhase.Paused,
          weight: 0,
          waitingSince: waitingSince(current, now),
          message,
        },
        event: { type: 'Warning', reason: 'CanaryPaused', message },
      };
    }
    // A paused step starts over: its window must hold only requests the canary really served.
    const status = enterStep(current, step, spec, observed, now);
    if (status.phase === CanaryPhase.Scaling || current.phase === CanaryPhase.Paused) return { status };
    const message = `${status.message}: the ${observed.readyCanaryPods} canary pods it needs are ready`;
    return {
      status: { ...status, message },
      event: { type: 'Normal', reason: 'CanaryWeightRaised', message },
    };
  })();
  const left = progressDeadlineInMs(next.status, spec, now);
  if (left === undefined || left > 0) return next;
  const weight = spec.steps[step]!;
  const why = observed.notReadyBecause ? ` (${observed.notReadyBecause})` : '';
  const message = `rolled back at step ${step + 1}: progress deadline exceeded: ${observed.readyCanaryPods} of the ${observed.podsFor(weight)} canary pods that ${weight}% needs were ready ${spec.progressDeadlineSeconds} s after the wait began at ${next.status.waitingSince}${why}; every request goes to the stable ${observed.stable.uri}`;
  return {
    status: ended(
      { ...next.status, reason: CanaryRollbackReason.ProgressDeadlineExceeded },
      CanaryPhase.RolledBack,
      message,
      now,
    ),
    event: { type: 'Warning', reason: 'CanaryRolledBack', message },
  };
}

/**
 * The rollout after this pass. `analysis` is the judged window when the step's interval is over
 * (the reconcile asks Prometheus only then), else undefined.
 */
export function nextCanaryState(
  current: CanaryStatus | undefined,
  analysis: CanaryAnalysisStatus | undefined,
  now: Date,
  spec: CanarySpec,
  observed: CanaryObserved,
): CanaryDecision {
  const { stable, wanted } = observed;
  const hold = (status: CanaryStatus | undefined, event?: CanaryEvent): CanaryDecision => ({
    status,
    stableArtifact:
      status && (status.phase === CanaryPhase.Promoting || status.phase === CanaryPhase.Promoted)
        ? status.artifact
        : stable,
    ...(event ? { event } : {}),
  });

  if (current && wanted.uri !== current.artifact.uri && wanted.uri !== stable.uri) {
    // A new artifact (also one that replaces a canary mid-rollout): a fresh rollout from step 1.
    if (current.phase === CanaryPhase.Promoting) return hold(current); // finish the promotion first
    const next = started(wanted, spec, observed, now);
    return hold(next, { type: 'Normal', reason: 'CanaryStarted', message: next.message });
  }
  if (!current) {
    if (wanted.uri === stable.uri) return hold(undefined);
    const next = started(wanted, spec, observed, now);
    return hold(next, { type: 'Normal', reason: 'CanaryStarted', message: next.message });
  }
  if (isActive(current) && wanted.uri === stable.uri) {
    const message = `spec.model names the stable artifact ${stable.uri} again: the canary of ${current.artifact.uri} is stopped`;
    return hold(ended(current, CanaryPhase.Aborted, message, now), {
      type: 'Normal',
      reason: 'CanaryAborted',
      message,
    });
  }

  switch (current.phase) {
    case CanaryPhase.Promoting: {
      if (!observed.stableRolledOut) return hold(current);
      // Weight 0 now; the canary's pods stay until the stable pods have applied it (canaryServes).
      const message = `promoted: every stable pod serves ${current.artifact.uri}`;
      return hold(ended(current, CanaryPhase.Promoted, message, now), {
        type: 'Normal',
        reason: 'CanaryPromoted',
        message,
      });
    }
    case CanaryPhase.Promoted:
    case CanaryPhase.RolledBack:
    case CanaryPhase.Aborted:
      // Finished: a rolled-back or aborted artifact is not retried until spec.model names another.
      return hold(current);
  }

  if (spec.abort) {
    const message = `aborted by spec.canary.abort at step ${current.step + 1}: every request goes to the stable ${stable.uri}`;
    return hold(ended(current, CanaryPhase.Aborted, message, now), {
      type: 'Warning',
      reason: 'CanaryAborted',
      message,
    });
  }
  if (spec.promote) {
    const message = `promoted by spec.canary.promote at step ${current.step + 1}: the stable pods roll to ${current.artifact.uri}`;
    return hold(promoting(current, message), {
      type: 'Normal',
      reason: 'CanaryPromoting',
      message,
    });
  }
  const step = Math.min(current.step, spec.steps.length - 1);
  if (observed.readyCanaryPods === 0 || current.phase !== CanaryPhase.Progressing) {
    const { status, event } = awaitPods(current, step, spec, observed, now);
    return hold(status, event);
  }
  if (!analysis || (analysisDueInMs(current, spec, now) ?? 0) > 0) return hold(current);

  const again = { ...current, lastAnalysis: analysis, stepStartedAt: now.toISOString() };
  switch (analysis.verdict) {
    case AnalysisVerdict.Inconclusive:
      return hold({ ...again, message: `step ${step + 1} holds at ${current.weight}%: ${analysis.message}` });
    case AnalysisVerdict.Fail: {
      const failedAnalyses = current.failedAnalyses + 1;
      if (failedAnalyses >= spec.failureLimit) {
        const message = `rolled back at step ${step + 1} (${failedAnalyses} failed analyses): ${analysis.message}; every request goes to the stable ${stable.uri}`;
        const rolledBack = { ...again, failedAnalyses, reason: CanaryRollbackReason.AnalysisFailed };
        return hold(ended(rolledBack, CanaryPhase.RolledBack, message, now), {
          type: 'Warning',
          reason: 'CanaryRolledBack',
          message,
        });
      }
      const message = `step ${step + 1}: analysis ${failedAnalyses} of ${spec.failureLimit} allowed failed: ${analysis.message}`;
      return hold(
        { ...again, failedAnalyses, message },
        { type: 'Warning', reason: 'CanaryAnalysisFailed', message },
      );
    }
  }
  if (step + 1 >= spec.steps.length) {
    const message = `every step passed: the stable pods roll to ${current.artifact.uri}`;
    return hold(promoting(again, message), {
      type: 'Normal',
      reason: 'CanaryPromoting',
      message,
    });
  }
  const next = enterStep(again, step + 1, spec, observed, now);
  const message = `step ${step + 1} passed; ${next.message}`;
  return hold(next, { type: 'Normal', reason: 'CanaryStepPassed', message });
}

/** What the canary children serve in a pass (desired-canary.ts's CanaryPlan, without the sizes). */
export interface CanaryServes {
  /** Percent of requests the stable pods forward (the traffic ConfigMap). */
  weight: number;
  /**
   * The weight the canary's pods are sized for; undefined when the canary is scaled to 0. While
   * Scaling or Paused it is the step's weight: its pods start before that weight is served.
   */
  sizedFor?: number;
  /** A promoted canary draining keeps the pods it has until then (requeue then). */
  drainsInMs?: number;
}

/**
 * What status.canary means for the canary's children. A rolled-back or aborted canary goes at once
 * (weight 0 is applied before its Deployment is scaled to 0, and a stable pod whose canary cannot
 * be reached answers itself). A promoted one serves the same artifact as the stable pods, so there
 * is no hurry: it keeps its pods for `drainSeconds` after the weight went to 0 — the kubelet
 * projects a changed ConfigMap into the stable pods within its sync period — so no stable pod still
 * forwarding finds the canary gone.
 */
export function canaryServes(
  s: CanaryStatus | undefined,
  spec: CanarySpec,
  now: Date,
  drainSeconds: number,
): CanaryServes {
  if (!s) return { weight: 0 };
  const stepWeight = spec.steps[Math.min(s.step, spec.steps.length - 1)]!;
  switch (s.phase) {
    case CanaryPhase.Progressing:
    case CanaryPhase.Paused:
    case CanaryPhase.Scaling:
      return { weight: s.weight, sizedFor: stepWeight };
    case CanaryPhase.Promoting:
      return { weight: s.weight, sizedFor: s.weight };
    case CanaryPhase.Promoted: {
      const left = s.finishedAt ? Date.parse(s.finishedAt) + drainSeconds * 1000 - now.getTime() : 0;
      return left > 0 ? { weight: 0, drainsInMs: left } : { weight: 0 };
    }
    default:
      return { weight: 0 };
  }
}
