// The two models the benchmark trains, defined exactly like their Keras twins in keras_peer.py:
// the classic MNIST MLP and a one-convolution CNN, both on 28x28x1 inputs with 10 classes.
import * as tf from '@tensorflow/tfjs';
import { makeOptimizer, trainingLoss } from '../../trainer/train.ts';
import { type MeasureOptions, measureSteps, missingKernel, type Throughput } from './measure.ts';

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
  // The trainer's optimizer and loss (trainer/train.ts): on the native backend Adam is one kernel
  // per variable and the softmax's cross-entropy another.
  model.compile({
    optimizer: makeOptimizer('adam', 1e-3),
    loss: trainingLoss(model, 'categoricalCrossentropy'),
  });
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

const POOL = 8; // distinct synthetic batches, as in keras_peer.py

export type Outcome =
  | ({ status: 'ok' } & Throughput)
  | { status: 'unsupported' | 'unavailable' | 'failed'; reason: string };

export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 160);
}

/** Trains one model on the current backend with the timing protocol of measure.ts. */
export async function measureModel(name: ModelName, opts: MeasureOptions): Promise<Outcome> {
  const batches = syntheticBatches(POOL, opts.batchSize);
  const net = buildModel(name);
  try {
    const t = await measureSteps((i) => {
      const b = batches[i % POOL]!;
      return net.trainOnBatch(b.xs, b.ys);
    }, opts);
    return { status: 'ok', ...t };
  } catch (err) {
    const kernel = missingKernel(err);
    if (kernel) return { status: 'unsupported', reason: `no ${kernel} kernel` };
    return { status: 'failed', reason: firstLine(err) };
  } finally {
    net.dispose();
    for (const b of batches) tf.dispose([b.xs, b.ys]);
  }
}
