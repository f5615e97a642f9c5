// A model from the user's own Keras topology, given as JSON.
import * as tf from '@tensorflow/tfjs';
import { TrainerError, TrainerErrorCode } from '../errors.ts';

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
