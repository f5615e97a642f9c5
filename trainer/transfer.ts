// Transfer learning: a new model starts from the weights of a committed artifact.
import * as tf from '@tensorflow/tfjs';
import type { TrainerConfig } from '../api/trainer.ts';
import { isArtifactError, loadModelHandler, readArtifact } from '../lib/artifact/index.ts';
import { isStorageError, type ObjectStore } from '../lib/storage/index.ts';
import { TrainerError, TrainerErrorCode } from './errors.ts';
import type { Logger } from './log.ts';

/**
 * Copies the base artifact's weights layer by layer (by position) wherever the shapes agree —
 * typically everything but a new classification head — and freezes the first freezeLayers
 * layers, which must all have received base weights.
 */
export async function transferWeights(
  model: tf.LayersModel,
  base: NonNullable<TrainerConfig['model']['baseArtifact']>,
  store: ObjectStore,
  log: Logger,
): Promise<void> {
  let baseModel: tf.LayersModel;
  try {
    baseModel = await tf.loadLayersModel(loadModelHandler(await readArtifact(store, base.uri)));
  } catch (err) {
    if (isArtifactError(err) || isStorageError(err, 'NotFound')) {
      throw new TrainerError(
        TrainerErrorCode.InvalidModel,
        `/model/baseArtifact: ${(err as Error).message}`,
        { cause: err },
      );
    }
    throw err;
  }
  const copied: string[] = [];
  const layers = model.layers;
  for (const [i, layer] of layers.entries()) {
    const from = baseModel.layers[i];
    const w = from?.getWeights() ?? [];
    const fits =
      w.length > 0 &&
      w.length === layer.weights.length &&
      w.every((t, j) => t.shape.join('x') === layer.weights[j]!.shape.join('x'));
    if (fits) {
      layer.setWeights(w);
      copied.push(layer.name);
    }
  }
  freezeLeadingLayers(
    model,
    base.freezeLayers,
    copied,
    '/model/baseArtifact/freezeLayers',
    "the base artifact's",
  );
  baseModel.dispose();
  log.info('initialised from base artifact', {
    uri: base.uri,
    copiedLayers: copied,
    frozenLayers: base.freezeLayers,
  });
}

/**
 * Freezes the first n layers, which must all have been initialised (a frozen random layer would
 * never learn); field and source name the spec field and where the weights came from in errors.
 */
export function freezeLeadingLayers(
  model: tf.LayersModel,
  n: number,
  initialised: string[],
  field: string,
  source: string,
): void {
  const layers = model.layers;
  if (n > layers.length) {
    throw new TrainerError(
      TrainerErrorCode.InvalidModel,
      `${field} = ${n}: the model has only ${layers.length} layers`,
    );
  }
  for (const layer of layers.slice(0, n)) {
    if (layer.weights.length > 0 && !initialised.includes(layer.name)) {
      throw new TrainerError(
        TrainerErrorCode.InvalidModel,
        `${field} = ${n}: layer ${layer.name} would be frozen but its weights do not match ${source}`,
      );
    }
    layer.trainable = false;
  }
}
