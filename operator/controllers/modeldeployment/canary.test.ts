import { describe, expect, it } from 'vitest';
import type { CanaryAnalysisStatus, CanarySpec, CanaryStatus } from '../../../api/index.ts';
import {
  type CanaryObserved,
  canaryServes,
  judgeAnalysis,
  type Measurement,
  nextCanaryState,
  progressDeadlineInMs,
  type TrackMetrics,
} from './canary.ts';

const spec: CanarySpec = {
  steps: [10, 25, 50],
  intervalSeconds: 60,
  failureLimit: 2,
  progressDeadlineSeconds: 600,
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
  readyCanaryPods: 1,
  podsFor: () => 1,
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
  rejectionRate: 0,
  p99LatencySeconds: 0.05,
  predictionBins: { a: 50, b: 50 },
};
const measured = (canary: Partial<TrackMetrics> = {}, stable: Partial<TrackMetrics> = {}): Measurement => ({
  state: 'measured',
  canary: { ...healthy, ...canary },
  stable: { ...healthy, ...stable },
});
const verdict = (m: Measurement): CanaryAnalysisStatus => judgeAnalysis(m, spec, 0, at(60));

describe('judging an analysis window', () => {
  it.each<[string, Measurement, string]>([
    ['passes a canary as good as stable', measured(), 'Pass'],
    ['fails an error rate over the threshold', measured({ errorRate: 0.05 }), 'Fail'],
    ['fails a p99 latency over the threshold', measured({ p99LatencySeconds: 2 }), 'Fail'],
    [
      'fails a canary that rejects every request (an input signature the clients do not send), with no 5xx and no predictions',
      measured({ errorRate: 0, rejectionRate: 1, predictionBins: {} }),
      'Fail',
    ],
    [
      'fails a canary that rejects more requests than stable by more than maxErrorRate',
      measured({ rejectionRate: 0.25 }, { rejectionRate: 0.2 }),
      'Fail',
    ],
    [
      'passes a canary that rejects the clients’ bad requests as stable does',
      measured({ rejectionRate: 0.205 }, { rejectionRate: 0.2 }),
      'Pass',
    ],
    [
      'fails rejections over maxErrorRate when the stable track had no requests to compare with',
      measured({ rejectionRate: 0.5 }, { requests: 0, errorRate: undefined, rejectionRate: undefined }),
      'Fail',
    ],
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

  it('names the rejections and the stable track’s share they exceed', () => {
    const a = verdict(measured({ rejectionRate: 1, predictionBins: {} }, { rejectionRate: 0.02 }));
    expect(a.message).toBe("failed: rejectionRate 1 > the stable track's 0.02 + 0.01");
    expect(a.checks.find((c) => c.name === 'rejectionRate')).toEqual({
      name: 'rejectionRate',
      value: 1,
      stable: 0.02,
      threshold: 0.01,
      verdict: 'Fail',
    });
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

/** A case of the state machine: current, analysis, now, spec change, observed, the status expected, the stable pods' URI. */
type Transition = [
  string,
  CanaryStatus | undefined,
  CanaryAnalysisStatus | undefined,
  Date,
  Partial<CanarySpec>,
  Partial<CanaryObserved>,
  Partial<CanaryStatus> | undefined,
  string,
];

function expectTransition(...[, current, analysis, now, specChange, seen, expected, stableURI]: Transition) {
  const decision = nextCanaryState(current, analysis, now, { ...spec, ...specChange }, observed(seen));
  if (expected === undefined) expect(decision.status).toBeUndefined();
  else {
    // An expected undefined means the field is absent (toMatchObject would want it present).
    const fields = Object.entries(expected);
    expect(decision.status).toMatchObject(Object.fromEntries(fields.filter(([, v]) => v !== undefined)));
    for (const [field] of fields.filter(([, v]) => v === undefined)) {
      expect(decision.status, field).not.toHaveProperty(field);
    }
  }
  expect(decision.stableArtifact.uri).toBe(stableURI);
}

const pass = verdict(measured());
const fail = verdict(measured({ errorRate: 0.5 }));
const unknown = verdict({ state: 'unavailable', message: 'Prometheus at http://p:9090 is unreachable' });

describe('the canary state machine', () => {
  it.each<Transition>([
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
      { readyCanaryPods: 0 },
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
      { phase: 'Promoting', weight: 50 },
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
      { phase: 'Promoting', weight: 10 },
      NEW.uri,
    ],
    [
      'pauses, sending nothing, when the canary pods stop being ready',
      running({ step: 1, weight: 25 }),
      undefined,
      at(10),
      {},
      { readyCanaryPods: 0 },
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
      { phase: 'Promoted', weight: 0, finishedAt: at(10).toISOString() },
      NEW.uri,
    ],
    [
      'keeps the canary’s share while the promotion’s rolling update runs',
      running({ phase: 'Promoting', step: 2, weight: 50 }),
      undefined,
      at(10),
      {},
      { stable: NEW, wanted: NEW, stableRolledOut: false },
      { phase: 'Promoting', weight: 50 },
      NEW.uri,
    ],
    [
      'holds the weight served, Scaling, when the next step needs canary pods that are not ready',
      running(),
      pass,
      at(60),
      {},
      { readyCanaryPods: 1, podsFor: (w) => (w >= 25 ? 3 : 1) },
      { phase: 'Scaling', step: 1, weight: 10, lastAnalysis: pass },
      OLD.uri,
    ],
    [
      'raises the weight and starts the step’s window once its canary pods are ready',
      running({ phase: 'Scaling', step: 1, weight: 10 }),
      undefined,
      at(90),
      {},
      { readyCanaryPods: 3, podsFor: (w) => (w >= 25 ? 3 : 1) },
      { phase: 'Progressing', step: 1, weight: 25, stepStartedAt: at(90).toISOString() },
      OLD.uri,
    ],
    [
      'keeps Scaling, never judging a step whose weight is not served, while the pods take less than the progress deadline',
      running({ phase: 'Scaling', step: 1, weight: 10, waitingSince: at(1).toISOString() }),
      pass,
      at(600),
      {},
      { readyCanaryPods: 2, podsFor: (w) => (w >= 25 ? 3 : 1) },
      { phase: 'Scaling', step: 1, weight: 10, stepStartedAt: T0.toISOString() },
      OLD.uri,
    ],
    [
      'starts Scaling at weight 0 when some but not all of the first step’s canary pods are ready',
      undefined,
      undefined,
      T0,
      {},
      { readyCanaryPods: 1, podsFor: () => 2 },
      { phase: 'Scaling', step: 0, weight: 0 },
      OLD.uri,
    ],
    [
      'resumes a paused step as Scaling at weight 0 while fewer pods are ready than its weight needs',
      running({ phase: 'Paused', step: 1, weight: 0 }),
      undefined,
      at(90),
      {},
      { readyCanaryPods: 1, podsFor: () => 2 },
      { phase: 'Scaling', step: 1, weight: 0 },
      OLD.uri,
    ],
    [
      'pauses a Scaling step, sending nothing, when no canary pod is ready',
      running({ phase: 'Scaling', step: 1, weight: 10 }),
      undefined,
      at(90),
      {},
      { readyCanaryPods: 0, podsFor: () => 3 },
      { phase: 'Paused', step: 1, weight: 0 },
      OLD.uri,
    ],
    [
      'keeps a running step at its weight while the stable HPA grows it and the canary’s new pods start',
      running(),
      undefined,
      at(10),
      {},
      { readyCanaryPods: 1, podsFor: () => 2 },
      { phase: 'Progressing', step: 0, weight: 10 },
      OLD.uri,
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
      { phase: 'Aborted', weight: 0, finishedAt: at(10).toISOString() },
      OLD.uri,
    ],
  ])('%s', (...c) => expectTransition(...c));

  it('records the analysis and says why it rolled back', () => {
    const d = nextCanaryState(running({ failedAnalyses: 1 }), fail, at(60), spec, observed());
    expect(d.status?.lastAnalysis?.verdict).toBe('Fail');
    expect(d.status?.reason).toBe('AnalysisFailed');
    expect(d.status?.message).toMatch(/rolled back at step 1 .*errorRate 0.5 > 0.01/);
    expect(d.event).toMatchObject({ type: 'Warning', reason: 'CanaryRolledBack' });
  });
});

describe('what the canary’s children serve', () => {
  const drain = 90;
  it.each<[string, CanaryStatus | undefined, Date, ReturnType<typeof canaryServes>]>([
    ['serves nothing and runs no canary without a rollout', undefined, at(0), { weight: 0 }],
    [
      'forwards a running step’s weight to pods sized for it',
      running(),
      at(10),
      { weight: 10, sizedFor: 10 },
    ],
    [
      'sizes the canary for the step it waits for while forwarding the weight served before',
      running({ phase: 'Scaling', step: 1, weight: 10 }),
      at(10),
      { weight: 10, sizedFor: 25 },
    ],
    [
      'starts the step’s pods while paused, forwarding nothing',
      running({ phase: 'Paused', step: 1, weight: 0 }),
      at(10),
      { weight: 0, sizedFor: 25 },
    ],
    [
      'keeps the canary’s share and pods during the promotion’s rolling update',
      running({ phase: 'Promoting', step: 2, weight: 50 }),
      at(10),
      { weight: 50, sizedFor: 50 },
    ],
    [
      'hands the weight back first and keeps a promoted canary’s pods until the stable pods applied it',
      running({ phase: 'Promoted', step: 2, weight: 0, finishedAt: T0.toISOString() }),
      at(30),
      { weight: 0, drainsInMs: 60_000 },
    ],
    [
      'scales a promoted canary to 0 once the drain is over',
      running({ phase: 'Promoted', step: 2, weight: 0, finishedAt: T0.toISOString() }),
      at(90),
      { weight: 0 },
    ],
    [
      'scales a rolled-back canary to 0 at once',
      running({ phase: 'RolledBack', weight: 0, finishedAt: T0.toISOString() }),
      at(0),
      { weight: 0 },
    ],
    [
      'scales an aborted canary to 0 at once',
      running({ phase: 'Aborted', weight: 0, finishedAt: T0.toISOString() }),
      at(0),
      { weight: 0 },
    ],
  ])('%s', (_name, status, now, expected) => {
    expect(canaryServes(status, spec, now, drain)).toEqual(expected);
  });
});

describe('what a waiting step says', () => {
  it.each<[string, CanaryStatus, RegExp]>([
    [
      'names the ready pods, the pods the weight needs and the weight still served',
      running(),
      /^step 2 of 3 waits for canary pods: 1 of the 3 that 25% needs are ready; the stable pods keep forwarding 10% to s3:\/\/m\/iris\/2\/ until then$/,
    ],
    [
      'says no request goes to the canary while nothing is served',
      running({ phase: 'Paused', step: 1, weight: 0 }),
      /^step 2 of 3 waits for canary pods: 1 of the 3 that 25% needs are ready; no request goes to s3:\/\/m\/iris\/2\/ until then$/,
    ],
  ])('%s', (_name, current, message) => {
    const d = nextCanaryState(current, pass, at(60), spec, observed({ podsFor: () => 3 }));
    expect(d.status).toMatchObject({ phase: 'Scaling', step: 1 });
    expect(d.status?.message).toMatch(message);
  });
});

describe('the events of a step that waits for its pods', () => {
  const needs3 = (ready: number) => observed({ readyCanaryPods: ready, podsFor: (w) => (w >= 25 ? 3 : 1) });
  it.each<[string, CanaryStatus, CanaryAnalysisStatus | undefined, CanaryObserved, string, RegExp]>([
    [
      'records the passed step and that the next one waits',
      running(),
      pass,
      needs3(1),
      'CanaryStepPassed',
      /^step 1 passed; step 2 of 3 waits for canary pods: 1 of the 3/,
    ],
    [
      'records the raised weight once the pods are ready',
      running({ phase: 'Scaling', step: 1, weight: 10 }),
      undefined,
      needs3(3),
      'CanaryWeightRaised',
      /^step 2 of 3: 25% of requests to s3:\/\/m\/iris\/2\/: the 3 canary pods it needs are ready$/,
    ],
  ])('%s', (_name, current, analysis, seen, reason, message) => {
    const d = nextCanaryState(current, analysis, at(60), spec, seen);
    expect(d.event).toMatchObject({ type: 'Normal', reason });
    expect(d.event?.message).toMatch(message);
  });

  it('records nothing while the step keeps waiting', () => {
    const d = nextCanaryState(
      running({ phase: 'Scaling', step: 1, weight: 10 }),
      undefined,
      at(60),
      spec,
      needs3(2),
    );
    expect(d.event).toBeUndefined();
  });
});

describe('the progress deadline of a step that waits for its canary pods', () => {
  const scaling = (o: Partial<CanaryStatus> = {}) =>
    running({ phase: 'Scaling', step: 1, weight: 10, waitingSince: T0.toISOString(), ...o });
  const paused = (o: Partial<CanaryStatus> = {}) =>
    running({ phase: 'Paused', step: 0, weight: 0, waitingSince: T0.toISOString(), ...o });
  const needs3 = (ready: number): Partial<CanaryObserved> => ({
    readyCanaryPods: ready,
    podsFor: (w) => (w >= 25 ? 3 : 1),
  });
  const rolledBack = (o: Partial<CanaryStatus> = {}): Partial<CanaryStatus> => ({
    phase: 'RolledBack',
    weight: 0,
    reason: 'ProgressDeadlineExceeded',
    ...o,
  });
  it.each<Transition>([
    [
      'keeps a Scaling step waiting, at the weight served before, within the deadline',
      scaling(),
      undefined,
      at(599),
      {},
      needs3(1),
      { phase: 'Scaling', step: 1, weight: 10, waitingSince: T0.toISOString() },
      OLD.uri,
    ],
    [
      'rolls a Scaling step back at the deadline, weight 0 at once',
      scaling(),
      undefined,
      at(600),
      {},
      needs3(1),
      rolledBack({ step: 1, finishedAt: at(600).toISOString(), waitingSince: T0.toISOString() }),
      OLD.uri,
    ],
    [
      'keeps the first step waiting from weight 0 while no canary pod is ready, within the deadline',
      paused(),
      undefined,
      at(599),
      {},
      { readyCanaryPods: 0 },
      { phase: 'Paused', step: 0, weight: 0, waitingSince: T0.toISOString() },
      OLD.uri,
    ],
    [
      'rolls back the first step’s wait from weight 0 at the deadline when no canary pod ever became ready',
      paused(),
      undefined,
      at(600),
      {},
      { readyCanaryPods: 0 },
      rolledBack({ step: 0 }),
      OLD.uri,
    ],
    [
      'rolls back the first step Scaling from weight 0 at the deadline',
      scaling({ step: 0, weight: 0 }),
      undefined,
      at(600),
      {},
      { readyCanaryPods: 1, podsFor: () => 2 },
      rolledBack({ step: 0 }),
      OLD.uri,
    ],
    [
      'starts the clock when every canary pod of a running step stops being ready',
      running({ step: 1, weight: 25 }),
      undefined,
      at(100),
      {},
      { readyCanaryPods: 0 },
      { phase: 'Paused', step: 1, weight: 0, waitingSince: at(100).toISOString() },
      OLD.uri,
    ],
    [
      'rolls back a step whose canary pods stopped being ready and stayed so past the deadline',
      paused({ step: 1, waitingSince: at(100).toISOString() }),
      undefined,
      at(700),
      {},
      { readyCanaryPods: 0 },
      rolledBack({ step: 1 }),
      OLD.uri,
    ],
    [
      'keeps the clock when a waiting step goes from Scaling to Paused',
      scaling(),
      undefined,
      at(300),
      {},
      needs3(0),
      { phase: 'Paused', step: 1, weight: 0, waitingSince: T0.toISOString() },
      OLD.uri,
    ],
    [
      'keeps the clock when a waiting step goes from Paused to Scaling',
      paused({ step: 1 }),
      undefined,
      at(300),
      {},
      needs3(1),
      { phase: 'Scaling', step: 1, weight: 0, waitingSince: T0.toISOString() },
      OLD.uri,
    ],
    [
      'raises the weight and clears the clock once the pods are ready, just before the deadline',
      scaling(),
      undefined,
      at(599),
      {},
      needs3(3),
      { phase: 'Progressing', step: 1, weight: 25, waitingSince: undefined },
      OLD.uri,
    ],
    [
      'serves the weight, not a rollback, when the pods are ready in the first pass after the deadline',
      scaling(),
      undefined,
      at(900),
      {},
      needs3(3),
      { phase: 'Progressing', step: 1, weight: 25, stepStartedAt: at(900).toISOString() },
      OLD.uri,
    ],
    [
      'starts the clock of the next step when a step passes and its pods are not ready',
      running(),
      pass,
      at(60),
      {},
      needs3(1),
      { phase: 'Scaling', step: 1, weight: 10, waitingSince: at(60).toISOString() },
      OLD.uri,
    ],
    [
      'starts the clock of a new rollout whose canary pods are not ready',
      undefined,
      undefined,
      T0,
      {},
      { readyCanaryPods: 0 },
      { phase: 'Paused', step: 0, weight: 0, waitingSince: T0.toISOString() },
      OLD.uri,
    ],
    [
      'starts the clock now for a waiting step whose status was written before the clock existed',
      scaling({ waitingSince: undefined }),
      undefined,
      at(900),
      {},
      needs3(1),
      { phase: 'Scaling', step: 1, weight: 10, waitingSince: at(900).toISOString() },
      OLD.uri,
    ],
    [
      'rolls back at the deadline the spec sets',
      scaling(),
      undefined,
      at(30),
      { progressDeadlineSeconds: 30 },
      needs3(1),
      rolledBack({ step: 1 }),
      OLD.uri,
    ],
    [
      'promotes on spec.canary.promote while Scaling',
      scaling(),
      undefined,
      at(300),
      { promote: true },
      needs3(1),
      { phase: 'Promoting', step: 1, weight: 10, waitingSince: undefined },
      NEW.uri,
    ],
    [
      'aborts on spec.canary.abort while Scaling',
      scaling(),
      undefined,
      at(300),
      { abort: true },
      needs3(1),
      { phase: 'Aborted', step: 1, weight: 0, finishedAt: at(300).toISOString() },
      OLD.uri,
    ],
    [
      'aborts on spec.canary.abort while Paused, past the deadline too',
      paused(),
      undefined,
      at(900),
      { abort: true },
      { readyCanaryPods: 0 },
      { phase: 'Aborted', weight: 0, reason: undefined },
      OLD.uri,
    ],
  ])('%s', (...c) => expectTransition(...c));

  it('keeps the clock across an operator restart: the next operator reads it from the stored status', () => {
    const before = nextCanaryState(running(), pass, at(60), spec, observed(needs3(1))).status!;
    const stored = JSON.parse(JSON.stringify(before)) as CanaryStatus;
    const early = nextCanaryState(stored, undefined, at(600), spec, observed(needs3(1))).status;
    expect(early).toMatchObject({ phase: 'Scaling', waitingSince: at(60).toISOString() });
    const late = nextCanaryState(stored, undefined, at(660), spec, observed(needs3(1))).status;
    expect(late).toMatchObject({ phase: 'RolledBack', reason: 'ProgressDeadlineExceeded' });
  });

  it('says how many pods were ready of how many, since when and why, in status and a Warning event', () => {
    const why = 'ImagePullFailed: model server image cannot be pulled (ErrImagePull): not found';
    const d = nextCanaryState(
      scaling(),
      undefined,
      at(600),
      spec,
      observed({ ...needs3(1), notReadyBecause: why }),
    );
    expect(d.status?.message).toBe(
      `rolled back at step 2: progress deadline exceeded: 1 of the 3 canary pods that 25% needs were ready 600 s after the wait began at ${T0.toISOString()} (${why}); every request goes to the stable ${OLD.uri}`,
    );
    expect(d.event).toEqual({ type: 'Warning', reason: 'CanaryRolledBack', message: d.status?.message });
  });

  it.each<[string, CanaryStatus | undefined, Date, number | undefined]>([
    ['asks to be woken at the deadline of a Scaling step', scaling(), at(100), 500_000],
    ['asks to be woken at the deadline of a Paused step', paused(), at(599), 1_000],
    ['asks to be woken at once for a deadline already past', paused(), at(700), 0],
    ['has no deadline for a running step', running(), at(100), undefined],
    ['has no deadline for a rolled-back rollout', running({ phase: 'RolledBack' }), at(100), undefined],
    ['has no deadline without a rollout', undefined, at(100), undefined],
  ])('%s', (_name, status, now, expected) => {
    expect(progressDeadlineInMs(status, spec, now)).toBe(expected);
  });
});
