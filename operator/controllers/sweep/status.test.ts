import { describe, expect, it } from 'vitest';
import type { HyperparameterSweepSpec } from '../../../api/index.ts';
import { TRIAL_SUMMARY_LIMIT } from '../../../api/index.ts';
import { findCondition } from '../conditions.ts';
import { BEST_SUMMARIES, computeSweepStatus, invalidSearchSpace, sweepOutcome } from './status.ts';
import { sweepOf, type TrialOutcome, trialOf } from './testing.ts';
import { sweepTrials } from './trials.ts';

const now = new Date('2026-01-02T04:00:00Z');

function statusOf(
  spec: Partial<HyperparameterSweepSpec>,
  outcomes: TrialOutcome[],
  end?: { kind: 'exhausted'; reason: string },
) {
  const sweep = sweepOf(spec);
  const trials = sweepTrials(
    sweep,
    outcomes.map((o, i) => trialOf(sweep, i, o)),
  );
  return computeSweepStatus(sweep, { trials, outcome: sweepOutcome(sweep, trials, end), now });
}
const condition = (s: ReturnType<typeof statusOf>, type: string) => findCondition(s.conditions, type);

describe('computeSweepStatus', () => {
  it('counts the trials per state', () => {
    const s = statusOf({}, [
      { state: 'Pending' },
      { state: 'Running', history: [0.9] },
      { state: 'Suspended' },
      { state: 'Succeeded', objective: 0.4 },
      { state: 'Failed' },
      { state: 'Failed', reason: 'EarlyStopped' },
    ]);
    expect(s).toMatchObject({
      trialsCreated: 6,
      trialsPending: 1,
      trialsRunning: 1,
      trialsSuspended: 1,
      trialsSucceeded: 1,
      trialsFailed: 1,
      trialsEarlyStopped: 1,
      progress: '3/10',
    });
  });

  it.each<{ name: string; trials: TrialOutcome[]; earlyStopped: number; failed: number }>([
    {
      name: 'counts a trial the sweep stopped early as early-stopped, not failed',
      trials: [{ state: 'Stopped', reason: 'EarlyStopped', history: [2.3] }],
      earlyStopped: 1,
      failed: 0,
    },
    {
      name: 'counts a trial stopped by hand as early-stopped, not failed',
      trials: [{ state: 'Stopped', reason: 'Stopped', history: [2.3] }],
      earlyStopped: 1,
      failed: 0,
    },
  ])('$name', ({ trials, earlyStopped, failed }) => {
    const s = statusOf({}, trials);
    expect(s).toMatchObject({ trialsEarlyStopped: earlyStopped, trialsFailed: failed });
    expect(s.trials![0]).toMatchObject({ state: 'EarlyStopped', objective: 2.3 });
  });

  it('never fails the sweep for early-stopped trials, however many, and never names one the best', () => {
    const stopped: TrialOutcome[] = Array.from({ length: 5 }, () => ({ state: 'Stopped', history: [0.01] }));
    const s = statusOf({ maxTrials: 6, maxFailedTrials: 1 }, [
      ...stopped,
      { state: 'Succeeded', objective: 0.5 },
    ]);
    expect(condition(s, 'Failed')?.status).toBe('False');
    expect(condition(s, 'Succeeded')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect(s.bestTrial).toMatchObject({ index: 5, objective: 0.5 });
  });

  it.each<{ name: string; spec?: Partial<HyperparameterSweepSpec>; trials: TrialOutcome[]; best: number }>([
    {
      name: 'the best trial is the succeeded one with the lowest objective when minimizing',
      trials: [
        { state: 'Succeeded', objective: 0.5 },
        { state: 'Succeeded', objective: 0.2 },
        { state: 'Running', history: [0.01] },
      ],
      best: 1,
    },
    {
      name: 'the best trial is the one with the highest objective when maximizing',
      spec: { objective: { metric: 'val_loss', goal: 'maximize' } },
      trials: [
        { state: 'Succeeded', objective: 0.5 },
        { state: 'Succeeded', objective: 0.2 },
      ],
      best: 0,
    },
    {
      name: 'ties go to the earlier trial',
      trials: [
        { state: 'Failed' },
        { state: 'Succeeded', objective: 0.2 },
        { state: 'Succeeded', objective: 0.2 },
      ],
      best: 1,
    },
  ])('$name', ({ spec = {}, trials, best }) => {
    const s = statusOf(spec, trials);
    expect(s.bestTrial).toMatchObject({
      index: best,
      name: `mnist-lr-${best}`,
      artifact: { uri: `s3://models/sweeps/mnist-lr-${best}/`, manifestSha256: 'abc' },
    });
  });

  it('rounds the best objective to 4 significant digits for kubectl get and keeps it exact in bestTrial', () => {
    const s = statusOf({}, [{ state: 'Succeeded', objective: 0.123456789 }]);
    expect(s.bestObjective).toBe(0.1235);
    expect(s.bestTrial?.objective).toBe(0.123456789);
  });

  it('reports a running trial’s best objective so far', () => {
    expect(statusOf({}, [{ state: 'Running', history: [0.9, 0.4, 0.6] }]).trials?.[0]?.objective).toBe(0.4);
  });

  it('keeps the best and the newest trials of a 1,000-trial sweep, far below etcd’s object limit', () => {
    const outcomes: TrialOutcome[] = Array.from({ length: 1000 }, (_, i) =>
      i % 7 === 0 ? { state: 'Failed' } : { state: 'Succeeded', objective: ((i * 7919) % 1000) / 1000 },
    );
    const s = statusOf({ maxTrials: 1000, maxFailedTrials: 1000 }, outcomes);
    expect(s.trials).toHaveLength(TRIAL_SUMMARY_LIMIT);
    const indices = s.trials!.map((t) => t.index);
    expect(indices).toEqual([...indices].sort((a, b) => a - b));
    const bestTen = outcomes
      .map((o, i) => ({ i, v: o.state === 'Succeeded' ? o.objective : Infinity }))
      .sort((a, b) => a.v - b.v || a.i - b.i)
      .slice(0, BEST_SUMMARIES)
      .map((x) => x.i);
    expect(indices).toEqual(expect.arrayContaining([...bestTen, 999, 998, 960]));
    // Measured: 7,072 bytes, against etcd's 1.5 MiB request limit.
    const bytes = Buffer.byteLength(JSON.stringify(s));
    expect(bytes).toBeLessThan(16 * 1024);
  });

  it('fails the sweep once maxFailedTrials trials failed, even with trials still running', () => {
    const s = statusOf({ maxFailedTrials: 2 }, [
      { state: 'Failed' },
      { state: 'Running' },
      { state: 'Failed' },
    ]);
    expect(condition(s, 'Failed')).toMatchObject({ status: 'True', reason: 'TooManyFailedTrials' });
    expect(condition(s, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'TooManyFailedTrials',
      observedGeneration: 1,
    });
    expect(condition(s, 'Stalled')?.status).toBe('True');
    expect(condition(s, 'Reconciling')?.status).toBe('False');
  });

  it('goes on while fewer than maxFailedTrials trials failed', () => {
    const s = statusOf({ maxFailedTrials: 3 }, [{ state: 'Failed' }, { state: 'Failed' }]);
    expect(condition(s, 'Ready')).toMatchObject({ status: 'False', reason: 'Running' });
    expect(condition(s, 'Reconciling')?.status).toBe('True');
  });

  it('succeeds once a trial reaches the target, with other trials still running', () => {
    const s = statusOf({ objective: { metric: 'val_loss', goal: 'minimize', target: 0.25 } }, [
      { state: 'Running' },
      { state: 'Succeeded', objective: 0.2 },
    ]);
    expect(condition(s, 'Succeeded')).toMatchObject({ status: 'True', reason: 'TargetReached' });
    expect(condition(s, 'Ready')?.status).toBe('True');
  });

  it('succeeds when maxTrials trials finished', () => {
    const s = statusOf({ maxTrials: 2 }, [{ state: 'Failed' }, { state: 'Succeeded', objective: 0.3 }]);
    expect(condition(s, 'Succeeded')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect(condition(s, 'Reconciling')?.status).toBe('False');
  });

  it('waits for the last trials to finish before succeeding', () => {
    const s = statusOf({ maxTrials: 2 }, [{ state: 'Running' }, { state: 'Succeeded', objective: 0.3 }]);
    expect(condition(s, 'Succeeded')?.status).toBe('False');
  });

  it('fails when every trial finished and none succeeded', () => {
    const s = statusOf({ maxTrials: 2 }, [{ state: 'Failed' }, { state: 'Failed' }]);
    expect(condition(s, 'Failed')).toMatchObject({ status: 'True', reason: 'NoTrialSucceeded' });
  });

  it('succeeds with SearchExhausted when a grid ran out before maxTrials', () => {
    const s = statusOf({}, [{ state: 'Succeeded', objective: 0.3 }], {
      kind: 'exhausted',
      reason: 'all 1 points tried',
    });
    expect(condition(s, 'Succeeded')).toMatchObject({ status: 'True', reason: 'SearchExhausted' });
  });

  it('says Suspended, not Reconciling, while the sweep is suspended', () => {
    const s = statusOf({ suspend: true }, [{ state: 'Suspended' }]);
    expect(condition(s, 'Suspended')).toMatchObject({ status: 'True', reason: 'Suspended' });
    expect(condition(s, 'Ready')).toMatchObject({ status: 'False', reason: 'Suspended' });
    expect(condition(s, 'Reconciling')?.status).toBe('False');
    expect(condition(s, 'Running')?.status).toBe('False');
  });

  it('keeps a finished sweep finished', () => {
    const sweep = sweepOf({ maxTrials: 1 });
    const done = sweepTrials(sweep, [trialOf(sweep, 0, { state: 'Succeeded', objective: 0.3 })]);
    const first = computeSweepStatus(sweep, { trials: done, outcome: sweepOutcome(sweep, done), now });
    const later = { ...sweepOf({ maxTrials: 5 }), status: first };
    expect(sweepOutcome(later, done)).toMatchObject({ succeeded: true, reason: 'Succeeded' });
  });
});

describe('invalidSearchSpace', () => {
  it.each([
    {
      name: 'stalls with the message as it is when it already names the field',
      end: {
        kind: 'invalid' as const,
        field: 'spec.parameters[0]',
        message: 'spec.parameters[0]: needs step',
      },
      message: 'spec.parameters[0]: needs step',
    },
    {
      name: 'puts the field before a message that does not name it',
      end: { kind: 'invalid' as const, field: 'spec.parameters[0]', message: 'grid search needs step' },
      message: 'spec.parameters[0]: grid search needs step',
    },
  ])('$name', ({ end, message }) => {
    expect(invalidSearchSpace(end)).toEqual({ reason: 'InvalidSearchSpace', message });
  });

  it('is no refusal when the search is only exhausted or goes on', () => {
    expect(invalidSearchSpace({ kind: 'exhausted', reason: 'every grid point was tried' })).toBeUndefined();
    expect(invalidSearchSpace(undefined)).toBeUndefined();
  });
});
