// The built-in architectures (the classic Keras examples), one file each, keyed by the names in
// api's ARCHITECTURES (the CRD's enum): adding one is a file, a line here and the name there, and
// the type below fails to compile until the two agree.
import type * as tf from '@tensorflow/tfjs';
import {
  type Architecture,
  type ArchitectureName,
  type ArchitectureOptions,
  layersFor,
} from './architecture.ts';
import { autoencoder } from './autoencoder.ts';
import { cnn } from './cnn.ts';
import { lstmText } from './lstm-text.ts';
import { mnistMlp } from './mnist-mlp.ts';
import { regressionMlp } from './regression-mlp.ts';

export type { Architecture, ArchitectureName, ArchitectureOptions } from './architecture.ts';

export const architectures: { readonly [N in ArchitectureName]: Architecture<N> } = {
  'mnist-mlp': mnistMlp,
  cnn,
  'lstm-text': lstmText,
  autoencoder,
  'regression-mlp': regressionMlp,
};

export function buildArchitecture(name: ArchitectureName, o: ArchitectureOptions): tf.LayersModel {
  const layers = layersFor(name, o);
  architectures[name].build(layers, o);
  return layers.model;
}
