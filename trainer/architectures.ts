// The built-in architectures (the classic Keras examples) and Keras topologies given as JSON.
// Built-in layers get seeded initialisers so the same seed gives the same starting weights.
import * as tf from '@tensorflow/tfjs';
import type { ARCHITECTURES } from '../api/training.ts';
import { TrainerError, TrainerErrorCode } from './errors.ts';

export type ArchitectureName = (typeof ARCHITECTURES)[number];

export interface ArchitectureOptions {
  /** Per-sample input shape. */
  inputShape: number[];
  /** classification: number of classes (2 gives a single sigmoid unit for lstm-text). */
  numClasses?: number;
  /** Hidden layer sizes of dense architectures. */
  units?: number[];
  /** lstm-text: vocabulary size (embedding rows). */
  vocabularySize?: number;
  seed: number;
}

export function buildArchitecture(name: ArchitectureName, o: ArchitectureOptions): tf.LayersModel {
  let layerSeed = o.seed;
  // Each layer needs its own seed: one shared seed would start every layer with the same pattern.
  const init = () => tf.initializers.glorotUniform({ seed: layerSeed++ });
  const dense = (units: number, activation: 'relu' | 'softmax' | 'sigmoid' | 'linear', extra = {}) =>
    tf.layers.dense({ units, activation, kernelInitializer: init(), ...extra });
  const classes = o.numClasses ?? 0;
  const needClasses = () => {
    if (classes < 2)
      throw new TrainerError(
        TrainerErrorCode.InvalidModel,
        `${name} needs at least 2 classes, got ${classes}`,
      );
    return classes;
  };
  const m = tf.sequential({ name });
  // Flatten needs rank >= 3 ([batch, a, b]); rows of features go straight into the first Dense.
  const flat = () => {
    if (o.inputShape.length > 1) m.add(tf.layers.flatten({ inputShape: o.inputShape }));
    else m.add(tf.layers.reshape({ inputShape: o.inputShape, targetShape: o.inputShape }));
  };
  switch (name) {
    case 'mnist-mlp': {
      flat();
      for (const u of o.units ?? [512]) m.add(dense(u, 'relu'));
      m.add(dense(needClasses(), 'softmax'));
      break;
    }
    case 'cnn': {
      if (o.inputShape.length !== 3) {
        throw new TrainerError(
          TrainerErrorCode.ShapeMismatch,
          `cnn needs images of shape [height, width, channels], the data has samples of shape [${o.inputShape.join(', ')}]`,
        );
      }
      m.add(
        tf.layers.conv2d({
          inputShape: o.inputShape,
          filters: 32,
          kernelSize: 3,
          activation: 'relu',
          kernelInitializer: init(),
        }),
      );
      m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
      m.add(tf.layers.flatten());
      m.add(dense(needClasses(), 'softmax'));
      break;
    }
    case 'lstm-text': {
      const [embedding = 32, lstm = 32] = o.units ?? [];
      m.add(
        tf.layers.embedding({
          inputDim: o.vocabularySize ?? 10000,
          outputDim: embedding,
          inputLength: o.inputShape[0],
          embeddingsInitializer: tf.initializers.randomUniform({
            minval: -0.05,
            maxval: 0.05,
            seed: layerSeed++,
          }),
        }),
      );
      m.add(
        tf.layers.lstm({
          units: lstm,
          kernelInitializer: init(),
          recurrentInitializer: tf.initializers.orthogonal({ seed: layerSeed++ }),
        }),
      );
      const n = needClasses();
      m.add(n === 2 ? dense(1, 'sigmoid') : dense(n, 'softmax'));
      break;
    }
    case 'autoencoder': {
      const size = o.inputShape.reduce((a, b) => a * b, 1);
      const encoder = o.units ?? defaultEncoder(size);
      flat();
      // A linear bottleneck: a ReLU there would zero out half of a narrow code.
      for (const [i, u] of encoder.entries()) m.add(dense(u, i === encoder.length - 1 ? 'linear' : 'relu'));
      for (const u of encoder.slice(0, -1).reverse()) m.add(dense(u, 'relu'));
      m.add(dense(size, 'linear'));
      if (o.inputShape.length > 1) m.add(tf.layers.reshape({ targetShape: o.inputShape }));
      break;
    }
    case 'regression-mlp': {
      flat();
      for (const u of o.units ?? [64, 64]) m.add(dense(u, 'relu'));
      m.add(dense(1, 'linear'));
      break;
    }
  }
  return m;
}

/** Half, then a quarter of the input width (the bottleneck), at least 2 units. */
function defaultEncoder(size: number): number[] {
  return [Math.max(4, Math.ceil(size / 2)), Math.max(2, Math.ceil(size / 4))].filter(
    (u, i, a) => i === 0 || u < a[i - 1]!,
  );
}

/**
 * A model from a Keras topology: tf.keras `model.to_json()` (class_name/config, keras_version) or
 * TensorFlow.js `model.toJSON()`, or a model.json holding a `modelTopology`.
 */
export async function modelFromTopology(topology: unknown, where: string): Promise<tf.LayersModel> {
  if (typeof topology !== 'object' || topology === null || Array.isArray(topology)) {
    throw new TrainerError(TrainerErrorCode.InvalidModel, `${where}: a Keras topology must be a JSON object`);
  }
  const t = topology as Record<string, unknown>;
  const modelTopology = (t.modelTopology ?? t) as Record<string, unknown>;
  // A TensorFlow.js model.json nests the model under model_config.
  const config = (modelTopology.model_config ?? modelTopology) as Record<string, unknown>;
  if (typeof config.class_name !== 'string' || typeof config.config !== 'object') {
    throw new TrainerError(
      TrainerErrorCode.InvalidModel,
      `${where}: not a Keras topology (expected "class_name" and "config", as model.to_json() writes)`,
    );
  }
  try {
    return await tf.models.modelFromJSON(config as tf.io.ModelJSON['modelTopology'] as never);
  } catch (err) {
    throw new TrainerError(
      TrainerErrorCode.InvalidModel,
      `${where}: cannot build the Keras topology: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

export const fmtShape = (s: readonly (number | null)[]) =>
  `[${s.map((d) => (d === null ? 'null' : d)).join(', ')}]`;
