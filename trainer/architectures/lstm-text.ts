// A text classifier: embedding, LSTM, then one sigmoid unit for 2 classes or a softmax.
// units = [embedding width, LSTM units].
import * as tf from '@tensorflow/tfjs';
import type { Architecture } from './architecture.ts';

export const lstmText: Architecture<'lstm-text'> = {
  name: 'lstm-text',
  build(l, o) {
    const [embedding = 32, lstm = 32] = o.units ?? [];
    l.model.add(
      tf.layers.embedding({
        inputDim: o.vocabularySize ?? 10000,
        outputDim: embedding,
        inputLength: o.inputShape[0],
        embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: l.seed() }),
      }),
    );
    l.model.add(
      tf.layers.lstm({
        units: lstm,
        kernelInitializer: l.glorot(),
        recurrentInitializer: tf.initializers.orthogonal({ seed: l.seed() }),
      }),
    );
    const n = l.classes();
    l.model.add(n === 2 ? l.dense(1, 'sigmoid') : l.dense(n, 'softmax'));
  },
};
