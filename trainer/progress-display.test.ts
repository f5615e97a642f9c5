// What `kubectl get trainingjobs` shows: the Loss column reads status.progress.metrics.loss, which
// the trainer rounds for people; the per-epoch history keeps full precision. No services needed.
import { describe, expect, it } from 'vitest';
import { progressOf } from './progress.ts';

describe('progress metrics for display', () => {
  it.each([
    ['rounds a float32 loss to 4 significant digits', 0.27171233296394348, 0.2717],
    ['keeps the significant digits of a small metric', 0.000123456789, 0.0001235],
    ['rounds a large metric without an exponent kubectl would print', 12345.678, 12350],
    ['leaves a metric with fewer digits as it is', 0.5, 0.5],
    ['keeps zero', 0, 0],
    ['keeps the sign of a negative metric', -1.23456, -1.235],
  ])('%s', (_, value, shown) => {
    const p = progressOf([{ epoch: 1, loss: value }], 5, 'cpu');
    expect(p.metrics.loss).toBe(shown);
    expect(JSON.stringify(p.metrics.loss).length).toBeLessThanOrEqual(9);
  });

  it('keeps every epoch of the history at full precision', () => {
    const history = [
      { epoch: 1, loss: 0.27171233296394348, acc: 0.9250999689102173 },
      { epoch: 2, loss: 0.16281701624393463, acc: 0.9549999833106995 },
    ];
    const p = progressOf(history, 5, 'cpu');
    expect(p.history).toEqual([
      { epoch: 1, metrics: { loss: 0.27171233296394348, acc: 0.9250999689102173 } },
      { epoch: 2, metrics: { loss: 0.16281701624393463, acc: 0.9549999833106995 } },
    ]);
    expect(p.metrics).toEqual({ loss: 0.1628, acc: 0.955 });
  });
});
