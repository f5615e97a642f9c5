// A model trained in Python, in TensorFlow.js: the topology of a .keras or .h5 file rebuilt, and
// every layer's weights put in place by layer name, with each shape checked.
import * as tf from '@tensorflow/tfjs';
import { TrainerError, TrainerErrorCode } from '../errors.ts';
import { type KerasFile, readKerasFile, type Weight } from './keras-file.ts';
import { modelFromTopology } from './topology.ts';

export interface LoadedKerasModel {
  model: tf.LayersModel;
  kind: KerasFile['kind'];
  /** Names of the layers whose weights came from the file. */
  initialised: string[];
}

export async function modelFromKerasFile(bytes: Buffer, where: string): Promise<LoadedKerasModel> {
  const file = await readKerasFile(bytes, where);
  const model = await modelFromTopology(file.topology, where);
  try {
    const initialised = setWeights(model.layers, file.weights, '');
    const left = [...file.weights].filter(([k, w]) => w.length > 0 && !initialised.includes(k));
    if (left.length > 0) {
      throw new TrainerError(
        TrainerErrorCode.InvalidModel,
        `the file holds weights for ${left.map(([k]) => `"${k}"`).join(', ')}, which the model's topology has no layer for`,
      );
    }
    return { model, kind: file.kind, initialised };
  } catch (err) {
    model.dispose();
    if (err instanceof TrainerError) err.message = `${where}: ${err.message}`;
    throw err;
  }
}

const shape = (s: readonly (number | null)[]) => `[${s.join(', ')}]`;

/** Sets each layer's weights from the file's list for its name; returns the names it set. */
function setWeights(layers: tf.layers.Layer[], weights: Map<string, Weight[]>, prefix: string): string[] {
  const set: string[] = [];
  for (const layer of layers) {
    const key = `${prefix}${layer.name}`;
    const from = weights.get(key);
    if (from === undefined && layer instanceof tf.LayersModel) {
      set.push(...setWeights(layer.layers, weights, `${key}/`));
      continue;
    }
    const want = layer.weights;
    if (want.length === 0 && (from ?? []).length === 0) continue;
    const got = from ?? [];
    const fits = got.length === want.length && got.every((w, i) => shape(w.shape) === shape(want[i]!.shape));
    if (!fits) {
      throw new TrainerError(
        TrainerErrorCode.InvalidModel,
        `layer "${key}" (class ${layer.getClassName()}) has weights of shapes ${want.map((w) => shape(w.shape)).join(' ')} in TensorFlow.js, but the file holds ${
          got.length === 0 ? 'none for it' : got.map((w) => `${w.path} ${shape(w.shape)}`).join(', ')
        }`,
      );
    }
    const tensors = got.map((w) => tf.tensor(w.values, w.shape, 'float32'));
    layer.setWeights(tensors);
    tf.dispose(tensors);
    set.push(key);
  }
  return set;
}
