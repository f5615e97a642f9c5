// The no-op Cast and Reshape kernels on the native backend (its addon is built by hack/setup.sh
// through hack/build-tfjs-node.sh).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerNoOpKernels } from './native-noop-kernels.ts';

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('tensorflow');
  registerNoOpKernels();
});

const dataId = (t: tf.Tensor) => (t as unknown as { dataId: object }).dataId;

describe('no-op kernels on the native backend', () => {
  it.each([
    ['a cast to the dtype the tensor has', (x: tf.Tensor) => tf.cast(x, 'float32')],
    ['a reshape to the shape the tensor has', (x: tf.Tensor) => tf.reshape(x, [2, 3])],
  ])('%s shares the input data, which outlives the input', async (_case, op) => {
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const y = op(x);
    expect(dataId(y)).toBe(dataId(x));
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(y.shape).toEqual([2, 3]);
    y.dispose();
  });

  it.each([
    ['a cast to another dtype', (x: tf.Tensor) => tf.cast(x, 'int32'), [1, 2, 3, 4, 5, 6], [2, 3]],
    ['a reshape to another shape', (x: tf.Tensor) => tf.reshape(x, [3, 2]), [1.5, 2, 3, 4, 5, 6], [3, 2]],
  ])('%s still runs TensorFlow', async (_case, op, want, shape) => {
    const x = tf.tensor2d([1.5, 2, 3, 4, 5, 6], [2, 3]);
    const y = op(x);
    expect(dataId(y)).not.toBe(dataId(x));
    expect(Array.from(await y.data())).toEqual(want);
    expect(y.shape).toEqual(shape);
    tf.dispose([x, y]);
  });
});
