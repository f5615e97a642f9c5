// What a built-in architecture is: a name from api's ARCHITECTURES and a function that adds its
// layers to an empty sequential model, through seeded layer helpers so that the same seed gives
// the same starting weights.
import * as tf from '@tensorflow/tfjs';
import type { ARCHITECTURES } from '../../api/training.ts';
import { TrainerError, TrainerErrorCode } from '../errors.ts';

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

/** One entry of the registry in index.ts. */
export interface Architecture<N extends ArchitectureName = ArchitectureName> {
  name: N;
  build(layers: Layers, o: ArchitectureOptions): void;
}

export type Activation = 'relu' | 'softmax' | 'sigmoid' | 'linear';

/** The model being built and the helpers every built-in architecture uses. */
export interface Layers {
  model: tf.Sequential;
  /** A fresh seed per call: one shared seed would start every layer with the same pattern. */
  seed(): number;
  glorot(): ReturnType<typeof tf.initializers.glorotUniform>;
  dense(units: number, activation: Activation, extra?: object): tf.layers.Layer;
  /** Flattens the input; rows of features (rank 1) go straight into the first Dense. */
  flatten(): void;
  /** The number of classes; fewer than 2 is an invalid model. */
  classes(): number;
}

export function layersFor(name: ArchitectureName, o: ArchitectureOptions): Layers {
  let layerSeed = o.seed;
  const model = tf.sequential({ name });
  const glorot = () => tf.initializers.glorotUniform({ seed: layerSeed++ });
  return {
    model,
    seed: () => layerSeed++,
    glorot,
    dense: (units, activation, extra = {}) =>
      tf.layers.dense({ units, activation, kernelInitializer: glorot(), ...extra }),
    flatten: () => {
      // Flatten needs rank >= 3 ([batch, a, b]).
      if (o.inputShape.length > 1) model.add(tf.layers.flatten({ inputShape: o.inputShape }));
      else model.add(tf.layers.reshape({ inputShape: o.inputShape, targetShape: o.inputShape }));
    },
    classes: () => {
      const classes = o.numClasses ?? 0;
      if (classes < 2)
        throw new TrainerError(
          TrainerErrorCode.InvalidModel,
          `${name} needs at least 2 classes, got ${classes}`,
        );
      return classes;
    },
  };
}
