// The timing protocol shared with keras_peer.py (which repeats it in Python): a few warm-up steps
// that are not counted (graph tracing, kernel set-up, first allocations), then whole training
// steps until a time budget is spent. Every step waits for its loss, so no work is left queued.
// A backend whose single step outlasts the budget (tfjs's pure-JS CPU backend on the CNN) gets one
// warm-up step and minSteps measured steps, which bounds the run without dropping the row.

export interface MeasureOptions {
  batchSize: number;
  warmupSteps: number;
  budgetSeconds: number;
  minSteps: number;
}

export interface Throughput {
  samplesPerSecond: number;
  steps: number;
  seconds: number;
}

export async function measureSteps(
  step: (i: number) => Promise<unknown>,
  opts: MeasureOptions,
): Promise<Throughput> {
  let i = 0;
  const warmupStart = process.hrtime.bigint();
  while (i < opts.warmupSteps) {
    await step(i++);
    if (Number(process.hrtime.bigint() - warmupStart) / 1e9 >= opts.budgetSeconds) break;
  }
  const start = process.hrtime.bigint();
  let steps = 0;
  let seconds = 0;
  while (steps < opts.minSteps || seconds < opts.budgetSeconds) {
    await step(i++);
    steps++;
    seconds = Number(process.hrtime.bigint() - start) / 1e9;
  }
  return { samplesPerSecond: (steps * opts.batchSize) / seconds, steps, seconds };
}

/** The kernel a backend lacks, from tfjs's "Kernel 'X' not registered for backend 'Y'" error. */
export function missingKernel(err: unknown): string | undefined {
  const m = /Kernel '(\w+)' not registered for backend/.exec(
    err instanceof Error ? err.message : String(err),
  );
  return m?.[1];
}
