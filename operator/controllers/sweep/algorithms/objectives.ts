// Known objective functions with known optima, and a sequential sweep simulator: the fixtures of
// the algorithm tests and of bench/sweep, kept in one place so both measure the same thing.
import type { AlgorithmName } from './index.ts';
import { suggest } from './index.ts';
import type { Assignment, SearchSpace, Trial } from './types.ts';

export interface Objective {
  name: string;
  space: SearchSpace;
  /** Minimised. */
  f(x: Assignment): number;
  optimum: number;
  /** Reached when f <= optimum + tolerance. */
  tolerance: number;
}

const num = (x: Assignment, k: string) => Number(x[k]);
const p = (i: number) => `spec.parameters[${i}]`;

export const OBJECTIVES: readonly Objective[] = [
  {
    // A bowl over a linear double, an int and a log-scale learning rate.
    name: 'quadratic',
    space: [
      { name: 'x', field: p(0), type: 'double', min: -5, max: 5, scale: 'linear' },
      { name: 'n', field: p(1), type: 'int', min: -10, max: 10, scale: 'linear' },
      { name: 'learningRate', field: p(2), type: 'double', min: 1e-5, max: 1e-1, scale: 'log' },
    ],
    f: (x) =>
      (num(x, 'x') - 1.5) ** 2 + 0.1 * (num(x, 'n') - 3) ** 2 + (Math.log10(num(x, 'learningRate')) + 3) ** 2,
    optimum: 0,
    tolerance: 0.5,
  },
  {
    // Branin–Hoo: three global minima of 0.397887 on [-5, 10] × [0, 15].
    name: 'branin',
    space: [
      { name: 'x1', field: p(0), type: 'double', min: -5, max: 10, scale: 'linear' },
      { name: 'x2', field: p(1), type: 'double', min: 0, max: 15, scale: 'linear' },
    ],
    f: (x) => {
      const x1 = num(x, 'x1');
      const x2 = num(x, 'x2');
      const b = 5.1 / (4 * Math.PI ** 2);
      const c = 5 / Math.PI;
      return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x1) + 10;
    },
    optimum: 0.397887,
    tolerance: 0.1,
  },
  {
    // Mostly categorical, like a real training sweep: the optimizer and activation matter most,
    // the batch size a little, and the best learning rate depends on the optimizer.
    name: 'categorical',
    space: [
      {
        name: 'optimizer',
        field: p(0),
        type: 'categorical',
        values: ['sgd', 'momentum', 'rmsprop', 'adam', 'adagrad'],
      },
      {
        name: 'activation',
        field: p(1),
        type: 'categorical',
        values: ['relu', 'tanh', 'sigmoid', 'elu', 'selu'],
      },
      { name: 'batchSize', field: p(2), type: 'categorical', values: ['16', '32', '64', '128', '256'] },
      { name: 'learningRate', field: p(3), type: 'double', min: 1e-5, max: 1, scale: 'log' },
    ],
    f: (x) => {
      const optimizer = { sgd: 1.2, momentum: 0.6, rmsprop: 0.3, adam: 0, adagrad: 0.9 }[
        String(x.optimizer)
      ]!;
      const bestLogLr = { sgd: -1, momentum: -1.5, rmsprop: -3, adam: -3, adagrad: -2 }[String(x.optimizer)]!;
      const activation = { relu: 0, tanh: 0.5, sigmoid: 1, elu: 0.1, selu: 0.3 }[String(x.activation)]!;
      const batch = { '16': 0.4, '32': 0.1, '64': 0, '128': 0.2, '256': 0.6 }[String(x.batchSize)]!;
      return optimizer + activation + batch + 0.5 * (Math.log10(num(x, 'learningRate')) - bestLogLr) ** 2;
    },
    optimum: 0,
    tolerance: 0.25,
  },
];

/**
 * Runs a sweep one trial at a time and returns how many trials it took to get within tolerance
 * of the optimum, or Infinity when `budget` trials did not.
 */
export function trialsToTarget(
  algorithm: AlgorithmName,
  objective: Objective,
  seed: number,
  budget: number,
): number {
  const trials: Trial[] = [];
  for (let index = 0; index < budget; index++) {
    const s = suggest(algorithm, { seed, space: objective.space, goal: 'minimize', index, trials, budget });
    if (s.kind !== 'trial') return Infinity;
    const value = objective.f(s.parameters);
    trials.push({ index, parameters: s.parameters, state: 'Succeeded', objective: value });
    if (value <= objective.optimum + objective.tolerance) return index + 1;
  }
  return Infinity;
}
