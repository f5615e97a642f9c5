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
