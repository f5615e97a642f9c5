// An optimizer's state — its iteration count and slot variables (Adam's two moments, momentum's
// velocity, …) — as optimizer.json and optimizer.bin beside the weights of every checkpoint and
// artifact. A run that goes on from one (a replaced pod, or spec.resumeFrom) then takes the step
// the first run would have taken next, instead of restarting Adam's moments at zero (ADR 0033).
import * as tf from '@tensorflow/tfjs';
import { FILES, type OptimizerStateFile } from '../api/artifact.ts';
import type { Hyperparameters } from '../api/training.ts';

/** What tf.Optimizer.getWeights returns (tfjs does not export the type). */
type NamedTensor = Awaited<ReturnType<tf.Optimizer['getWeights']>>[number];

export interface OptimizerState {
  optimizer: Hyperparameters['optimizer'];
  /** In the optimizer's own order: tfjs matches slots to variables by position, not by name. */
  weights: NamedTensor[];
}

/** The two files that hold the compiled model's optimizer state. */
export async function optimizerFiles(
  optimizer: tf.Optimizer,
  name: Hyperparameters['optimizer'],
): Promise<Array<[string, Uint8Array]>> {
  const weights = await optimizer.getWeights();
  const { data, specs } = await tf.io.encodeWeights(weights);
  // The iteration count is a fresh scalar, and so are the native Adam's moments (read from
  // TensorFlow's variables); tfjs's optimizers hand out their live variables.
  for (const w of weights) if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
  const file: OptimizerStateFile = {
    optimizer: name,
    weights: specs.map(({ name, shape, dtype }) => ({ name, shape, dtype: dtype as 'float32' | 'int32' })),
  };
  return [
    [FILES.optimizer, Buffer.from(JSON.stringify(file))],
    [FILES.optimizerWeights, new Uint8Array(tf.io.concatenateArrayBuffers([data].flat()))],
  ];
}

/** Decodes optimizer.json (validated) and optimizer.bin. */
export function decodeOptimizerState(file: OptimizerStateFile, bin: Uint8Array): OptimizerState {
  const buffer = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
  // Slot names repeat across optimizers' conventions, never within one: decoding by name is safe,
  // and the order is taken from the specs.
  const decoded = tf.io.decodeWeights(buffer, file.weights);
  return {
    optimizer: file.optimizer,
    weights: file.weights.map((s) => ({ name: s.name, tensor: decoded[s.name]! })),
  };
}

/**
 * Why `state` cannot continue training `model` with `optimizer`, or undefined when it can: the
 * same optimizer, and every slot variable shaped like the trainable weight it belongs to (slots
 * come in groups of one per trainable weight, in the weights' order, after the iteration count).
 */
export function optimizerStateProblem(
  state: OptimizerState,
  model: tf.LayersModel,
  optimizer: Hyperparameters['optimizer'],
): string | undefined {
  if (state.optimizer !== optimizer)
    return `it was trained with the ${state.optimizer} optimizer, whose state cannot continue with ${optimizer}`;
  const slots = state.weights.slice(1);
  const trainable = model.trainableWeights;
  if (slots.length === 0) return undefined; // no step taken yet, or an optimizer without slots (sgd)
  if (slots.length % trainable.length !== 0)
    return `its optimizer state has ${slots.length} slot variables for ${trainable.length} trainable weights`;
  for (const [i, slot] of slots.entries()) {
    const want = trainable[i % trainable.length]!.shape.join('x');
    if (slot.tensor.shape.join('x') !== want)
      return `optimizer slot ${slot.name} is ${slot.tensor.shape.join('x')}, the weight it belongs to ${want}`;
  }
  return undefined;
}

/** Puts the state into the compiled model's optimizer (which copies it into variables of its own). */
export async function restoreOptimizer(model: tf.LayersModel, state: OptimizerState): Promise<void> {
  await model.optimizer.setWeights(state.weights);
  disposeOptimizerState(state);
}

export function disposeOptimizerState(state: OptimizerState | undefined): void {
  for (const w of state?.weights ?? []) w.tensor.dispose();
}
