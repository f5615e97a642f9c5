// Micro-batching: concurrent requests are gathered into one predict call, up to maxBatchSize rows
// or until the oldest request has waited maxDelayMs. One batch runs at a time per model (the
// TensorFlow.js CPU/WASM backends use one core for one call anyway), and requests that arrive while
// a batch runs form the next one, so under load batches fill up by themselves. A request is never
// split: a request larger than maxBatchSize runs alone. With no fixed wait (maxDelayMs 0, the
// default) a batch still waits briefly for the clients the last batch answered (flushOrWait), so
// that closed-loop clients do not split into groups that stay out of step
// (docs/decisions/0041-batches-wait-for-the-clients-just-answered.md).
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

/** Node's timers fire on whole milliseconds: a shorter wait for company would be rounded up anyway. */
const MIN_COMPANY_WAIT_MS = 1;

export class MicroBatcher<I, O> {
  private queue: Array<Pending<I, O>> = [];
  private queuedRows = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private idleWaiters: Array<() => void> = [];
  /** Once retired, nothing waits for company: this batcher's model is being replaced or shut down. */
  private retired = false;
  /** True while the queue waits on a timer for the last batch's clients (flushOrWait). */
  private waitingForCompany = false;
  /** Requests in the batcher when the last batch had its outputs: its own and those queued behind it. */
  private lastCompany = 0;
  /** When the last batch's answers were handed to the transport, and how long it took from its start. */
  private lastAnswered = Number.NEGATIVE_INFINITY;
  private lastDurationMs = 0;

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
    } else if (this.settings.maxDelayMs > 0) {
      this.timer ??= setTimeout(() => this.flush(), this.settings.maxDelayMs);
    } else if (!this.timer || (this.waitingForCompany && this.queue.length >= this.lastCompany)) {
      // After this turn's I/O callbacks, so that requests read in the same turn join.
      this.clearTimer();
      this.timer = setImmediate(() => this.flushOrWait()) as unknown as NodeJS.Timeout;
    }
  }

  /**
   * Runs the queue, or waits a little for the clients the last batch answered. A closed-loop client
   * sends its next request as soon as it has its answer, but a batch's clients do not all come back
   * in the same event-loop turn (a load generator's threads, a gRPC channel's streams, the kernel's
   * scheduling): without a wait, the first request back starts a batch alone, the rest form the
   * next one, and the two groups stay out of step for good (16 clients over gRPC: batches of 1 and
   * 15, alternating). So when fewer requests are queued than were in the batcher at the end of the
   * last batch, the queue waits until that many are back, or until twice the last batch's duration
   * (at least 1 ms, Node's timer resolution) has passed since its answers went out. A request after
   * a quiet spell never waits, nor does a lone client: its company is itself.
   */
  private flushOrWait(): void {
    this.timer = undefined;
    const until = this.lastAnswered + Math.max(2 * this.lastDurationMs, MIN_COMPANY_WAIT_MS);
    const now = performance.now();
    if (this.retired || this.queue.length >= this.lastCompany || now >= until) {
      this.flush();
    } else {
      this.waitingForCompany = true;
      this.timer = setTimeout(() => this.flush(), until - now);
    }
  }

  private clearTimer(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      clearImmediate(this.timer as unknown as NodeJS.Immediate);
      this.timer = undefined;
    }
    this.waitingForCompany = false;
  }

  private flush(): void {
    this.clearTimer();
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
    const started = performance.now();
    this.running = this.execute(batch).finally(() => {
      this.running = undefined;
      // The answers reach the transport through chains of promise reactions; a tick runs after all of them.
      process.nextTick(() => {
        this.lastAnswered = performance.now();
        this.lastDurationMs = this.lastAnswered - started;
      });
      if (this.queue.length > 0) {
        // These requests waited for the previous batch already: run them now, or with its clients.
        if (this.queuedRows >= this.settings.maxBatchSize) this.flush();
        else this.schedule();
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
      // Counted before the answers go out: an answered client may be back before this batch is over.
      this.lastCompany = batch.length + this.queue.length;
      for (const [i, p] of batch.entries()) p.resolve(outputs[i] as O);
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}
