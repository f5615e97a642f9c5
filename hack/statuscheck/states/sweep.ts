// The states of a HyperparameterSweep: starting, running, suspended, each way it ends, stalled and
// with its spec not yet observed. Its trials are real trial TrainingJobs (sweep/testing.ts).
import { type HyperparameterSweep, HyperparameterSweepSpec, SWEEP_KIND } from '../../../api/index.ts';
import type { Refusal } from '../../../operator/controllers/conditions.ts';
import { conflict } from '../../../operator/controllers/ownership.ts';
import { planTrials } from '../../../operator/controllers/sweep/plan.ts';
import {
  computeSweepStatus,
  invalidSearchSpace,
  sweepOutcome,
} from '../../../operator/controllers/sweep/status.ts';
import { type TrialOutcome, trialOf } from '../../../operator/controllers/sweep/testing.ts';
import { forAlgorithm, sweepTrials } from '../../../operator/controllers/sweep/trials.ts';
import {
  because,
  degraded,
  fromSample,
  type HealthCase,
  lagMessage,
  NOT_OBSERVED,
  NOW,
  newerSpec,
  progressing,
  said,
  state,
} from './case.ts';

const sweep = (spec: Partial<HyperparameterSweep['spec']> = {}) =>
  fromSample<HyperparameterSweep>(SWEEP_KIND, 'hyperparametersweep.yaml', HyperparameterSweepSpec, spec);

interface SweepPass {
  trials?: TrialOutcome[];
  /** Trials that succeeded without reporting the objective's metric. */
  withoutObjective?: boolean;
  conflict?: boolean;
  error?: Error;
}

/** The sweep after one pass with these trials, deciding its outcome as reconcileSweep does. */
function sweepAfter(s: HyperparameterSweep, pass: SweepPass = {}): HyperparameterSweep {
  const trialJobs = (pass.trials ?? []).map((outcome, index) => {
    const tj = trialOf(s, index, outcome);
    if (pass.withoutObjective && tj.status?.metrics) tj.status.metrics = { loss: 0.2 };
    return tj;
  });
  const trials = sweepTrials(s, trialJobs);
  let outcome = sweepOutcome(s, trials);
  let stalled: Refusal | undefined;
  if (!outcome && !s.spec.suspend) {
    const end = planTrials(s, forAlgorithm(trials)).end;
    stalled = invalidSearchSpace(end);
    outcome = sweepOutcome(s, trials, end);
  }
  if (pass.conflict) {
    const taken = trialOf(s, trials.length, { state: 'Pending' });
    stalled = conflict({ ...taken, metadata: { ...taken.metadata, ownerReferences: [] } }, s);
  }
  const status = computeSweepStatus(s, { trials, outcome, stalled, error: pass.error, now: NOW });
  return { ...s, status };
}

export function sweepCases(): HealthCase[] {
  const fresh = sweep();
  const objectives = [0.31, 0.27, 0.29, 0.24, 0.26, 0.22, 0.25, 0.23];
  const finished = (n: number): TrialOutcome[] =>
    objectives.slice(0, n).map((objective) => ({ state: 'Succeeded', objective }));
  const running = sweepAfter(fresh, {
    trials: [
      { state: 'Succeeded', objective: 0.21 },
      { state: 'Failed' },
      { state: 'Running', history: [0.3] },
      { state: 'Pending' },
    ],
  });
  const succeeded = sweepAfter(fresh, { trials: finished(8) });
  const healthy = (o: HealthCase['object']) =>
    `${said(o, 'Succeeded')} (${(o as HyperparameterSweep).status?.bestTrial?.artifact?.uri})`;
  const grid = sweep({
    algorithm: 'grid',
    parameters: [{ name: 'optimizer', type: 'categorical', values: ['adam', 'sgd'], scale: 'linear' }],
  });
  const badGrid = sweep({ algorithm: 'grid' });
  const suspendedSweep = sweep({ suspend: true });
  return [
    state('not-observed', fresh, 'Progressing', NOT_OBSERVED, 'Current'),
    progressing('starting', sweepAfter(fresh)),
    progressing('running', running),
    state(
      'suspended',
      sweepAfter(suspendedSweep, {
        trials: [{ state: 'Succeeded', objective: 0.21 }, { state: 'Suspended' }],
      }),
      'Suspended',
      because('Suspended'),
      'InProgress',
    ),
    state('succeeded', succeeded, 'Healthy', healthy, 'Current'),
    state(
      'target-reached',
      sweepAfter(sweep({ objective: { metric: 'val_loss', goal: 'minimize', target: 0.2 } }), {
        trials: [
          { state: 'Succeeded', objective: 0.25 },
          { state: 'Succeeded', objective: 0.19 },
          { state: 'Running' },
        ],
      }),
      'Healthy',
      healthy,
      'Current',
    ),
    state('search-exhausted', sweepAfter(grid, { trials: finished(2) }), 'Healthy', healthy, 'Current'),
    state(
      'succeeded-then-suspended',
      sweepAfter({ ...suspendedSweep, status: succeeded.status }, { trials: finished(8) }),
      'Healthy',
      healthy,
      'Current',
    ),
    degraded(
      'too-many-failed-trials',
      sweepAfter(fresh, {
        trials: [
          { state: 'Failed' },
          { state: 'Failed', reason: 'InvalidInput' },
          { state: 'Failed' },
          { state: 'Running' },
        ],
      }),
      'Failed',
    ),
    degraded(
      'no-trial-succeeded',
      sweepAfter(fresh, { trials: finished(8), withoutObjective: true }),
      'Failed',
    ),
    degraded('invalid-search-space', sweepAfter(badGrid)),
    degraded('conflict', sweepAfter(fresh, { conflict: true })),
    progressing(
      'reconcile-error',
      sweepAfter(fresh, {
        trials: [{ state: 'Running' }],
        error: new Error('Internal error occurred: etcdserver: request timed out'),
      }),
    ),
    state('generation-not-observed', newerSpec(running), 'Progressing', lagMessage, 'InProgress'),
  ];
}
