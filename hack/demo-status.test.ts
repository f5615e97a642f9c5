// The demo's watch frame against the operator's real status (computeStatus), so a change of the
// operator's Running message that the frame no longer understands fails here.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { TrainingJob, TrainingProgress } from '../api/index.ts';
import { computeStatus } from '../operator/controllers/trainingjob/status.ts';
import { progressBar, watchFrame } from './demo-status.ts';

const now = new Date('2026-11-25T10:00:00Z');
const job: V1Job = { metadata: { name: 'mnist-mlp' }, spec: { template: {} }, status: { active: 1 } };
const pod: V1Pod = {
  metadata: { name: 'mnist-mlp-nlcm7', creationTimestamp: now },
  spec: { containers: [] },
  status: { phase: 'Running' },
};
const progress = (epoch: number): TrainingProgress => ({
  epoch,
  epochs: 5,
  metrics: { loss: 0.3 / epoch, acc: 0.9 },
});

/** The TrainingJob as a poll sees it: the operator's status as of `operatorSaw`, the trainer's progress as of `epoch`. */
function polled(operatorSaw: number | undefined, epoch: number | undefined): TrainingJob {
  const tj: TrainingJob = {
    apiVersion: 'k2k.dev/v1alpha1',
    kind: 'TrainingJob',
    metadata: { name: 'mnist-mlp', namespace: 'default', generation: 1 },
    spec: {} as TrainingJob['spec'],
    status: operatorSaw === undefined ? undefined : { progress: progress(operatorSaw) },
  };
  const operator = computeStatus(tj, { job, pods: [pod], now });
  return { ...tj, status: { ...operator, ...(epoch === undefined ? {} : { progress: progress(epoch) }) } };
}

describe('watchFrame', () => {
  it('prints the same frame whether or not the operator has caught up with the trainer', () => {
    expect(polled(1, 2).status?.conditions?.find((c) => c.type === 'Ready')?.message).toMatch(/epoch 1\/5$/);
    expect(watchFrame(polled(1, 2))).toBe(watchFrame(polled(2, 2)));
  });

  it.each([
    [
      'shows the epoch and metrics from the trainer’s progress',
      polled(2, 2),
      'Running (Running): training in pod mnist-mlp-nlcm7\n' +
        '        epoch [############..................] 2/5 loss=0.1500 acc=0.9000',
    ],
    [
      'shows the operator’s message alone before the first epoch',
      polled(undefined, undefined),
      'Running (Running): training in pod mnist-mlp-nlcm7',
    ],
    [
      'waits for the operator’s first status',
      { ...polled(undefined, undefined), status: undefined },
      'waiting for the operator to report status',
    ],
  ])('%s', (_, tj, frame) => {
    expect(watchFrame(tj)).toBe(frame);
  });

  it.each([
    ['an empty bar before the first epoch', 0, 5, '[..........] 0/5'],
    ['a full bar at the last epoch', 5, 5, '[##########] 5/5'],
    ['no bar to fill when no epochs are planned', 0, 0, '[..........] 0/0'],
  ])('draws %s', (_, done, total, bar) => {
    expect(progressBar(done, total, 10)).toBe(bar);
  });
});
