// A small convolutional classifier for images: one 3x3 convolution, max pooling, a softmax.
import * as tf from '@tensorflow/tfjs';
import { TrainerError, TrainerErrorCode } from '../errors.ts';
import type { Architecture } from './architecture.ts';

export const cnn: Architecture<'cnn'> = {
  name: 'cnn',
  build(l, o) {
    if (o.inputShape.length !== 3) {
      throw new TrainerError(
        TrainerErrorCode.ShapeMismatch,
        `cnn needs images of shape [height, width, channels], the data has samples of shape [${o.inputShape.join(', ')}]`,
      );
    }
    l.model.add(
      tf.layers.conv2d({
        inputShape: o.inputShape,
        filters: 32,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: l.glorot(),
      }),
    );
    l.model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    l.model.add(tf.layers.flatten());
    l.model.add(l.dense(l.classes(), 'softmax'));
  },
};
