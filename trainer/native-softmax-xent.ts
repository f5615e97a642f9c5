// Softmax and categorical cross-entropy as one TensorFlow kernel on the native backend, as Keras
// does (keras/src/backend/tensorflow/nn.py calls softmax_cross_entropy_with_logits). tfjs-layers
// computes the loss from the softmax's output in 7 ops (normalise, clip, log, multiply, sum,
// negate) and differentiates each of them and the softmax: about 20 TensorFlow calls per step.
//
// The loss is not given the logits (tfjs-layers hands a loss the model's output), but
// SoftmaxCrossEntropyWithLogits of log(p) is the cross-entropy of p itself: softmax(log p) = p
// for p that sums to 1. Its second output, p - y, is the loss's gradient with respect to the
// logits, so the softmax's own gradient must not be applied on top: the model's last softmax
// passes its gradient through unchanged while the model is compiled with this loss (and only
// then), and the layer still saves as a plain softmax. The loss values keep tfjs's clipping of p
// to [1e-7, 1 - 1e-7]; the gradient does not stop where that clip would stop it (a true class
// below 1e-7), as Keras's does not.
import * as tf from '@tensorflow/tfjs';
import { floatAttr, nativeBackend, runOp } from './native-binding.ts';

type LossFn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;
type Activation = { apply(x: tf.Tensor, axis?: number): tf.Tensor; getClassName(): string };

// tfjs-layers' epsilon: it clips probabilities to [epsilon, 1 - epsilon] before the log.
const EPSILON = 1e-7;

/**
 * On the native backend, when the model ends in a softmax over its last axis and is trained with
 * categorical cross-entropy: makes that softmax pass its gradient through and returns the fused
 * loss to compile with. Otherwise undefined, and the model is left as it was.
 */
export function useFusedSoftmaxCrossEntropy(model: tf.LayersModel): LossFn | undefined {
  const backend = nativeBackend();
  const last = model.layers[model.layers.length - 1] as unknown as { activation?: Activation } | undefined;
  const activation = last?.activation;
  if (!backend || !activation || activation.getClassName() !== 'softmax') return undefined;
  if (model.outputs.length !== 1 || model.outputs[0]!.shape.length !== 2) return undefined;
  const passThrough = tf.customGrad((x) => ({
    value: tf.softmax(x as tf.Tensor),
    gradFunc: (dy) => dy,
  }));
  const loss: LossFn = (yTrue, yPred) =>
    tf.customGrad(((p: tf.Tensor, save: tf.GradSaveFunc) => {
      const logP = tf.log(tf.clipByValue(p, EPSILON, 1 - EPSILON));
      const [perRow, backprop] = runOp(
        backend,
        'SoftmaxCrossEntropyWithLogits',
        [logP, tf.cast(yTrue, 'float32')],
        [floatAttr(backend, 'T')],
        2,
      );
      save([backprop!]);
      return {
        value: perRow!,
        gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => tf.mul(saved!, tf.expandDims(dy, -1)),
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0])(yPred) as tf.Tensor;
  // Inherits the softmax's class: it serialises, and loads back, as "softmax". Compiled again
  // with another loss, the model gets the softmax's own gradient back.
  const compiled = model as unknown as { loss?: unknown };
  last!.activation = Object.assign(Object.create(activation) as Activation, {
    apply: (x: tf.Tensor) => (compiled.loss === loss ? passThrough(x) : tf.softmax(x)),
  });
  return loss;
}
