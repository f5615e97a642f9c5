// The training loop. It runs one fit() call per epoch instead of one for all epochs, so that
// the epoch's shuffle (and augmentation) is seeded and reproducible after a resume, and so that
// NaN detection, early stopping, checkpoints and progress reports happen between epochs.
import * as tf from '@tensorflow/tfjs';
import type { Hyperparameters } from '../api/training.ts';
import { augmentImages, isIdentity } from './datasets/augment.ts';
import type { Part, PreparedDataset, Task } from './datasets/index.ts';
import { takeRows } from './datasets/split.ts';
import { TrainerError, TrainerErrorCode } from './errors.ts';
import { stepEngine } from './graph/engine.ts';
import type { Logger } from './log.ts';
import { NativeAdam } from './native-adam.ts';
import { useFusedSoftmaxCrossEntropy } from './native-softmax-xent.ts';
import { deriveSeed, permutation } from './random.ts';

const fmtShape = (s: readonly (number | null)[]) => `[${s.map((d) => (d === null ? 'null' : d)).join(', ')}]`;

/** One epoch's metrics as tfjs names them: loss, acc, val_loss, val_acc, ... */
export type EpochMetrics = { epoch: number } & Record<string, number>;

export type LossName = NonNullable<Hyperparameters['loss']>;

/** The loss when the spec does not name one. */
export function defaultLoss(task: Task, outputWidth: number): LossName {
  if (task !== 'classification') return 'meanSquaredError';
  return outputWidth === 1 ? 'binaryCrossentropy' : 'categoricalCrossentropy';
}

export function makeOptimizer(name: Hyperparameters['optimizer'], lr: number): tf.Optimizer {
  switch (name) {
    case 'sgd':
      return tf.train.sgd(lr);
    case 'momentum':
      return tf.train.momentum(lr, 0.9);
    case 'adam':
      return new NativeAdam(lr, 0.9, 0.999);
    case 'adamax':
      return tf.train.adamax(lr);
    case 'rmsprop':
      return tf.train.rmsprop(lr);
    case 'adagrad':
      return tf.train.adagrad(lr);
    case 'adadelta':
      return tf.train.adadelta(lr);
  }
}

type LossFn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

function lossFunction(name: LossName): string | LossFn {
  // tfjs-layers knows the first five by name; Huber comes from tf.losses.
  if (name === 'huber') {
    const huber: LossFn = (yTrue, yPred) => tf.losses.huberLoss(yTrue, yPred);
    return huber;
  }
  return name;
}

type MetricName = Hyperparameters['metrics'][number];

function metricFunctions(names: MetricName[], task: Task): Array<string | LossFn> {
  return names
    .filter((m) => task === 'classification' || m !== 'accuracy') // accuracy means nothing for regression
    .map((m) => {
      switch (m) {
        case 'precision':
          return tf.metrics.precision as LossFn;
        case 'recall':
          return tf.metrics.recall as LossFn;
        default:
          return m;
      }
    });
}

/**
 * The loss to compile `model` with: on the native backend a softmax output trained with
 * categorical cross-entropy gets the fused kernel (native-softmax-xent.ts), the same loss values.
 */
export function trainingLoss(model: tf.LayersModel, name: LossName): string | LossFn {
  return (name === 'categoricalCrossentropy' && useFusedSoftmaxCrossEntropy(model)) || lossFunction(name);
}

export function compileModel(model: tf.LayersModel, hp: Hyperparameters, task: Task, loss: LossName): void {
  model.compile({
    optimizer: makeOptimizer(hp.optimizer, hp.learningRate),
    loss: trainingLoss(model, loss),
    metrics: metricFunctions(hp.metrics, task),
  });
}

/** What the model is trained to output for each row: built from the model's output shape. */
export interface Targets {
  shape: number[];
  train: Float32Array;
  validation: Float32Array;
  test?: Float32Array;
}

/**
 * Encodes the targets for the model's output: one-hot for a softmax over the classes, 0/1 for a
 * single sigmoid unit, class indices for sparseCategoricalCrossentropy, the number for regression
 * and the input itself for an autoencoder. A model whose output does not fit gets ShapeMismatch
 * naming both shapes.
 */
export function encodeTargets(
  model: tf.LayersModel,
  data: PreparedDataset,
  task: Task,
  loss: LossName,
): Targets {
  const inShape = model.inputs[0]!.shape.slice(1);
  const want = [null, ...data.sampleShape];
  const got = model.inputs[0]!.shape;
  if (got.length !== want.length || got.some((d, i) => d !== null && d !== want[i])) {
    throw new TrainerError(
      TrainerErrorCode.ShapeMismatch,
      `the model's input shape ${fmtShape(got)} does not match the data's ${fmtShape(want)} (${data.kind} samples of ${fmtShape(data.sampleShape)})`,
    );
  }
  const outShape = model.outputs[0]!.shape.slice(1);
  const mismatch = (expected: string) =>
    new TrainerError(
      TrainerErrorCode.ShapeMismatch,
      `the model's output shape ${fmtShape([null, ...outShape])} does not match the targets: ${expected}`,
    );
  const per = (f: (p: Part) => Float32Array) => {
    const t: Targets = { shape: [], train: f(data.train), validation: f(data.validation) };
    if (data.test) t.test = f(data.test);
    return t;
  };
  if (task === 'anomaly') {
    if (fmtShape(outShape) !== fmtShape(inShape)) {
      throw mismatch(
        `an autoencoder reconstructs its input, of shape ${fmtShape([null, ...data.sampleShape])}`,
      );
    }
    return { ...per((p) => p.x), shape: [...data.sampleShape] };
  }
  if (task === 'regression') {
    if (outShape.length !== 1 || outShape[0] !== 1)
      throw mismatch('regression predicts one number per row, [null, 1]');
    return { ...per((p) => p.targets!), shape: [1] };
  }
  const classes = data.classNames?.length ?? 0;
  const width = outShape[outShape.length - 1];
  if (outShape.length !== 1) throw mismatch(`${classes} classes need an output of shape [null, ${classes}]`);
  if (loss === 'sparseCategoricalCrossentropy') {
    if (width !== classes) throw mismatch(`${classes} classes need an output of shape [null, ${classes}]`);
    return { ...per((p) => Float32Array.from(p.classes!)), shape: [1] };
  }
  if (width === 1) {
    if (classes !== 2) throw mismatch(`a single sigmoid unit fits 2 classes, the data has ${classes}`);
    return { ...per((p) => Float32Array.from(p.classes!)), shape: [1] };
  }
  if (width !== classes) throw mismatch(`${classes} classes need an output of shape [null, ${classes}]`);
  return {
    ...per((p) => {
      const y = new Float32Array(p.n * classes);
      for (let i = 0; i < p.n; i++) y[i * classes + p.classes![i]!] = 1;
      return y;
    }),
    shape: [classes],
  };
}

export interface LoopOptions {
  model: tf.LayersModel;
  data: PreparedDataset;
  targets: Targets;
  hp: Hyperparameters;
  /** Epochs already done (from a checkpoint) and their metrics. */
  history: EpochMetrics[];
  log: Logger;
  /** The loss the model is compiled with; without it the steps run eagerly (model.fit). */
  loss?: LossName;
  /** Called after every epoch (checkpoints, progress); awaited before the next epoch. */
  afterEpoch?: (epoch: number, history: EpochMetrics[], stepEngine: string) => Promise<void>;
}

export interface LoopResult {
  history: EpochMetrics[];
  stoppedEarly: boolean;
  /** How the steps ran: `graph`, or `eager (why not the graph)` (trainer/graph/engine.ts). */
  stepEngine: string;
}

/** The epoch whose monitored value was best and how many epochs came after it without improvement. */
export function earlyStoppingState(history: EpochMetrics[], monitor: string): { best: number; wait: number } {
  let best = Number.POSITIVE_INFINITY;
  let wait = 0;
  for (const h of history) {
    const v = h[monitor];
    if (v !== undefined && v < best) {
      best = v;
      wait = 0;
    } else wait++;
  }
  return { best, wait };
}

export async function trainLoop(o: LoopOptions): Promise<LoopResult> {
  const { model, data, targets, hp, log } = o;
  const history = [...o.history];
  const size = data.sampleShape.reduce((a, b) => a * b, 1);
  const ySize = targets.shape.reduce((a, b) => a * b, 1);
  const hasValidation = data.validation.n > 0;
  const monitor = hasValidation ? 'val_loss' : 'loss';
  const validation = hasValidation
    ? ([
        tf.tensor(data.validation.x, [data.validation.n, ...data.sampleShape]),
        tf.tensor(targets.validation, [data.validation.n, ...targets.shape]),
      ] as [tf.Tensor, tf.Tensor])
    : undefined;
  const augment = data.augmentation && !isIdentity(data.augmentation) ? data.augmentation : undefined;
  let stoppedEarly = false;
  const engine = stepEngine(model, o.loss, log);
  try {
    if (
      hp.earlyStoppingPatience > 0 &&
      earlyStoppingState(history, monitor).wait >= hp.earlyStoppingPatience
    ) {
      return { history, stoppedEarly: true, stepEngine: engine.name };
    }
    for (let epoch = history.length + 1; epoch <= hp.epochs; epoch++) {
      // A seed per epoch: a resumed run shuffles epoch N exactly as the first run would have.
      const order = permutation(data.train.n, deriveSeed(hp.seed, epoch));
      let xs = takeRows(data.train.x, size, order);
      if (augment) {
        xs = augmentImages(
          xs,
          data.sampleShape as [number, number, number],
          augment,
          deriveSeed(hp.seed, -epoch),
        );
      }
      // An autoencoder's target is its (augmented) input.
      const ys = targets.train === data.train.x ? xs : takeRows(targets.train, ySize, order);
      const x = tf.tensor(xs, [data.train.n, ...data.sampleShape]);
      const y = tf.tensor(ys, [data.train.n, ...targets.shape]);
      const started = performance.now();
      try {
        const { metrics: values, diverged } = await engine.fitEpoch(x, y, {
          batchSize: hp.batchSize,
          ...(validation ? { validation } : {}),
        });
        const seconds = (performance.now() - started) / 1000;
        const metrics: EpochMetrics = { epoch, ...values };
        if (diverged !== undefined || !Number.isFinite(metrics.loss ?? Number.NaN)) {
          throw new TrainerError(
            TrainerErrorCode.LossNaN,
            `loss became ${Number.isNaN(diverged ?? metrics.loss) ? 'NaN' : 'infinite'} at epoch ${epoch}; lower learningRate (now ${hp.learningRate}) or normalise the data`,
          );
        }
        history.push(metrics);
        log.info('epoch', {
          ...metrics,
          epochs: hp.epochs,
          samplesPerSecond: Math.round(data.train.n / seconds),
          seconds: Number(seconds.toFixed(3)),
        });
      } finally {
        x.dispose();
        y.dispose();
      }
      await o.afterEpoch?.(epoch, history, engine.name);
      if (
        hp.earlyStoppingPatience > 0 &&
        earlyStoppingState(history, monitor).wait >= hp.earlyStoppingPatience
      ) {
        stoppedEarly = epoch < hp.epochs;
        if (stoppedEarly) {
          log.info('stopping early', { epoch, monitor, patience: hp.earlyStoppingPatience });
        }
        break;
      }
    }
  } finally {
    engine.dispose();
    for (const t of validation ?? []) t.dispose();
  }
  return { history, stoppedEarly, stepEngine: engine.name };
}

/** Runs the model over rows in batches and returns the flat outputs. */
export async function predictRows(
  model: tf.LayersModel,
  x: Float32Array,
  n: number,
  sampleShape: number[],
): Promise<Float32Array> {
  if (n === 0) return new Float32Array(0);
  const input = tf.tensor(x, [n, ...sampleShape]);
  try {
    const out = model.predict(input, { batchSize: 256 }) as tf.Tensor;
    try {
      return (await out.data()) as Float32Array;
    } finally {
      out.dispose();
    }
  } finally {
    input.dispose();
  }
}

/** loss and metrics on a held-out set, named test_loss, test_acc, ... */
export async function evaluate(
  model: tf.LayersModel,
  x: Float32Array,
  y: Float32Array,
  n: number,
  sampleShape: number[],
  targetShape: number[],
): Promise<Record<string, number>> {
  const xs = tf.tensor(x, [n, ...sampleShape]);
  const ys = tf.tensor(y, [n, ...targetShape]);
  try {
    const result = model.evaluate(xs, ys, { batchSize: 256 });
    const scalars = Array.isArray(result) ? result : [result];
    const out: Record<string, number> = {};
    for (const [i, name] of model.metricsNames.entries()) {
      out[`test_${name}`] = (await scalars[i]!.data())[0]!;
      scalars[i]!.dispose();
    }
    return out;
  } finally {
    xs.dispose();
    ys.dispose();
  }
}
