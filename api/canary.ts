// spec.canary and status.canary of a ModelDeployment: a new model version gets an exact share of
// requests in steps of growing weight, each step judged from Prometheus before the next
// (docs/canary.md, docs/decisions/0029-canary-split-in-the-stable-pods.md).
import Type, { type Static } from 'typebox';
import { rules, StringEnum } from './schema.ts';

export const CanaryPhase = {
  /** The canary serves its step's weight; analyses decide the next step. */
  Progressing: 'Progressing',
  /**
   * The canary's pods are not ready: no request goes to it, the step's clock waits; rolled back
   * once it has waited spec.canary.progressDeadlineSeconds (status.canary.waitingSince).
   */
  Paused: 'Paused',
  /**
   * The step's weight waits for the canary pods it needs: the stable pods keep forwarding the
   * weight already served (0 at the first step), and the step's clock starts once they are ready;
   * rolled back once it has waited spec.canary.progressDeadlineSeconds (status.canary.waitingSince).
   */
  Scaling: 'Scaling',
  /**
   * Every step passed (or spec.canary.promote): the stable pods roll to the canary's artifact while
   * the canary keeps serving its share; it is scaled down only once the stable rollout completed.
   */
  Promoting: 'Promoting',
  Promoted: 'Promoted',
  /**
   * Analyses failed failureLimit times, or the canary did not have the ready pods its step needs
   * within progressDeadlineSeconds: every request back on stable, status.canary.reason says which.
   */
  RolledBack: 'RolledBack',
  /** spec.canary.abort: every request back on stable. */
  Aborted: 'Aborted',
} as const;
export type CanaryPhase = (typeof CanaryPhase)[keyof typeof CanaryPhase];

export const AnalysisVerdict = {
  Pass: 'Pass',
  Fail: 'Fail',
  /** Metrics missing, too few requests, or Prometheus unreachable: the step holds, never advances. */
  Inconclusive: 'Inconclusive',
} as const;
export type AnalysisVerdict = (typeof AnalysisVerdict)[keyof typeof AnalysisVerdict];

/** Why a rollout was rolled back (status.canary.reason). */
export const CanaryRollbackReason = {
  /** failureLimit analyses failed. */
  AnalysisFailed: 'AnalysisFailed',
  /** The canary did not have the ready pods its step needs within spec.canary.progressDeadlineSeconds. */
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
} as const;
export type CanaryRollbackReason = (typeof CanaryRollbackReason)[keyof typeof CanaryRollbackReason];

/** Condition reasons of a canary rollout. */
export const CanaryReason = {
  CanaryProgressing: 'CanaryProgressing',
  CanaryPaused: 'CanaryPaused',
  CanaryScaling: 'CanaryScaling',
  CanaryPromoting: 'CanaryPromoting',
  CanaryRolledBack: 'CanaryRolledBack',
  CanaryAborted: 'CanaryAborted',
} as const;

export const CanarySpec = Type.Object(
  {
    steps: Type.Array(Type.Number({ exclusiveMinimum: 0, maximum: 100 }), {
      minItems: 1,
      maxItems: 20,
      default: [10, 25, 50],
      description:
        'Percent of inference requests the canary receives at each step, in order (two decimals at most). After the last step passes, the canary is promoted.',
      ...rules({
        rule: 'self.isSorted() && self.all(w, self.exists_one(v, v == w))',
        message: 'canary.steps must increase',
      }),
    }),
    intervalSeconds: Type.Integer({
      minimum: 10,
      maximum: 86400,
      default: 60,
      description:
        'How long each step runs; its analysis covers this window, then the rollout moves on, holds or counts a failure.',
    }),
    failureLimit: Type.Integer({
      minimum: 1,
      maximum: 100,
      default: 1,
      description: 'Failed analyses (at any steps) after which every request goes back to stable.',
    }),
    progressDeadlineSeconds: Type.Integer({
      // Below 30 s a canary that only pulls its image and loads its model would be rolled back.
      minimum: 30,
      maximum: 86400,
      default: 600,
      description:
        'How long a rollout may wait for the ready canary pods its step needs (phases Paused and Scaling: the first step from weight 0, a step after the one before passed, a step whose canary pods all stopped being ready) before it is rolled back with reason ProgressDeadlineExceeded. Counted from status.canary.waitingSince, so an operator restart does not reset it.',
    }),
    replicas: Type.Integer({
      minimum: 1,
      maximum: 100,
      default: 1,
      description:
        'Fewest pods of the canary Deployment while a rollout runs. It gets as many per unit of work as the stable track: stable replicas × weight / (100 − weight), rounded up, at most spec.replicas.max, recomputed as the steps and the stable HPA change. The split is per request in the stable pods, so the count never changes the share.',
    }),
    analysis: Type.Object(
      {
        maxErrorRate: Type.Number({
          minimum: 0,
          maximum: 1,
          default: 0.01,
          description:
            'Highest share of the canary’s inference requests answered with a 5xx status; also the most its share of rejected requests (4xx) may exceed the stable track’s, since both tracks get the same requests.',
        }),
        maxP99LatencySeconds: Type.Number({
          exclusiveMinimum: 0,
          default: 1,
          description: 'Highest 99th percentile of the canary’s inference latency, in seconds.',
        }),
        maxPredictionDrift: Type.Number({
          exclusiveMinimum: 0,
          default: 0.25,
          description:
            'Highest population stability index between the canary’s and the stable track’s prediction distributions (k2k_drift_prediction_window_rows).',
        }),
        minRequests: Type.Integer({
          minimum: 1,
          default: 20,
          description:
            'Fewer canary requests in a step’s window than this make its analysis inconclusive: the step holds.',
        }),
      },
      { default: {}, description: 'What an analysis checks, from Prometheus.' },
    ),
    promote: Type.Boolean({
      default: false,
      description:
        'Promote now, without waiting for the remaining steps (manual promotion; GitOps: commit it).',
    }),
    abort: Type.Boolean({
      default: false,
      description:
        'Send every request back to stable and stop the rollout; the canary’s artifact is not retried until spec.model names another.',
    }),
  },
  {
    description:
      'Roll a new spec.model out as a canary: the stable pods forward an exact share of requests to it, step by step, judged from Prometheus. Without it a new model replaces the old one in one rolling update.',
  },
);
export type CanarySpec = Static<typeof CanarySpec>;

const MetricCheck = Type.Object(
  {
    name: StringEnum(
      ['requests', 'errorRate', 'rejectionRate', 'p99LatencySeconds', 'predictionDrift'] as const,
      { description: 'What was checked.' },
    ),
    value: Type.Optional(Type.Number({ description: 'The canary’s value (absent: no data).' })),
    stable: Type.Optional(Type.Number({ description: 'The stable track’s value, for comparison.' })),
    threshold: Type.Number({
      description:
        'The limit from spec.canary (requests: the least; rejectionRate: the most above the stable track’s value).',
    }),
    verdict: StringEnum(Object.values(AnalysisVerdict), { description: 'Pass, Fail or Inconclusive.' }),
  },
  { description: 'One metric of an analysis.' },
);

export const CanaryAnalysisStatus = Type.Object(
  {
    time: Type.String({ format: 'date-time', description: 'When it was judged.' }),
    step: Type.Integer({ description: 'The step it judged (index into spec.canary.steps).' }),
    verdict: StringEnum(Object.values(AnalysisVerdict), {
      description:
        'Pass (next step), Fail (counted; rollback at failureLimit) or Inconclusive (the step holds).',
    }),
    checks: Type.Array(MetricCheck, { description: 'Every metric checked, with its values.' }),
    message: Type.String({ description: 'The verdict in words.' }),
  },
  { description: 'The last analysis.' },
);
export type CanaryAnalysisStatus = Static<typeof CanaryAnalysisStatus>;

export const CanaryStatus = Type.Object(
  {
    phase: StringEnum(Object.values(CanaryPhase), {
      description:
        'Progressing, Paused (no ready canary pod), Scaling (the step waits for the canary pods its weight needs), Promoting, Promoted, RolledBack or Aborted.',
    }),
    artifact: Type.Object(
      {
        uri: Type.String({ description: 'Its URI.' }),
        version: Type.Optional(Type.String({ description: 'Its version.' })),
      },
      { description: 'The artifact under test.' },
    ),
    step: Type.Integer({ description: 'Index into spec.canary.steps.' }),
    weight: Type.Number({
      description:
        'Percent of requests the stable pods are told to forward: the step’s weight once the canary has the ready pods it needs (while Scaling, the weight served before; 0 while paused or finished).',
    }),
    stepStartedAt: Type.String({
      format: 'date-time',
      description: 'When the running step’s window began; its analysis is due intervalSeconds later.',
    }),
    waitingSince: Type.Optional(
      Type.String({
        format: 'date-time',
        description:
          'When the rollout began waiting for the ready canary pods its step needs (Paused or Scaling; kept from one to the other, cleared once the step’s weight is served). spec.canary.progressDeadlineSeconds counts from it.',
      }),
    ),
    failedAnalyses: Type.Integer({ description: 'Failed analyses so far in this rollout.' }),
    lastAnalysis: Type.Optional(CanaryAnalysisStatus),
    finishedAt: Type.Optional(
      Type.String({
        format: 'date-time',
        description:
          'When the rollout ended (Promoted, RolledBack or Aborted). A promoted canary keeps its pods a while after (the stable pods apply weight 0 within the kubelet’s ConfigMap sync), then is scaled to 0.',
      }),
    ),
    reason: Type.Optional(
      StringEnum(Object.values(CanaryRollbackReason), {
        description:
          'Why a RolledBack rollout was rolled back: AnalysisFailed (failureLimit analyses failed) or ProgressDeadlineExceeded (the canary did not have the ready pods its step needs within spec.canary.progressDeadlineSeconds).',
      }),
    ),
    message: Type.String({ description: 'Where the rollout is, in words.' }),
  },
  { description: 'Where the canary rollout is; status.artifact stays the stable artifact until promotion.' },
);
export type CanaryStatus = Static<typeof CanaryStatus>;
