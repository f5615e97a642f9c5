// One forward pass of a Keras (layers) model, as lean as tfjs-layers allows. LayersModel.predict
// wraps the same graph execution in predictLoop, which slices the input into batches of 32 (a copy
// of the whole input even when it is one batch) and concatenates the outputs (another copy), plus
// input checks the server has already made against the manifest: on the MNIST MLP at 32 rows that
// was a third of the model step's CPU (docs/benchmarks.md, "The model step"). execute() runs the
// same graph executor on the whole batch in inference mode, without either copy.
import type * as tf from '@tensorflow/tfjs';

/** The model's outputs for `x`, in the model's output order; call inside tf.tidy. */
export function forward(model: tf.LayersModel, x: tf.Tensor): tf.Tensor[] {
  const y = model.execute(
    x,
    model.outputs.map((o) => o.name),
  );
  return Array.isArray(y) ? y : [y];
}
