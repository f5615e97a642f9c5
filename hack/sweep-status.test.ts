// The sweep watch frame against the operator's real sweep status (computeSweepStatus), so a change
// of the status the frame no longer understands fails here.
import { describe, expect, it } from 'vitest';
import type { HyperparameterSweep } from '../api/index.ts';
import { computeSweepStatus, sweepOutcome } from '../operator/controllers/sweep/status.ts';
import { sweepOf, type TrialOutcome, trialOf } from '../operator/controllers/sweep/testing.ts';
import { sweepTrials } from '../operator/controllers/sweep/trials.ts';
import { sweepFrame } from './sweep-status.ts';

const now = new Date('2026-01-02T04:00:00Z');

function looked(outcomes: TrialOutcome[]) {
  const sweep = sweepOf({ maxTrials: 4 });
  const trainingJobs = outcomes.map((o, i) => trialOf(sweep, i, o));
  const trials = sweepTrials(sweep, trainingJobs);
  const status = computeSweepStatus(sweep, { trials, outcome: sweepOutcome(sweep, trials), now });
  return { sweep: { ...sweep, status } as HyperparameterSweep, trainingJobs };
}

describe('sweepFrame', () => {
  it.each([
    [
      'says the operator has not reported before the first status',
      () => ({ sweep: sweepOf(), trainingJobs: [] }),
      'waiting for the operator to report status',
    ],
    [
      'shows each trial’s state and epochs, marks the best, and names it in the head line',
      () =>
        looked([
          { state: 'Succeeded', objective: 0.1234, history: [0.3, 0.2, 0.1234] },
          { state: 'Stopped', history: [2.1] },
          { state: 'Running', history: [0.5] },
        ]),
      'Running: 2 of 4 trials finished, 1 running; best val_loss 0.1234 (mnist-lr-0)\n' +
        '        mnist-lr-0     Succeeded    learningRate=0.01 [##########] 3/3 val_loss=0.1234  <- best\n' +
        '        mnist-lr-1     EarlyStopped learningRate=0.01 [###.......] 1/3 val_loss=2.1000\n' +
        '        mnist-lr-2     Running      learningRate=0.01 [###.......] 1/3 val_loss=0.5000',
    ],
  ])('%s', (_name, look, expected) => {
    const { sweep, trainingJobs } = look();
    expect(sweepFrame(sweep, trainingJobs)).toBe(expected);
  });
});
