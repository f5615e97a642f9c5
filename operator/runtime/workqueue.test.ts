import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RuntimeMetrics } from './metrics.ts';
import { WorkQueue } from './workqueue.ts';

/** Everything get() hands out right now, without waiting: the keys a pool of idle workers would receive. */
async function drainReady(q: WorkQueue): Promise<string[]> {
  const out: string[] = [];
  while (q.len() > 0) {
    const key = await q.get();
    if (key === undefined) break;
    out.push(key);
  }
  return out;
}

/** Whether a pending get() has resolved after pending microtasks ran. */
async function settled<T>(p: Promise<T>): Promise<{ done: boolean; value?: T }> {
  let state: { done: boolean; value?: T } = { done: false };
  void p.then((value) => {
    state = { done: true, value };
  });
  await Promise.resolve();
  await Promise.resolve();
  return state;
}

describe('WorkQueue', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const cases: Array<{ name: string; run: (q: WorkQueue) => Promise<unknown>; want: unknown }> = [
    {
      name: 'hands out a key added many times only once',
      run: async (q) => {
        q.add('ns/a');
        q.add('ns/b');
        q.add('ns/a');
        q.add('ns/a');
        return drainReady(q);
      },
      want: ['ns/a', 'ns/b'],
    },
    {
      name: 'hands keys out in the order they were first added',
      run: async (q) => {
        for (const k of ['ns/c', 'ns/a', 'ns/b', 'ns/c']) q.add(k);
        return drainReady(q);
      },
      want: ['ns/c', 'ns/a', 'ns/b'],
    },
    {
      name: 'never hands a key being processed to a second worker',
      run: async (q) => {
        q.add('ns/a');
        const first = await q.get();
        q.add('ns/a');
        const second = await settled(q.get());
        return { first, secondWorkerGotKey: second.done, waiting: q.len() };
      },
      want: { first: 'ns/a', secondWorkerGotKey: false, waiting: 0 },
    },
    {
      name: 'processes a key re-added while processing again after done',
      run: async (q) => {
        q.add('ns/a');
        const key = (await q.get())!;
        q.add('ns/a');
        q.add('ns/a');
        q.done(key);
        const again = await drainReady(q);
        q.done('ns/a');
        return { again, afterSecondDone: q.len() };
      },
      want: { again: ['ns/a'], afterSecondDone: 0 },
    },
    {
      name: 'does not process a key again after done when nobody re-added it',
      run: async (q) => {
        q.add('ns/a');
        q.done((await q.get())!);
        return q.len();
      },
      want: 0,
    },
    {
      name: 'wakes a waiting worker when a key is added',
      run: async (q) => {
        const waiting = q.get();
        const before = await settled(waiting);
        q.add('ns/a');
        return { before: before.done, after: await waiting };
      },
      want: { before: false, after: 'ns/a' },
    },
    {
      name: 'adds a key only after the delay of addAfter has passed',
      run: async (q) => {
        q.addAfter('ns/a', 100);
        vi.advanceTimersByTime(99);
        const early = q.len();
        vi.advanceTimersByTime(1);
        return { early, late: q.len() };
      },
      want: { early: 0, late: 1 },
    },
    {
      name: 'keeps the earlier of two delayed adds of the same key',
      run: async (q) => {
        q.addAfter('ns/a', 100);
        q.addAfter('ns/a', 50);
        q.addAfter('ns/a', 200);
        vi.advanceTimersByTime(50);
        const at50 = await drainReady(q);
        vi.advanceTimersByTime(500);
        return { at50, later: q.len() };
      },
      want: { at50: ['ns/a'], later: 0 },
    },
    {
      name: 'adds at once when addAfter is given no delay',
      run: async (q) => {
        q.addAfter('ns/a', 0);
        return q.len();
      },
      want: 1,
    },
    {
      name: 'doubles the backoff with each rate-limited add (5, 10, 20 ms)',
      run: async (q) => {
        const delays: number[] = [];
        for (let i = 0; i < 3; i++) {
          q.addRateLimited('ns/a');
          let waited = 0;
          while (q.len() === 0) {
            vi.advanceTimersByTime(1);
            waited++;
          }
          delays.push(waited);
          q.done((await q.get())!);
        }
        return { delays, requeues: q.numRequeues('ns/a') };
      },
      want: { delays: [5, 10, 20], requeues: 3 },
    },
    {
      name: 'caps the backoff at maxDelayMs',
      run: async () => {
        const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 30 });
        for (let i = 0; i < 5; i++) q.addRateLimited('ns/a');
        // Delayed adds of the same key keep the earliest, so only the last add's delay is measured here.
        vi.advanceTimersByTime(10);
        q.done((await q.get())!);
        q.addRateLimited('ns/a');
        vi.advanceTimersByTime(29);
        const early = q.len();
        vi.advanceTimersByTime(1);
        return { early, late: q.len() };
      },
      want: { early: 0, late: 1 },
    },
    {
      name: 'resets the backoff of a key on forget',
      run: async (q) => {
        q.addRateLimited('ns/a');
        q.addRateLimited('ns/a');
        q.forget('ns/a');
        const afterForget = q.numRequeues('ns/a');
        vi.advanceTimersByTime(5);
        q.done((await q.get())!);
        q.addRateLimited('ns/a');
        vi.advanceTimersByTime(5);
        return { afterForget, readyAfterBaseDelay: q.len() };
      },
      want: { afterForget: 0, readyAfterBaseDelay: 1 },
    },
    {
      name: 'keeps the backoff of one key apart from another',
      run: async (q) => {
        q.addRateLimited('ns/a');
        q.addRateLimited('ns/a');
        q.addRateLimited('ns/b');
        return [q.numRequeues('ns/a'), q.numRequeues('ns/b'), q.numRequeues('ns/c')];
      },
      want: [2, 1, 0],
    },
    {
      name: 'resolves waiting workers with undefined on shutdown',
      run: async (q) => {
        const waiting = [q.get(), q.get()];
        q.shutDown();
        return Promise.all(waiting);
      },
      want: [undefined, undefined],
    },
    {
      name: 'ignores adds and hands out nothing after shutdown',
      run: async (q) => {
        q.add('ns/a');
        q.addAfter('ns/b', 10);
        q.shutDown();
        q.add('ns/c');
        q.addRateLimited('ns/d');
        vi.advanceTimersByTime(1000);
        return { len: q.len(), next: await q.get() };
      },
      want: { len: 0, next: undefined },
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      expect(await c.run(new WorkQueue({ name: 'test' }))).toEqual(c.want);
    });
  }

  it('waits for keys being processed on shutdown with drain', async () => {
    const q = new WorkQueue();
    q.add('ns/a');
    q.add('ns/b');
    const a = (await q.get())!;
    const b = (await q.get())!;
    const drained = q.shutDownWithDrain();
    q.done(a);
    expect((await settled(drained)).done).toBe(false);
    q.done(b);
    expect((await settled(drained)).done).toBe(true);
  });

  it('drains at once when nothing is being processed', async () => {
    const q = new WorkQueue();
    q.add('ns/a');
    expect((await settled(q.shutDownWithDrain())).done).toBe(true);
  });

  it('reports depth, adds and retries to its metrics', async () => {
    const registry = new Registry();
    const q = new WorkQueue({ name: 'things', metrics: new RuntimeMetrics(registry) });
    q.add('ns/a');
    q.add('ns/a');
    q.add('ns/b');
    q.addRateLimited('ns/c');
    const text = await registry.metrics();
    expect(text).toContain('k2k_workqueue_depth{name="things"} 2');
    expect(text).toContain('k2k_workqueue_adds_total{name="things"} 2');
    expect(text).toContain('k2k_workqueue_retries_total{name="things"} 1');
  });
});
