// The oneDNN MaxPoolGrad kernel against TensorFlow's own MaxPoolGrad, on the native backend
// (its addon is built by hack/setup.sh through hack/build-tfjs-node.sh).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { floatAttr, type NodeBackend, type OpAttr, runOp, stringAttr } from './native-binding.ts';
import { maxPoolGradKernel, registerOneDnnMaxPoolGrad } from './native-max-pool.ts';

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('tensorflow');
  registerOneDnnMaxPoolGrad();
});

/** TensorFlow's eager MaxPoolGrad, called directly (what tfjs-node's kernel runs). */
function tensorflowMaxPoolGrad(
  x: tf.Tensor4D,
  y: tf.Tensor,
  dy: tf.Tensor,
  size: number,
  stride: number,
  pad: string,
) {
  const backend = tf.backend() as unknown as NodeBackend;
  const int = (name: string, value: number[]): OpAttr => ({ name, type: backend.binding.TF_ATTR_INT, value });
  return runOp(
    backend,
    'MaxPoolGrad',
    [x, y, dy],
    [
      floatAttr(backend, 'T'),
      int('ksize', [1, size, size, 1]),
      int('strides', [1, stride, stride, 1]),
      stringAttr(backend, 'padding', pad.toUpperCase()),
      stringAttr(backend, 'data_format', 'NHWC'),
    ],
    1,
  )[0]!;
}

describe('the oneDNN MaxPoolGrad kernel', () => {
  it.each([
    {
      name: '2x2 windows, stride 2, valid (the CNN)',
      shape: [8, 26, 26, 32],
      size: 2,
      stride: 2,
      pad: 'valid',
    },
    { name: '3x3 windows, stride 2, same', shape: [4, 9, 9, 5], size: 3, stride: 2, pad: 'same' },
    {
      name: 'overlapping 3x3 windows, stride 1, valid',
      shape: [2, 7, 6, 3],
      size: 3,
      stride: 1,
      pad: 'valid',
    },
    {
      name: 'ReLU outputs, where windows of zeros tie',
      shape: [4, 12, 12, 8],
      size: 2,
      stride: 2,
      pad: 'valid',
      relu: true,
    },
  ] as const)('gives TensorFlow’s gradient: $name', async ({ shape, size, stride, pad, ...o }) => {
    tf.tidy(() => {
      const raw = tf.randomNormal(shape as unknown as [number, number, number, number], 0, 1, 'float32', 7);
      const x = ('relu' in o ? tf.relu(raw) : raw) as tf.Tensor4D;
      const dy = tf.randomNormal(tf.maxPool(x, size, stride, pad).shape, 0, 1, 'float32', 8);
      const loss = (t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, size, stride, pad), dy));
      const got = Array.from(tf.grad(loss)(x).dataSync());
      const y = tf.maxPool(x, size, stride, pad);
      const want = Array.from(tensorflowMaxPoolGrad(x, y, dy, size, stride, pad).dataSync());
      expect(maxPoolGradKernel()).toBe('oneDNN');
      if (stride >= size) {
        expect(got).toEqual(want); // each input is in one window: the same numbers, bit for bit
      } else {
        // Overlapping windows add up their gradients in another order: the same up to rounding.
        expect(got.map((g) => g !== 0)).toEqual(want.map((w) => w !== 0));
        for (const [i, g] of got.entries())
          expect(Math.abs(g - want[i]!)).toBeLessThanOrEqual(1e-6 * Math.abs(want[i]!));
      }
    });
  });

  it('leaves no tensors behind', () => {
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([2, 8, 8, 4]);
    tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(x).dispose();
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
