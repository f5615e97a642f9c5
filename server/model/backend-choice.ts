// K2K_BACKEND=auto keeps the backend that is fastest for the model being loaded, measured, instead
// of a fixed order: for a small dense model native TensorFlow's per-call overhead makes it several
// times slower than WebAssembly at batch 1, for a large one the reverse (docs/decisions/0037).
//
// Each candidate loads the model, runs the warm-up batch at 1 row and at the batcher's largest
// batch, and is scored by the product of the two times: what the server will run depends on the
// concurrency, which nobody knows at load, and the product weighs both sizes alike (a backend
// twice as slow at one size must be more than twice as fast at the other to win).
import * as tf from '@tensorflow/tfjs';

/** One candidate's measured compute time (preprocess, tensor, predict, read back), median seconds. */
export interface BackendTiming {
  backend: string;
  batch1Seconds: number;
  maxBatchSeconds: number;
}

export interface BackendChoice {
  /** What K2K_BACKEND asked for. */
  requested: string;
  /** The backend the model runs on. */
  backend: string;
  /** The batcher's largest batch, the second measured size. */
  maxBatch: number;
  /** Every candidate measured, in the order tried; none when there was only one. */
  timings: BackendTiming[];
  /** Candidates that could not initialise, load or run this model, and why (auto skips them). */
  skipped: Array<{ backend: string; error: string }>;
}

/** What the choice needs of a loaded model. */
export interface Measurable {
  /** Median seconds of one compute of `rows` rows of the warm-up input. */
  timeCompute(rows: number): Promise<number>;
  dispose(): void;
}

/** The candidate with the smallest batch1 × maxBatch time; the first of equals. */
export function fastest(timings: readonly BackendTiming[]): BackendTiming {
  let best = timings[0] as BackendTiming;
  for (const t of timings) {
    if (t.batch1Seconds * t.maxBatchSeconds < best.batch1Seconds * best.maxBatchSeconds) best = t;
  }
  return best;
}

/**
 * Loads the model on each candidate backend, measures it, and resolves with the model loaded on
 * the fastest (with a single candidate: loads it, unmeasured) (which is left active; tfjs has one active backend per process, and the server one
 * model per process). Never more than two candidates' weights are held at once.
 */
export async function chooseBackend<M extends Measurable>(
  requested: string,
  candidates: readonly string[],
  maxBatch: number,
  load: () => Promise<M>,
): Promise<{ model: M; choice: BackendChoice }> {
  const timings: BackendTiming[] = [];
  const skipped: BackendChoice['skipped'] = [];
  if (candidates.length === 1) {
    // Nothing to choose (a named backend, or the only one that initialised): no measuring.
    const backend = candidates[0] as string;
    if (!(await tf.setBackend(backend)))
      throw new Error(`TensorFlow.js backend "${backend}" failed to initialise`);
    return { model: await load(), choice: { requested, backend, maxBatch, timings, skipped } };
  }
  // A candidate that cannot run this model (wasm lacks a kernel, say) is skipped, as the fixed
  // order used to fall back; when none can, the first candidate's error is the load's failure.
  let firstError: unknown;
  let kept: { model: M; timing: BackendTiming } | undefined;
  for (const backend of candidates) {
    let model: M | undefined;
    try {
      if (!(await tf.setBackend(backend)))
        throw new Error(`TensorFlow.js backend "${backend}" failed to initialise`);
      model = await load();
      const timing = {
        backend,
        batch1Seconds: await model.timeCompute(1),
        maxBatchSeconds: await model.timeCompute(maxBatch),
      };
      timings.push(timing);
      if (kept && fastest([kept.timing, timing]) === kept.timing) {
        model.dispose();
      } else {
        kept?.model.dispose();
        kept = { model, timing };
      }
    } catch (err) {
      model?.dispose();
      firstError ??= err;
      skipped.push({ backend, error: (err as Error).message ?? String(err) });
    }
  }
  if (!kept) throw firstError ?? new Error('no TensorFlow.js backend to measure');
  await tf.setBackend(kept.timing.backend);
  return {
    model: kept.model,
    choice: { requested, backend: kept.timing.backend, maxBatch, timings, skipped },
  };
}

/**
 * The choice as Open Inference Protocol parameters (scalars only, as the protocol's parameters
 * are), for the REST model metadata: the backend, what was requested, and each candidate's
 * measured seconds at both batch sizes.
 */
export function choiceParameters(choice: BackendChoice): Record<string, string | number> {
  const out: Record<string, string | number> = {
    backend: choice.backend,
    backend_requested: choice.requested,
  };
  for (const t of choice.timings) {
    out[`backend_${t.backend}_batch_1_seconds`] = t.batch1Seconds;
    out[`backend_${t.backend}_batch_${choice.maxBatch}_seconds`] = t.maxBatchSeconds;
  }
  return out;
}
