// The two models the benchmark trains, defined exactly like their Keras twins in keras_peer.py:
// the classic MNIST MLP and a one-convolution CNN, both on 28x28x1 inputs with 10 classes.
import * as tf from '@tensorflow/tfjs';
import { makeOptimizer } from '../../trainer/train.ts';

export const MODEL_NAMES = ['mlp', 'cnn'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export const INPUT_SHAPE = [28, 28, 1] as const;
export const CLASSES = 10;

export function buildModel(name: ModelName): tf.LayersModel {
  const model = tf.sequential();
  if (name === 'mlp') {
    model.add(tf.layers.flatten({ inputShape: [...INPUT_SHAPE] }));
    model.add(tf.layers.dense({ units: 512, activation: 'relu' }));
  } else {
    model.add(
      tf.layers.conv2d({ inputShape: [...INPUT_SHAPE], filters: 32, kernelSize: 3, activation: 'relu' }),
    );
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tf.layers.flatten());
  }
  model.add(tf.layers.dense({ units: CLASSES, activation: 'softmax' }));
  // The trainer's optimizer (trainer/train.ts): on the native backend Adam is one kernel per variable.
  model.compile({ optimizer: makeOptimizer('adam', 1e-3), loss: 'categoricalCrossentropy' });
  return model;
}

/**
 * Synthetic batches of MNIST's shape: pixels uniform in [0, 1), one-hot labels. Training speed
 * does not depend on the values, and a pool of a few distinct batches keeps every step honest.
 */
export function syntheticBatches(count: number, batchSize: number): { xs: tf.Tensor; ys: tf.Tensor }[] {
  return Array.from({ length: count }, (_, i) =>
    tf.tidy(() => ({
      xs: tf.randomUniform([batchSize, ...INPUT_SHAPE], 0, 1, 'float32', 2 * i + 1),
      ys: tf.oneHot(tf.randomUniform([batchSize], 0, CLASSES, 'int32', 2 * i + 2), CLASSES).toFloat(),
    })),
  );
}
