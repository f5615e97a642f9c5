// The Keras MNIST MLP example: dense ReLU layers (512 units unless told) and a softmax.
import type { Architecture } from './architecture.ts';

export const mnistMlp: Architecture<'mnist-mlp'> = {
  name: 'mnist-mlp',
  build(l, o) {
    l.flatten();
    for (const u of o.units ?? [512]) l.model.add(l.dense(u, 'relu'));
    l.model.add(l.dense(l.classes(), 'softmax'));
  },
};
