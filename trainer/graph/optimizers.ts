// Optimizer updates as functional graphs: weights and optimizer state go in, new values come out
// (no TensorFlow variables, so the SavedModel has no checkpoint). Each keeps the optimizer state
// in tfjs's layout so that a checkpoint (trainer/optimizer-state.ts) reads and restores it the
// same with either step.
import type * as tf from '@tensorflow/tfjs';
import type { GraphBuilder } from './builder.ts';

export interface OptimizerGraph {
  /** State tensors per weight, in tfjs's getWeights() order (all first slots, then all second...). */
  slots: number;
  /** Graph inputs shared by every weight's update (the step number), built once per graph. */
  shared(g: GraphBuilder): Record<string, string>;
  update(
    g: GraphBuilder,
    shared: Record<string, string>,
    w: string,
    grad: string,
    state: string[],
  ): { w: string; state: string[] };
}

interface AdamLike {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

// tfjs's Adam: w -= lr * m̂ / (sqrt(v̂) + epsilon), with m̂ = m / (1 - beta1^t), v̂ = v / (1 - beta2^t);
// written as ResourceApplyAdam does (trainer/native-adam.ts) with epsilon * sqrt(1 - beta2^t)
// in its place, so the graph step follows the eager one to float rounding.
function adam(o: AdamLike): OptimizerGraph {
  return {
    slots: 2,
    shared(g) {
      const t = g.placeholder('step', []);
      const one = g.scalar(1);
      const beta2Power = g.f('Pow', [g.scalar(o.beta2), t]);
      const sqrt1MinusBeta2Power = g.f('Sqrt', [g.f('Sub', [one, beta2Power])]);
      const oneMinusBeta1Power = g.f('Sub', [one, g.f('Pow', [g.scalar(o.beta1), t])]);
      return {
        t,
        lr: g.f('RealDiv', [
          g.f('Mul', [g.scalar(o.learningRate), sqrt1MinusBeta2Power]),
          oneMinusBeta1Power,
        ]),
        epsilon: g.f('Mul', [g.scalar(o.epsilon), sqrt1MinusBeta2Power]),
        oneMinusBeta1: g.scalar(1 - o.beta1),
        oneMinusBeta2: g.scalar(1 - o.beta2),
      };
    },
    update(g, s, w, grad, [m, v]) {
      const m2 = g.f('AddV2', [m!, g.f('Mul', [g.f('Sub', [grad, m!]), s.oneMinusBeta1!])]);
      const v2 = g.f('AddV2', [v!, g.f('Mul', [g.f('Sub', [g.f('Square', [grad]), v!]), s.oneMinusBeta2!])]);
      const step = g.f('RealDiv', [g.f('Mul', [s.lr!, m2]), g.f('AddV2', [g.f('Sqrt', [v2]), s.epsilon!])]);
      return { w: g.f('Sub', [w, step]), state: [m2, v2] };
    },
  };
}

function sgd(o: { learningRate: number }): OptimizerGraph {
  return {
    slots: 0,
    shared: (g) => ({ t: g.placeholder('step', []), lr: g.scalar(o.learningRate) }),
    update: (g, s, w, grad) => ({ w: g.f('Sub', [w, g.f('Mul', [s.lr!, grad])]), state: [] }),
  };
}

/** The optimizer's graph, or why there is none. */
export function optimizerGraph(optimizer: tf.Optimizer): OptimizerGraph | string {
  const name = optimizer.getClassName();
  const config = optimizer as unknown as AdamLike;
  if (name === 'Adam') return adam(config);
  if (name === 'SGD') return sgd(config);
  return `optimizer ${name}`;
}
