// Forward and backward graphs of tfjs-layers layers, by class name. A layer whose configuration
// these graphs do not reproduce exactly gets a reason instead, and the trainer keeps tfjs's step.
import type * as tf from '@tensorflow/tfjs';
import { attr, type GraphBuilder } from './builder.ts';

export interface Gradients {
  /** The gradient of the layer's input; absent when the caller did not ask for it. */
  dInput?: string;
  /** One per weight, in the order of `layer.weights`. */
  dWeights: string[];
}

export interface BuiltLayer {
  output: string;
  /**
   * Gradients from the gradient of the output, or of the activation's input when `fromLogits`
   * (the softmax's or sigmoid's gradient already folded in by the loss).
   */
  backward(dOutput: string, o: { fromLogits: boolean; needInput: boolean }): Gradients;
}

type LayerConfig = Record<string, unknown>;

interface LayerGraph {
  /** Why the graph cannot reproduce this layer, or undefined when it can. */
  unsupported(config: LayerConfig, layer: tf.layers.Layer): string | undefined;
  build(
    g: GraphBuilder,
    config: LayerConfig,
    input: string,
    weights: string[],
    layer: tf.layers.Layer,
  ): BuiltLayer;
}

interface Activation {
  forward(g: GraphBuilder, z: string): string;
  /** d(z) from d(y), with y the activation's output. */
  backward(g: GraphBuilder, y: string, dy: string): string;
}

const ACTIVATIONS: Record<string, Activation> = {
  linear: { forward: (_g, z) => z, backward: (_g, _y, dy) => dy },
  relu: {
    forward: (g, z) => g.f('Relu', [z]),
    // Relu's output is positive exactly where its input is, so it serves as ReluGrad's features.
    backward: (g, y, dy) => g.f('ReluGrad', [dy, y]),
  },
  sigmoid: { forward: (g, z) => g.f('Sigmoid', [z]), backward: (g, y, dy) => g.f('SigmoidGrad', [y, dy]) },
  tanh: { forward: (g, z) => g.f('Tanh', [z]), backward: (g, y, dy) => g.f('TanhGrad', [y, dy]) },
  softmax: {
    forward: (g, z) => g.f('Softmax', [z]),
    // dz = y * (dy - sum(dy * y, last axis))
    backward: (g, y, dy) => {
      const sum = g.f('Sum', [g.f('Mul', [dy, y]), g.ints([-1])], {
        Tidx: attr.int32,
        keep_dims: attr.bool(true),
      });
      return g.f('Mul', [y, g.f('Sub', [dy, sum])]);
    },
  },
};

export function activationOf(config: LayerConfig): string {
  return (config.activation as string | undefined) ?? 'linear';
}

function checkActivation(config: LayerConfig): string | undefined {
  const a = activationOf(config);
  return a in ACTIVATIONS ? undefined : `activation ${a}`;
}

const inputShapeOf = (layer: tf.layers.Layer) =>
  (layer as unknown as { input: tf.SymbolicTensor }).input.shape.slice(1) as number[];

const nhwc = attr.string('NHWC');

/**
 * A layer of a kernel (Dense, Conv2D), an optional bias and an activation: the forward pass and
 * the backward pass, from the gradient of the output or of the activation's input (`fromLogits`).
 */
function kernelLayer(
  g: GraphBuilder,
  config: LayerConfig,
  bias: string | undefined,
  ops: { forward(): string; dKernel(dz: string): string; dInput(dz: string): string },
): BuiltLayer {
  const useBias = config.useBias !== false;
  const z = ops.forward();
  const pre = useBias ? g.f('BiasAdd', [z, bias!], { data_format: nhwc }) : z;
  const name = activationOf(config);
  const act = ACTIVATIONS[name]!;
  const y = act.forward(g, pre);
  return {
    output: y,
    backward(dOutput, o) {
      const dz = o.fromLogits ? dOutput : act.backward(g, y, dOutput);
      const dWeights = [ops.dKernel(dz)];
      if (useBias) dWeights.push(g.f('BiasAddGrad', [dz], { data_format: nhwc }));
      return { dWeights, ...(o.needInput ? { dInput: ops.dInput(dz) } : {}) };
    },
  };
}

const matMul = (g: GraphBuilder, a: string, b: string, transposeA: boolean, transposeB: boolean) =>
  g.f('MatMul', [a, b], { transpose_a: attr.bool(transposeA), transpose_b: attr.bool(transposeB) });

const dense: LayerGraph = {
  unsupported: (config, layer) =>
    inputShapeOf(layer).length !== 1 ? 'a Dense layer on inputs of rank above 2' : checkActivation(config),
  build: (g, config, x, [kernel, bias]) =>
    kernelLayer(g, config, bias, {
      forward: () => matMul(g, x, kernel!, false, false),
      dKernel: (dz) => matMul(g, x, dz, true, false),
      dInput: (dz) => matMul(g, dz, kernel!, false, true),
    }),
};

/** A reshape to [batch, ...shape]; its gradient is the reverse reshape. */
function reshapeTo(g: GraphBuilder, x: string, shape: number[]): BuiltLayer {
  const y = g.f('Reshape', [x, g.ints([-1, ...shape])], { Tshape: attr.int32 });
  return {
    output: y,
    backward(dOutput, o) {
      if (!o.needInput) return { dWeights: [] };
      return { dWeights: [], dInput: g.f('Reshape', [dOutput, g.shape(x)], { Tshape: attr.int32 }) };
    },
  };
}

const flatten: LayerGraph = {
  unsupported: (config) => (config.dataFormat === 'channelsFirst' ? 'Flatten with channelsFirst' : undefined),
  build: (g, _config, x, _weights, layer) =>
    reshapeTo(g, x, [inputShapeOf(layer).reduce((a, b) => a * b, 1)]),
};

const reshape: LayerGraph = {
  unsupported: (config) =>
    (config.targetShape as (number | null)[]).some((d) => d == null || d < 0)
      ? 'a Reshape with an unknown dimension'
      : undefined,
  build: (g, config, x) => reshapeTo(g, x, config.targetShape as number[]),
};

type Pair = [number, number];
const pair = (v: unknown): Pair => (Array.isArray(v) ? [v[0], v[1]] : [v as number, v as number]);
const padding = (config: LayerConfig) => attr.string(config.padding === 'same' ? 'SAME' : 'VALID');

function convOrPoolUnsupported(config: LayerConfig): string | undefined {
  if (config.dataFormat === 'channelsFirst') return 'channelsFirst';
  if (config.padding !== 'valid' && config.padding !== 'same') return `padding ${String(config.padding)}`;
  return undefined;
}

const conv2d: LayerGraph = {
  unsupported(config) {
    const d = pair(config.dilationRate ?? 1);
    if (d[0] !== 1 || d[1] !== 1) return 'a dilated Conv2D';
    return convOrPoolUnsupported(config) ?? checkActivation(config);
  },
  build(g, config, x, [kernel, bias]) {
    const [sh, sw] = pair(config.strides ?? 1);
    const convAttrs = {
      strides: attr.ints([1, sh, sw, 1]),
      padding: padding(config),
      data_format: nhwc,
      dilations: attr.ints([1, 1, 1, 1]),
      use_cudnn_on_gpu: attr.bool(true),
    };
    return kernelLayer(g, config, bias, {
      forward: () => g.f('Conv2D', [x, kernel!], convAttrs),
      dKernel: (dz) => g.f('Conv2DBackpropFilter', [x, g.shape(kernel!), dz], convAttrs),
      dInput: (dz) => g.f('Conv2DBackpropInput', [g.shape(x), kernel!, dz], convAttrs),
    });
  },
};

const maxPooling2d: LayerGraph = {
  unsupported: convOrPoolUnsupported,
  build(g, config, x) {
    const [ph, pw] = pair(config.poolSize ?? 2);
    const [sh, sw] = pair(config.strides ?? config.poolSize ?? 2);
    const poolAttrs = {
      ksize: attr.ints([1, ph, pw, 1]),
      strides: attr.ints([1, sh, sw, 1]),
      padding: padding(config),
      data_format: nhwc,
    };
    const y = g.f('MaxPool', [x], poolAttrs);
    return {
      output: y,
      backward(dOutput, o) {
        if (!o.needInput) return { dWeights: [] };
        return { dWeights: [], dInput: g.f('MaxPoolGrad', [x, y, dOutput], poolAttrs) };
      },
    };
  },
};

export const LAYER_GRAPHS: Record<string, LayerGraph> = {
  Dense: dense,
  Flatten: flatten,
  Reshape: reshape,
  Conv2D: conv2d,
  MaxPooling2D: maxPooling2d,
};
