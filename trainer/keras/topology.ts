// A model from the user's own Keras topology: Keras 3 or Keras 2 model.to_json(), or
// TensorFlow.js model.toJSON() / a model.json holding a modelTopology.
import * as tf from '@tensorflow/tfjs';
import { TrainerError, TrainerErrorCode } from '../errors.ts';
import { normalizeTopology } from './normalize.ts';

export async function modelFromTopology(topology: unknown, where: string): Promise<tf.LayersModel> {
  const config = normalizeTopology(topology, where);
  try {
    return await tf.models.modelFromJSON(config as tf.io.ModelJSON['modelTopology'] as never);
  } catch (err) {
    throw new TrainerError(
      TrainerErrorCode.InvalidModel,
      `${where}: cannot build the Keras topology: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
