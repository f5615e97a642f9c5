// The two models the benchmark trains, defined exactly like their Keras twins in keras_peer.py:
// the classic MNIST MLP and a one-convolution CNN, both on 28x28x1 inputs with 10 classes.
import * as tf from '@tensorflow/tfjs';
import { GraphStep, graphStepUnsupported } from '../../trainer/graph/step.ts';
import { nativeBackend } from '../../trainer/native-binding.ts';
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
    loss: trainingLoss(model, LOSS),
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
const LOSS = 'categoricalCrossentropy';

/**
 * How a step runs: `trainer` as the trainer runs it (trainer/graph/engine.ts: the whole step as
 * one TensorFlow graph where the model allows, else tfjs's eager step), `eager` tfjs's
 * trainOnBatch always (the comparison row).
 */
export type StepKind = 'trainer' | 'eager';

type Batch = ReturnType<typeof syntheticBatches>[number];

async function stepFunction(net: tf.LayersModel, kind: StepKind) {
  if (kind === 'eager' || !nativeBackend() || graphStepUnsupported(net, LOSS) !== undefined)
    return { step: (b: Batch) => net.trainOnBatch(b.xs, b.ys), dispose() {} };
  return graphStepFunction(net);
}

/** The trainer's graph step for a compiled bench model on the native backend (trainer/graph/step.ts). */
export async function graphStepFunction(net: tf.LayersModel) {
  const graph = GraphStep.create(nativeBackend()!, net, LOSS);
  await graph.begin();
  return {
    // Reads the loss back, as trainOnBatch and the trainer do every step.
    step: async (b: Batch) => {
      const outputs = graph.trainOnBatch(b.xs, b.ys);
      await outputs[0]!.data();
      tf.dispose(outputs);
    },
    dispose: () => graph.dispose(),
  };
}

export type Outcome =
  | ({ status: 'ok' } & Throughput)
  | { status: 'unsupported' | 'unavailable' | 'failed'; reason: string };

export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 160);
}

/** Trains one model on the current backend with the timing protocol of measure.ts. */
export async function measureModel(
  name: ModelName,
  opts: MeasureOptions,
  kind: StepKind = 'trainer',
): Promise<Outcome> {
  const batches = syntheticBatches(POOL, opts.batchSize);
  const net = buildModel(name);
  const trainer = await stepFunction(net, kind);
  try {
    const t = await measureSteps((i) => trainer.step(batches[i % POOL]!), opts);
    return { status: 'ok', ...t };
  } catch (err) {
    const kernel = missingKernel(err);
    if (kernel) return { status: 'unsupported', reason: `no ${kernel} kernel` };
    return { status: 'failed', reason: firstLine(err) };
  } finally {
    trainer.dispose();
    net.dispose();
    for (const b of batches) tf.dispose([b.xs, b.ys]);
  }
}
