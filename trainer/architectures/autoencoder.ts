// A dense autoencoder for anomaly detection: encoder layers (units), the mirrored decoder, and
// an output the shape of the input.
import * as tf from '@tensorflow/tfjs';
import type { Architecture } from './architecture.ts';

export const autoencoder: Architecture<'autoencoder'> = {
  name: 'autoencoder',
  build(l, o) {
    const size = o.inputShape.reduce((a, b) => a * b, 1);
    const encoder = o.units ?? defaultEncoder(size);
    l.flatten();
    // A linear bottleneck: a ReLU there would zero out half of a narrow code.
    for (const [i, u] of encoder.entries())
      l.model.add(l.dense(u, i === encoder.length - 1 ? 'linear' : 'relu'));
    for (const u of encoder.slice(0, -1).reverse()) l.model.add(l.dense(u, 'relu'));
    l.model.add(l.dense(size, 'linear'));
    if (o.inputShape.length > 1) l.model.add(tf.layers.reshape({ targetShape: o.inputShape }));
  },
};

/** Half, then a quarter of the input width (the bottleneck), at least 2 units. */
function defaultEncoder(size: number): number[] {
  return [Math.max(4, Math.ceil(size / 2)), Math.max(2, Math.ceil(size / 4))].filter(
    (u, i, a) => i === 0 || u < a[i - 1]!,
  );
}
