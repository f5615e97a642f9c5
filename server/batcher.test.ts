import { describe, expect, it } from 'vitest';
import { MicroBatcher } from './batcher.ts';

/** A runner that doubles numbers and records the batches it saw. */
function doubling() {
  const batches: number[][] = [];
  const run = async (inputs: number[][], rows: number[]) => {
    batches.push(rows);
    return inputs.map((xs) => xs.map((x) => x * 2));
  };
  return { batches, run };
}

describe('micro-batching', () => {
  it('gathers concurrent requests into one call and gives each caller its own rows', async () => {
    const { batches, run } = doubling();
    const b = new MicroBatcher<number[], number[]>({ maxBatchSize: 100, maxDelayMs: 5 }, run);
    const inputs = Array.from({ length: 10 }, (_, i) => [i, i + 100, i + 200].slice(0, 1 + (i % 3)));
    const outputs = await Promise.all(inputs.map((xs) => b.submit(xs, xs.length)));
    expect(outputs).toEqual(inputs.map((xs) => xs.map((x) => x * 2)));
    expect(batches).toHaveLength(1);
    expect(batches[0]!.reduce((s, r) => s + r, 0)).toBe(inputs.reduce((s, xs) => s + xs.length, 0));
  });

  it('never puts more than maxBatchSize rows in a call, except a single larger request alone', async () => {
    const { batches, run } = doubling();
    const b = new MicroBatcher<number[], number[]>({ maxBatchSize: 4, maxDelayMs: 5 }, run);
    const sizes = [1, 3, 2, 2, 6, 1];
    await Promise.all(sizes.map((n, i) => b.submit(new Array(n).fill(i), n)));
    for (const rows of batches) {
      const total = rows.reduce((s, r) => s + r, 0);
      expect(total <= 4 || rows.length === 1).toBe(true);
    }
    expect(batches.flat()).toEqual(sizes);
  });

  it('flushes a lone request after maxDelayMs', async () => {
    const { batches, run } = doubling();
    const b = new MicroBatcher<number[], number[]>({ maxBatchSize: 1000, maxDelayMs: 1 }, run);
    expect(await b.submit([21], 1)).toEqual([42]);
    expect(batches).toEqual([[1]]);
  });

  it('rejects every caller of a failed batch and keeps serving later ones', async () => {
    let fail = true;
    const b = new MicroBatcher<number[], number[]>({ maxBatchSize: 10, maxDelayMs: 1 }, async (inputs) => {
      if (fail) throw new Error('boom');
      return inputs;
    });
    const results = await Promise.allSettled([b.submit([1], 1), b.submit([2], 1)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await b.submit([3], 1)).toEqual([3]);
    await b.idle();
    expect(b.pending).toBe(0);
  });

  it('reports each batch to the observer', async () => {
    const seen: Array<[number, number]> = [];
    const b = new MicroBatcher<number[], number[]>(
      { maxBatchSize: 8, maxDelayMs: 2 },
      async (i) => i,
      (rows, reqs) => seen.push([rows, reqs]),
    );
    await Promise.all([b.submit([1, 2], 2), b.submit([3], 1)]);
    expect(seen).toEqual([[3, 2]]);
  });

  it('serves closed-loop clients who come back in different event-loop turns together, not in groups out of step', async () => {
    const { batches, run } = doubling();
    // A batch takes one event-loop turn to compute, so clients can come back while it runs.
    const slow = async (inputs: number[][], rows: number[]) => {
      await new Promise((r) => setImmediate(r));
      return run(inputs, rows);
    };
    const b = new MicroBatcher<number[], number[]>({ maxBatchSize: 32, maxDelayMs: 0 }, slow);
    const turns = (n: number) =>
      Array.from({ length: n }).reduce<Promise<void>>(
        (p) => p.then(() => new Promise((r) => setImmediate(r))),
        Promise.resolve(),
      );
    // Client i sends its next request i % 4 event-loop turns after its answer, like a load generator's threads.
    await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        for (let k = 0; k < 20; k++) {
          await b.submit([i], 1);
          await turns(i % 4);
        }
      }),
    );
    const sizes = batches.map((rows) => rows.length);
    expect(sizes.reduce((s, n) => s + n, 0)).toBe(320);
    // Most batches hold all 16 clients (without the wait: 1 of 40 did, the rest were groups of 4–12
    // that stayed out of step).
    expect(sizes.filter((n) => n === 16).length).toBeGreaterThanOrEqual(10);
  });

  it('never holds a lone client back: one closed-loop client gets one batch per turn, without a timer', async () => {
    const { batches, run } = doubling();
    const b = new MicroBatcher<number[], number[]>({ maxBatchSize: 32, maxDelayMs: 0 }, run);
    const t0 = performance.now();
    for (let k = 0; k < 200; k++) expect(await b.submit([k], 1)).toEqual([2 * k]);
    expect(batches).toHaveLength(200);
    expect(performance.now() - t0).toBeLessThan(150); // a 1 ms wait each would take 200 ms
  });

  it("waits for the last batch's clients only briefly, and not at all after a quiet spell", async () => {
    const { batches, run } = doubling();
    const b = new MicroBatcher<number[], number[]>({ maxBatchSize: 32, maxDelayMs: 0 }, run);
    await Promise.all(Array.from({ length: 8 }, (_, i) => b.submit([i], 1)));
    // One of the eight comes back at once: it waits for the others, at most a few ms.
    const t0 = performance.now();
    await b.submit([8], 1);
    expect(performance.now() - t0).toBeLessThan(50);
    // After a quiet spell nobody is expected: a request runs in the turn it arrives.
    await new Promise((r) => setTimeout(r, 20));
    const late = b.submit([9], 1);
    const first = await Promise.race([
      late.then(() => 'answered'),
      new Promise((r) => setTimeout(() => r('timer'), 1)),
    ]);
    expect(first).toBe('answered');
    expect(batches.map((rows) => rows.length)).toEqual([8, 1, 1]);
  });

  it('refuses requests past maxQueuedRows with Overloaded and Retry-After, and serves the rest', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const b = new MicroBatcher<number[], number[]>(
      { maxBatchSize: 2, maxDelayMs: 0, maxQueuedRows: 4 },
      async (inputs) => {
        await gate;
        return inputs;
      },
    );
    const first = b.submit([0], 1); // runs, held at the gate
    await new Promise((r) => setImmediate(r));
    const queued = [1, 2, 3, 4].map((i) => b.submit([i], 1)); // fill the queue
    const refused = b.submit([5], 1);
    await expect(refused).rejects.toMatchObject({
      code: 'Overloaded',
      statusCode: 503,
      retryAfterSeconds: 1,
    });
    await expect(refused).rejects.toThrow(/K2K_BATCHING_MAX_QUEUED_ROWS=4/);
    release();
    expect(await Promise.all([first, ...queued])).toEqual([[0], [1], [2], [3], [4]]);
    // Drained: the queue takes requests again.
    expect(await b.submit([6], 1)).toEqual([6]);
  });

  it('takes a request larger than maxQueuedRows when nothing waits, so it can ever be served', async () => {
    const { run } = doubling();
    const b = new MicroBatcher<number[], number[]>({ maxBatchSize: 2, maxDelayMs: 0, maxQueuedRows: 2 }, run);
    expect(await b.submit([1, 2, 3], 3)).toEqual([2, 4, 6]);
  });

  it('refuses a request with more than maxRequestRows rows, naming the limit', async () => {
    const { batches, run } = doubling();
    const b = new MicroBatcher<number[], number[]>(
      { maxBatchSize: 2, maxDelayMs: 0, maxRequestRows: 2 },
      run,
    );
    await expect(b.submit([1, 2, 3], 3)).rejects.toMatchObject({
      code: 'TooManyRows',
      statusCode: 413,
      message: expect.stringContaining('at most 2 are allowed (K2K_MAX_REQUEST_ROWS)'),
    });
    expect(batches).toEqual([]);
  });
});
