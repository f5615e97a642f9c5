// Micro-batching: concurrent requests are gathered into one predict call, up to maxBatchSize rows
// or until the oldest request has waited maxDelayMs. One batch runs at a time per model (the
// TensorFlow.js CPU/WASM backends use one core for one call anyway), and requests that arrive while
// a batch runs form the next one, so under load batches fill up by themselves. A request is never
// split: a request larger than maxBatchSize runs alone.
//
// The queue is bounded (maxQueuedRows): past it a request is refused at once with 503 and
// Retry-After, so an overload costs the excess requests a retry instead of costing every request
// its latency and the process its memory. One request has at most maxRequestRows rows.
import { serverEnvName } from '../api/server.ts';
import { OVERLOAD_RETRY_AFTER_SECONDS, ServeError } from './errors.ts';

export interface BatchSettings {
  maxBatchSize: number;
  maxDelayMs: number;
  /** Rows waiting for a batch (not running) past which requests are refused. Unset: unbounded. */
  maxQueuedRows?: number;
  /** Rows one request may have. Unset: unbounded. */
  maxRequestRows?: number;
}

/** Runs one batch: `inputs[i]` has `rows[i]` rows; the answer holds one result per input, in order. */
export type BatchRunner<I, O> = (inputs: I[], rows: number[]) => Promise<O[]>;

interface Pending<I, O> {
  input: I;
  rows: number;
  resolve: (out: O) => void;
  reject: (err: unknown) => void;
}

export class MicroBatcher<I, O> {
  private queue: Array<Pending<I, O>> = [];
  private queuedRows = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private idleWaiters: Array<() => void> = [];
  /** Once retired, nothing waits for company: this batcher's model is being replaced or shut down. */
  private retired = false;

  constructor(
    private readonly settings: BatchSettings,
    private readonly run: BatchRunner<I, O>,
    private readonly onBatch?: (rows: number, requests: number) => void,
  ) {}

  submit(input: I, rows: number): Promise<O> {
    const { maxQueuedRows, maxRequestRows } = this.settings;
    if (maxRequestRows !== undefined && rows > maxRequestRows) {
      return Promise.reject(
        new ServeError(
          'TooManyRows',
          `the request has ${rows} rows; at most ${maxRequestRows} are allowed (${serverEnvName('maxRequestRows')})`,
        ),
      );
    }
    // An empty queue always takes a request, so one larger than the bound is still served.
    if (maxQueuedRows !== undefined && this.queuedRows > 0 && this.queuedRows + rows > maxQueuedRows) {
      return Promise.reject(
        new ServeError(
          'Overloaded',
          `overloaded: ${this.queuedRows} rows are waiting for a batch (${serverEnvName('batching.maxQueuedRows')}=${maxQueuedRows}); retry later`,
          { retryAfterSeconds: OVERLOAD_RETRY_AFTER_SECONDS },
        ),
      );
    }
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ input, rows, resolve, reject });
      this.queuedRows += rows;
      this.schedule();
    });
  }

  /** Runs whatever is queued now, and every later request without waiting. */
  retire(): void {
    this.retired = true;
    this.flush();
  }

  /** Requests queued or running. */
  get pending(): number {
    return this.queue.length + (this.running ? 1 : 0);
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.retired || this.queuedRows >= this.settings.maxBatchSize) {
      this.flush();
    } else if (!this.timer) {
      this.timer =
        this.settings.maxDelayMs > 0
          ? setTimeout(() => this.flush(), this.settings.maxDelayMs)
          : (setImmediate(() => this.flush()) as unknown as NodeJS.Timeout);
    }
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      clearImmediate(this.timer as unknown as NodeJS.Immediate);
      this.timer = undefined;
    }
    if (this.running || this.queue.length === 0) return;
    const batch: Array<Pending<I, O>> = [];
    let rows = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (batch.length > 0 && rows + next.rows > this.settings.maxBatchSize) break;
      batch.push(next);
      rows += next.rows;
      this.queue.shift();
    }
    this.queuedRows -= rows;
    this.onBatch?.(rows, batch.length);
    this.running = this.execute(batch).finally(() => {
      this.running = undefined;
      if (this.queue.length > 0) {
        // These requests waited for the previous batch already: run them now.
        if (this.queuedRows >= this.settings.maxBatchSize) this.flush();
        else setImmediate(() => this.flush());
      } else {
        for (const wake of this.idleWaiters.splice(0)) wake();
      }
    });
  }

  private async execute(batch: Array<Pending<I, O>>): Promise<void> {
    try {
      const outputs = await this.run(
        batch.map((p) => p.input),
        batch.map((p) => p.rows),
      );
      if (outputs.length !== batch.length)
        throw new Error(`batch runner returned ${outputs.length} results for ${batch.length} inputs`);
      for (const [i, p] of batch.entries()) p.resolve(outputs[i] as O);
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}
