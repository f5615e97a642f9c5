import { describe, expect, it } from 'vitest';
import type { CanaryAnalysisStatus, CanarySpec, CanaryStatus } from '../../../api/index.ts';
import {
  type CanaryObserved,
  judgeAnalysis,
  type Measurement,
  nextCanaryState,
  type TrackMetrics,
} from './canary.ts';

const spec: CanarySpec = {
  steps: [10, 25, 50],
  intervalSeconds: 60,
  failureLimit: 2,
  replicas: 1,
  analysis: { maxErrorRate: 0.01, maxP99LatencySeconds: 0.5, maxPredictionDrift: 0.25, minRequests: 20 },
  promote: false,
  abort: false,
};
const OLD = { uri: 's3://m/iris/1/', version: '1' };
const NEW = { uri: 's3://m/iris/2/', version: '2' };
const T0 = new Date('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const observed = (o: Partial<CanaryObserved> = {}): CanaryObserved => ({
  stable: OLD,
  wanted: NEW,
  canaryReady: true,
  stableRolledOut: false,
  ...o,
});
const running = (o: Partial<CanaryStatus> = {}): CanaryStatus => ({
  phase: 'Progressing',
  artifact: NEW,
  step: 0,
  weight: 10,
  stepStartedAt: T0.toISOString(),
  failedAnalyses: 0,
  message: '',
  ...o,
});
const healthy: TrackMetrics = {
  requests: 100,
  errorRate: 0,
  p99LatencySeconds: 0.05,
  predictionBins: { a: 50, b: 50 },
};
const measured = (canary: Partial<TrackMetrics> = {}): Measurement => ({
  state: 'measured',
  canary: { ...healthy, ...canary },
  stable: healthy,
});
const verdict = (m: Measurement): CanaryAnalysisStatus => judgeAnalysis(m, spec, 0, at(60));

describe('judging an analysis window', () => {
  it.each<[string, Measurement, string]>([
    ['passes a canary as good as stable', measured(), 'Pass'],
    ['fails an error rate over the threshold', measured({ errorRate: 0.05 }), 'Fail'],
    ['fails a p99 latency over the threshold', measured({ p99LatencySeconds: 2 }), 'Fail'],
    ['fails predictions that differ from stable', measured({ predictionBins: { a: 95, b: 5 } }), 'Fail'],
    [
      'holds when the canary served too few requests',
      measured({ requests: 3, errorRate: 1 }),
      'Inconclusive',
    ],
    ['holds when the latency has no data', measured({ p99LatencySeconds: Number.NaN }), 'Inconclusive'],
    [
      'holds when Prometheus is unreachable',
      { state: 'unavailable', message: 'connection refused' },
      'Inconclusive',
    ],
    ['holds when the canary has no prediction bins yet', measured({ predictionBins: {} }), 'Inconclusive'],
  ])('%s', (_name, m, expected) => {
    expect(verdict(m).verdict).toBe(expected);
  });

  it('skips the prediction check for a model without a prediction profile', () => {
    const m: Measurement = {
      state: 'measured',
      canary: { ...healthy, predictionBins: undefined },
      stable: { ...healthy, predictionBins: undefined },
    };
    const a = verdict(m);
    expect(a.verdict).toBe('Pass');
    expect(a.checks.map((c) => c.name)).not.toContain('predictionDrift');
  });
});

const pass = verdict(measured());
const fail = verdict(measured({ errorRate: 0.5 }));
const unknown = verdict({ state: 'unavailable', message: 'Prometheus at http://p:9090 is unreachable' });

describe('the canary state machine', () => {
  it.each<
    [
      string,
      CanaryStatus | undefined,
      CanaryAnalysisStatus | undefined,
      Date,
      Partial<CanarySpec>,
      Partial<CanaryObserved>,
      Partial<CanaryStatus> | undefined,
      string,
    ]
  >([
    [
      'starts nothing while spec.model is the stable artifact',
      undefined,
      undefined,
      T0,
      {},
      { wanted: OLD },
      undefined,
      OLD.uri,
    ],
    [
      'starts a canary at the first step when spec.model names a new artifact',
      undefined,
      undefined,
      T0,
      {},
      {},
      { phase: 'Progressing', step: 0, weight: 10 },
      OLD.uri,
    ],
    [
      'starts paused, sending nothing, while no canary pod is ready',
      undefined,
      undefined,
      T0,
      {},
      { canaryReady: false },
      { phase: 'Paused', weight: 0 },
      OLD.uri,
    ],
    [
      'waits for the interval before judging a step',
      running(),
      pass,
      at(30),
      {},
      {},
      { step: 0, weight: 10 },
      OLD.uri,
    ],
    [
      'moves to the next step when the analysis passes',
      running(),
      pass,
      at(60),
      {},
      {},
      { step: 1, weight: 25, stepStartedAt: at(60).toISOString() },
      OLD.uri,
    ],
    [
      'promotes after the last step passes',
      running({ step: 2, weight: 50 }),
      pass,
      at(60),
      {},
      {},
      { phase: 'Promoting', weight: 0 },
      NEW.uri,
    ],
    [
      'counts a failed analysis and stays at the step below the limit',
      running(),
      fail,
      at(60),
      {},
      {},
      { phase: 'Progressing', step: 0, failedAnalyses: 1 },
      OLD.uri,
    ],
    [
      'rolls back at the failure limit',
      running({ failedAnalyses: 1 }),
      fail,
      at(60),
      {},
      {},
      { phase: 'RolledBack', weight: 0, failedAnalyses: 2 },
      OLD.uri,
    ],
    [
      'holds the step, never promotes, when Prometheus is unreachable',
      running({ step: 2, weight: 50 }),
      unknown,
      at(60),
      {},
      {},
      { phase: 'Progressing', step: 2, weight: 50, failedAnalyses: 0 },
      OLD.uri,
    ],
    [
      'rolls back at once on spec.canary.abort',
      running({ step: 1, weight: 25 }),
      undefined,
      at(10),
      { abort: true },
      {},
      { phase: 'Aborted', weight: 0 },
      OLD.uri,
    ],
    [
      'promotes at once on spec.canary.promote',
      running(),
      undefined,
      at(10),
      { promote: true },
      {},
      { phase: 'Promoting', weight: 0 },
      NEW.uri,
    ],
    [
      'pauses, sending nothing, when the canary pods stop being ready',
      running({ step: 1, weight: 25 }),
      undefined,
      at(10),
      {},
      { canaryReady: false },
      { phase: 'Paused', step: 1, weight: 0 },
      OLD.uri,
    ],
    [
      'resumes a paused step with a fresh window once a canary pod is ready',
      running({ phase: 'Paused', step: 1, weight: 0 }),
      undefined,
      at(90),
      {},
      {},
      { phase: 'Progressing', step: 1, weight: 25, stepStartedAt: at(90).toISOString() },
      OLD.uri,
    ],
    [
      'resumes at the same step from status after an operator restart',
      running({ step: 1, weight: 25 }),
      undefined,
      at(20),
      {},
      {},
      { phase: 'Progressing', step: 1, weight: 25, stepStartedAt: T0.toISOString() },
      OLD.uri,
    ],
    [
      'finishes the promotion once every stable pod serves the new artifact',
      running({ phase: 'Promoting', weight: 0 }),
      undefined,
      at(10),
      {},
      { stable: NEW, wanted: NEW, stableRolledOut: true },
      { phase: 'Promoted' },
      NEW.uri,
    ],
    [
      'does not retry a rolled-back artifact',
      running({ phase: 'RolledBack', weight: 0 }),
      undefined,
      at(500),
      {},
      {},
      { phase: 'RolledBack', weight: 0 },
      OLD.uri,
    ],
    [
      'starts over from step 1 when spec.model names a third artifact mid-rollout',
      running({ step: 2, weight: 50 }),
      undefined,
      at(10),
      {},
      { wanted: { uri: 's3://m/iris/3/' } },
      { phase: 'Progressing', step: 0, weight: 10, artifact: { uri: 's3://m/iris/3/' } },
      OLD.uri,
    ],
    [
      'stops the canary when spec.model names the stable artifact again',
      running(),
      undefined,
      at(10),
      {},
      { wanted: OLD },
      { phase: 'Aborted', weight: 0 },
      OLD.uri,
    ],
  ])('%s', (_name, current, analysis, now, specChange, seen, expected, stableURI) => {
    const decision = nextCanaryState(current, analysis, now, { ...spec, ...specChange }, observed(seen));
    if (expected === undefined) expect(decision.status).toBeUndefined();
    else expect(decision.status).toMatchObject(expected);
    expect(decision.stableArtifact.uri).toBe(stableURI);
  });

  it('records the analysis and says why it rolled back', () => {
    const d = nextCanaryState(running({ failedAnalyses: 1 }), fail, at(60), spec, observed());
    expect(d.status?.lastAnalysis?.verdict).toBe('Fail');
    expect(d.status?.message).toMatch(/rolled back at step 1 .*errorRate 0.5 > 0.01/);
    expect(d.event).toMatchObject({ type: 'Warning', reason: 'CanaryRolledBack' });
  });
});
