// Loss graphs: the mean loss over the batch and the gradient of the model's output (or of its
// softmax's logits, for the fused cross-entropy) that starts the backward pass.
import { attr, type GraphBuilder, output } from './builder.ts';
import type { BuiltLayer } from './layers.ts';

export interface BuiltLoss {
  loss: string;
  /** Gradient of the last layer's output, or of its logits when `fromLogits`. */
  dOutput: string;
  fromLogits: boolean;
}

interface LossGraph {
  /** `activation`: the last layer's; `rank`: its output's, batch axis included. */
  unsupported(activation: string, rank: number): string | undefined;
  build(g: GraphBuilder, last: BuiltLayer, y: string, rank: number): BuiltLoss;
}

/** 1 / (the number of elements of `t`), as a float scalar. */
function reciprocalSize(g: GraphBuilder, t: string): string {
  const size = g.op('Size', [t], { T: attr.float, out_type: attr.int32 });
  return g.f('Reciprocal', [g.toFloat(size, attr.int32)]);
}

// tfjs-layers' epsilon: it clips probabilities to [epsilon, 1 - epsilon] before their log.
const EPSILON = 1e-7;

const clip = (g: GraphBuilder, p: string) =>
  g.f('ClipByValue', [p, g.scalar(EPSILON), g.scalar(1 - EPSILON)]);

const LOSS_GRAPHS: Record<string, LossGraph> = {
  // The trainer's fused loss on the native backend (trainer/native-softmax-xent.ts), clipping
  // included: SoftmaxCrossEntropyWithLogits of log(clip(p)), whose second output is the gradient
  // of the softmax's logits.
  categoricalCrossentropy: {
    // Over the last axis of [batch, classes], as trainer/native-softmax-xent.ts fuses it.
    unsupported: (activation, rank) =>
      activation !== 'softmax'
        ? 'categoricalCrossentropy without a softmax output'
        : rank !== 2
          ? 'categoricalCrossentropy on an output of rank above 2'
          : undefined,
    build(g, last, y) {
      const xent = g.f('SoftmaxCrossEntropyWithLogits', [g.f('Log', [clip(g, last.output)]), y]);
      const perSample = output(xent, 0);
      return {
        loss: g.meanAll(perSample, 1),
        dOutput: g.f('Mul', [output(xent, 1), reciprocalSize(g, perSample)]),
        fromLogits: true,
      };
    },
  },
  // tfjs-layers' binary cross-entropy: sigmoid_cross_entropy_with_logits of log(q / (1 - q)),
  // q = clip(p). Its gradient with respect to the sigmoid's logits is p - y where p is inside the
  // clip range and 0 outside (the clip's gradient), which is what tfjs's chain of ops computes.
  binaryCrossentropy: {
    unsupported: (activation) =>
      activation === 'sigmoid' ? undefined : 'binaryCrossentropy without a sigmoid output',
    build(g, last, y, rank) {
      const p = last.output;
      const q = clip(g, p);
      const z = g.f('Log', [g.f('RealDiv', [q, g.f('Sub', [g.scalar(1), q])])]);
      const perElement = g.f('AddV2', [
        g.f('Sub', [g.f('Relu', [z]), g.f('Mul', [z, y])]),
        g.f('Log1p', [g.f('Exp', [g.f('Neg', [g.f('Abs', [z])])])]),
      ]);
      const inside = g.toFloat(
        g.op('LogicalAnd', [
          g.f('GreaterEqual', [p, g.scalar(EPSILON)]),
          g.f('LessEqual', [p, g.scalar(1 - EPSILON)]),
        ]),
        attr.boolType,
      );
      return {
        loss: g.meanAll(perElement, rank),
        dOutput: g.f('Mul', [g.f('Mul', [g.f('Sub', [p, y]), inside]), reciprocalSize(g, perElement)]),
        fromLogits: true,
      };
    },
  },
  // mean over the last axis, then over the batch: the mean of every element.
  meanSquaredError: {
    unsupported: () => undefined,
    build(g, last, y, rank) {
      const diff = g.f('Sub', [last.output, y]);
      const loss = g.meanAll(g.f('Square', [diff]), rank);
      const two = g.scalar(2);
      return {
        loss,
        dOutput: g.f('Mul', [diff, g.f('Mul', [two, reciprocalSize(g, diff)])]),
        fromLogits: false,
      };
    },
  },
};

export function lossUnsupported(name: string, activation: string, rank: number): string | undefined {
  const graph = LOSS_GRAPHS[name];
  return graph ? graph.unsupported(activation, rank) : `loss ${name}`;
}

/** `rank`: the rank of the model's output, batch axis included. */
export function buildLoss(
  g: GraphBuilder,
  name: string,
  last: BuiltLayer,
  y: string,
  rank: number,
): BuiltLoss {
  return LOSS_GRAPHS[name]!.build(g, last, y, rank);
}
