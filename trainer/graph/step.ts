// A tfjs-layers model's whole training step (forward pass, loss, gradients, optimizer update) as
// one TensorFlow graph run by one session call per batch, as Keras runs its train_function.
// tfjs's eager step is ~70 separate TensorFlow calls; this is one, and Grappler/oneDNN optimise
// the graph as a whole (docs/decisions/0040-training-step-as-one-graph.md).
//
// While a GraphStep runs, the weights and the optimizer state live in its tensors, not in the
// model: `begin()` takes them from the model and its optimizer, `end()` writes them back, so
// everything that reads the model between epochs (validation, checkpoints, callbacks) sees them.
import * as tf from '@tensorflow/tfjs';
import type { NodeBackend } from '../native-binding.ts';
import { GraphBuilder } from './builder.ts';
import { activationOf, type BuiltLayer, type Gradients, LAYER_GRAPHS } from './layers.ts';
import { buildLoss, lossUnsupported } from './losses.ts';
import { buildMetric, metricUnsupported } from './metrics.ts';
import { type OptimizerGraph, optimizerGraph } from './optimizers.ts';
import { GraphSession } from './session.ts';

type Layer = tf.layers.Layer;
type Config = Record<string, unknown>;

/** The layers of `model` as one chain from its input, or why it is not one. */
function chain(model: tf.LayersModel): Layer[] | string {
  if (model.inputs.length !== 1 || model.outputs.length !== 1)
    return 'a model with several inputs or outputs';
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  let previous = model.inputs[0];
  for (const layer of layers) {
    if (layer.inboundNodes.length !== 1 || (layer.input as tf.SymbolicTensor) !== previous)
      return 'a model that is not a chain of layers';
    previous = layer.output as tf.SymbolicTensor;
  }
  return previous === model.outputs[0] ? layers : 'a model that is not a chain of layers';
}

function layerUnsupported(layer: Layer): string | undefined {
  const graph = LAYER_GRAPHS[layer.getClassName()];
  if (!graph) return `layer ${layer.getClassName()}`;
  const config = layer.getConfig() as Config;
  for (const key of [
    'kernelRegularizer',
    'biasRegularizer',
    'activityRegularizer',
    'kernelConstraint',
    'biasConstraint',
  ])
    if (config[key] != null) return `${key} on layer ${layer.name}`;
  const reason = graph.unsupported(config, layer);
  return reason && `${reason} (layer ${layer.name})`;
}

/** What the graph step cannot express for this compiled model, or undefined when it can. */
export function graphStepUnsupported(model: tf.LayersModel, loss: string): string | undefined {
  if (tf.getBackend() !== 'tensorflow') return `backend ${tf.getBackend()}`;
  if (!model.optimizer) return 'an uncompiled model';
  const layers = chain(model);
  if (typeof layers === 'string') return layers;
  for (const layer of layers) {
    const reason = layerUnsupported(layer);
    if (reason) return reason;
  }
  if (layers.some((l) => l.weights.some((w) => w.dtype !== 'float32'))) return 'non-float32 weights';
  const optimizer = optimizerGraph(model.optimizer);
  if (typeof optimizer === 'string') return optimizer;
  for (const metric of metricNames(model)) {
    const reason = metricUnsupported(metric, loss);
    if (reason) return reason;
  }
  // The loss decides on the last layer's shape (a softmax for the fused cross-entropy).
  const last = layers[layers.length - 1]!;
  return lossUnsupported(loss, activationOf(last.getConfig() as Config), model.outputs[0]!.shape.length);
}

/** The compiled metrics, as the history names them (without the loss). */
export function metricNames(model: tf.LayersModel): string[] {
  return model.metricsNames.filter((n) => n !== 'loss');
}

/** The model that compile() set up: a Sequential's inner LayersModel. */
function trainingModel(model: tf.LayersModel): { collectedTrainableWeights: tf.LayerVariable[] } {
  const inner =
    model instanceof tf.Sequential ? (model as unknown as { model: tf.LayersModel }).model : model;
  return inner as unknown as { collectedTrainableWeights: tf.LayerVariable[] };
}

interface Built {
  session: GraphSession;
  /** Every weight of the model, in the order the graph takes them. */
  weights: tf.LayerVariable[];
  /** Positions in `weights` of the trainable ones, in the optimizer's (collectedTrainableWeights) order. */
  trainable: number[];
  slots: number;
  /** Metric outputs after the loss. */
  metrics: number;
}

function build(
  backend: NodeBackend,
  model: tf.LayersModel,
  lossName: string,
  optimizer: OptimizerGraph,
): Built {
  const layers = chain(model) as Layer[];
  const g = new GraphBuilder();
  const inShape = model.inputs[0]!.shape.map((d) => d ?? -1);
  const outShape = model.outputs[0]!.shape.map((d) => d ?? -1);
  const x = g.placeholder('x', inShape);
  const y = g.placeholder('y', outShape);
  const shared = optimizer.shared(g);
  const weights: tf.LayerVariable[] = [];
  const weightInputs: string[] = [];
  const built: { layer: Layer; built: BuiltLayer; first: number }[] = [];
  let h = x;
  for (const layer of layers) {
    const first = weights.length;
    const inputs = layer.weights.map((w, i) => {
      weights.push(w);
      return g.placeholder(`w${first + i}`, w.shape as number[]);
    });
    weightInputs.push(...inputs);
    const b = LAYER_GRAPHS[layer.getClassName()]!.build(g, layer.getConfig() as Config, h, inputs, layer);
    built.push({ layer, built: b, first });
    h = b.output;
  }
  const loss = buildLoss(g, lossName, built[built.length - 1]!.built, y, outShape.length);
  // Backward, last layer first; the first trainable layer needs no input gradient.
  const firstTrainable = built.findIndex((b) => b.layer.trainable && b.layer.trainableWeights.length > 0);
  const grads = new Map<tf.LayerVariable, string>();
  let d = loss.dOutput;
  for (let i = built.length - 1; i >= 0 && i >= firstTrainable; i--) {
    const { layer, built: b } = built[i]!;
    const r: Gradients = b.backward(d, {
      fromLogits: i === built.length - 1 && loss.fromLogits,
      needInput: i > firstTrainable,
    });
    if (layer.trainable)
      for (const [k, w] of layer.weights.entries()) if (w.trainable) grads.set(w, r.dWeights[k]!);
    d = r.dInput!;
  }
  const trainableVars = trainingModel(model).collectedTrainableWeights;
  const trainable = trainableVars.map((v) => weights.indexOf(v));
  const stateInputs = Array.from({ length: optimizer.slots }, (_, s) =>
    trainable.map((wi) => g.placeholder(`s${s}_${wi}`, weights[wi]!.shape as number[])),
  );
  const metrics = metricNames(model).map((name) => buildMetric(g, name, h, y, outShape.length, lossName));
  const outputs = [loss.loss, ...metrics];
  const newState: string[][] = stateInputs.map(() => []);
  for (const [k, wi] of trainable.entries()) {
    const u = optimizer.update(
      g,
      shared,
      weightInputs[wi]!,
      grads.get(weights[wi]!)!,
      stateInputs.map((s) => s[k]!),
    );
    outputs.push(g.f('Identity', [u.w], {}, `new_w${wi}`));
    for (const [s, t] of u.state.entries()) newState[s]!.push(g.f('Identity', [t], {}, `new_s${s}_${wi}`));
  }
  outputs.push(...newState.flat());
  const inputs = [x, y, shared.t!, ...weightInputs, ...stateInputs.flat()];
  const session = new GraphSession(backend, g.nodes, inputs, outputs);
  return { session, weights, trainable, slots: optimizer.slots, metrics: metrics.length };
}

export class GraphStep {
  private values: tf.Tensor[] = [];
  private state: tf.Tensor[] = [];
  private iterations = 0;

  private constructor(
    private readonly model: tf.LayersModel,
    private readonly built: Built,
  ) {}

  /** The graph step for a compiled model; check graphStepUnsupported() first. */
  static create(backend: NodeBackend, model: tf.LayersModel, loss: string): GraphStep {
    const optimizer = optimizerGraph(model.optimizer) as OptimizerGraph;
    return new GraphStep(model, build(backend, model, loss, optimizer));
  }

  /** Takes the weights from the model and the state from its optimizer. */
  async begin(): Promise<void> {
    this.release();
    this.values = this.built.weights.map((w) => tf.keep(w.read().clone()));
    const saved = await this.model.optimizer.getWeights();
    const n = this.built.trainable.length;
    const slots = this.built.slots;
    if (saved.length === 1 + slots * n) {
      this.iterations = (await saved[0]!.tensor.data())[0]!;
      this.state = saved.slice(1).map((s) => tf.keep(s.tensor.clone()));
    } else {
      this.iterations = saved.length > 0 ? (await saved[0]!.tensor.data())[0]! : 0;
      this.state = Array.from({ length: slots * n }, (_, i) =>
        tf.keep(tf.zerosLike(this.values[this.built.trainable[i % n]!]!)),
      );
    }
    // Fresh reads (the native Adam's, the iteration count) are ours to free; tfjs's own
    // optimizers hand out their variables, which they keep.
    for (const w of saved) if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
  }

  /** One step on a batch; returns the batch's mean loss and metrics (the caller disposes them). */
  trainOnBatch(x: tf.Tensor, y: tf.Tensor): tf.Tensor[] {
    const { trainable, metrics } = this.built;
    const step = tf.scalar(this.iterations + 1);
    const outputs = this.built.session.run([x, y, step, ...this.values, ...this.state]);
    step.dispose();
    const rest = outputs.slice(1 + metrics);
    const n = trainable.length;
    for (const [k, wi] of trainable.entries()) {
      this.values[wi]!.dispose();
      this.values[wi] = rest[k]!;
    }
    tf.dispose(this.state);
    this.state = rest.slice(n);
    this.iterations++;
    return outputs.slice(0, 1 + metrics);
  }

  /** Writes the weights into the model and the state into its optimizer. */
  async end(): Promise<void> {
    for (const [i, w] of this.built.weights.entries()) w.write(this.values[i]!);
    const n = this.built.trainable.length;
    const names = this.built.trainable.map((wi) => this.built.weights[wi]!.originalName);
    const slotNames = ['m', 'v'];
    const iterations = tf.scalar(this.iterations, 'int32');
    try {
      // The native Adam copies these into its variables; this step keeps its own.
      await this.model.optimizer.setWeights([
        { name: 'iter', tensor: iterations },
        ...this.state.map((tensor, i) => ({
          name: `${names[i % n]}/${slotNames[Math.floor(i / n)] ?? i}`,
          tensor,
        })),
      ]);
    } finally {
      iterations.dispose();
    }
  }

  private release(): void {
    tf.dispose(this.values);
    tf.dispose(this.state);
    this.values = [];
    this.state = [];
  }

  dispose(): void {
    this.release();
    this.built.session.dispose();
  }
}
