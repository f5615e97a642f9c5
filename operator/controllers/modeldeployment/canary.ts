// The canary rollout as a pure state machine (docs/canary.md): status.canary is the only state, so
// an operator that restarts resumes at the same step from status alone. Each reconcile asks
// nextCanaryState what the rollout is now, given what the cluster shows and, when a step's
// interval is over, the analysis of that window; the reconcile then applies what the answer says
// (the stable pods' artifact, the canary's artifact and weight).
import {
  AnalysisVerdict,
  type CanaryAnalysisStatus,
  CanaryPhase,
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
  /** Whether a canary pod is ready (its Service has an endpoint to forward to). */
  canaryReady: boolean;
  /** Whether every stable pod runs `wanted` (the promotion's rolling update finished). */
  stableRolledOut: boolean;
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

const ACTIVE = new Set<string>([CanaryPhase.Progressing, CanaryPhase.Paused]);

export const isActive = (s: CanaryStatus | undefined): boolean => s !== undefined && ACTIVE.has(s.phase);

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
    const what = failed.map((c) => `${c.name} ${round(c.value!)} > ${c.threshold}`).join(', ');
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

function started(artifact: Artifact, spec: CanarySpec, canaryReady: boolean, now: Date): CanaryStatus {
  return {
    phase: canaryReady ? CanaryPhase.Progressing : CanaryPhase.Paused,
    artifact,
    step: 0,
    weight: canaryReady ? spec.steps[0]! : 0,
    stepStartedAt: now.toISOString(),
    failedAnalyses: 0,
    message: canaryReady
      ? `step 1 of ${spec.steps.length}: ${spec.steps[0]}% of requests to ${artifact.uri}`
      : `waiting for a canary pod of ${artifact.uri} to be ready; no request goes to it`,
  };
}

const ended = (s: CanaryStatus, phase: CanaryPhase, message: string): CanaryStatus => ({
  ...s,
  phase,
  weight: 0,
  message,
});

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
    const next = started(wanted, spec, observed.canaryReady, now);
    return hold(next, { type: 'Normal', reason: 'CanaryStarted', message: next.message });
  }
  if (!current) {
    if (wanted.uri === stable.uri) return hold(undefined);
    const next = started(wanted, spec, observed.canaryReady, now);
    return hold(next, { type: 'Normal', reason: 'CanaryStarted', message: next.message });
  }
  if (isActive(current) && wanted.uri === stable.uri) {
    const message = `spec.model names the stable artifact ${stable.uri} again: the canary of ${current.artifact.uri} is stopped`;
    return hold(ended(current, CanaryPhase.Aborted, message), {
      type: 'Normal',
      reason: 'CanaryAborted',
      message,
    });
  }

  switch (current.phase) {
    case CanaryPhase.Promoting: {
      if (!observed.stableRolledOut) return hold(current);
      const message = `promoted: every stable pod serves ${current.artifact.uri}`;
      return hold(
        { ...current, phase: CanaryPhase.Promoted, weight: 0, message },
        {
          type: 'Normal',
          reason: 'CanaryPromoted',
          message,
        },
      );
    }
    case CanaryPhase.Promoted:
    case CanaryPhase.RolledBack:
    case CanaryPhase.Aborted:
      // Finished: a rolled-back or aborted artifact is not retried until spec.model names another.
      return hold(current);
  }

  if (spec.abort) {
    const message = `aborted by spec.canary.abort at step ${current.step + 1}: every request goes to the stable ${stable.uri}`;
    return hold(ended(current, CanaryPhase.Aborted, message), {
      type: 'Warning',
      reason: 'CanaryAborted',
      message,
    });
  }
  if (spec.promote) {
    const message = `promoted by spec.canary.promote at step ${current.step + 1}: the stable pods roll to ${current.artifact.uri}`;
    return hold(ended(current, CanaryPhase.Promoting, message), {
      type: 'Normal',
      reason: 'CanaryPromoting',
      message,
    });
  }
  const step = Math.min(current.step, spec.steps.length - 1);
  if (!observed.canaryReady) {
    if (current.phase === CanaryPhase.Paused) return hold(current);
    const message = `paused at step ${step + 1}: no canary pod of ${current.artifact.uri} is ready, every request goes to stable`;
    return hold(
      { ...current, phase: CanaryPhase.Paused, weight: 0, message },
      { type: 'Warning', reason: 'CanaryPaused', message },
    );
  }
  if (current.phase === CanaryPhase.Paused) {
    // The step starts over: its window must hold only requests the canary really served.
    return hold({
      ...current,
      phase: CanaryPhase.Progressing,
      step,
      weight: spec.steps[step]!,
      stepStartedAt: now.toISOString(),
      message: `step ${step + 1} of ${spec.steps.length}: ${spec.steps[step]}% of requests to ${current.artifact.uri}`,
    });
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
        return hold(ended({ ...again, failedAnalyses }, CanaryPhase.RolledBack, message), {
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
    return hold(ended(again, CanaryPhase.Promoting, message), {
      type: 'Normal',
      reason: 'CanaryPromoting',
      message,
    });
  }
  const message = `step ${step + 2} of ${spec.steps.length}: ${spec.steps[step + 1]}% of requests to ${current.artifact.uri}`;
  return hold(
    { ...again, step: step + 1, weight: spec.steps[step + 1]!, message },
    {
      type: 'Normal',
      reason: 'CanaryStepPassed',
      message,
    },
  );
}
