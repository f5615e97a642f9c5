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
  if (base.freezeLayers > layers.length) {
    throw new TrainerError(
      TrainerErrorCode.InvalidModel,
      `/model/baseArtifact/freezeLayers = ${base.freezeLayers}: the model has only ${layers.length} layers`,
    );
  }
  for (const layer of layers.slice(0, base.freezeLayers)) {
    if (layer.weights.length > 0 && !copied.includes(layer.name)) {
      throw new TrainerError(
        TrainerErrorCode.InvalidModel,
        `/model/baseArtifact/freezeLayers = ${base.freezeLayers}: layer ${layer.name} would be frozen but its weights do not match the base artifact's`,
      );
    }
    layer.trainable = false;
  }
  baseModel.dispose();
  log.info('initialised from base artifact', {
    uri: base.uri,
    copiedLayers: copied,
    frozenLayers: base.freezeLayers,
  });
}
