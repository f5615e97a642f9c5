// Seeded shuffle, then the validation split: unlike Keras' validation_split (the last rows as
// they come), a file sorted by label still gets a representative validation set.
import { permutation } from '../random.ts';

export interface Split {
  /** Row indices of the training split, in shuffled order. */
  train: Uint32Array;
  /** Row indices of the validation split. */
  validation: Uint32Array;
}

export function splitIndices(n: number, validationSplit: number, seed: number): Split {
  const order = permutation(n, seed);
  const nValidation = Math.min(n - 1, Math.round(n * validationSplit));
  return { train: order.subarray(0, n - nValidation), validation: order.subarray(n - nValidation) };
}

/** Copies the rows at `indices` of a row-major matrix with `width` values per row. */
export function takeRows(data: Float32Array, width: number, indices: ArrayLike<number>): Float32Array {
  const out = new Float32Array(indices.length * width);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]!;
    out.set(data.subarray(r * width, (r + 1) * width), i * width);
  }
  return out;
}

export function take<T>(values: ArrayLike<T>, indices: ArrayLike<number>): T[] {
  const out: T[] = new Array(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = values[indices[i]!]!;
  return out;
}
