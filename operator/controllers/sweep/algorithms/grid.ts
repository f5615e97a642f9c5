// Every combination exactly once, in a fixed order: trial i gets combination i (the first
// parameter varies slowest, like nested loops in the order the parameters are listed).
import { InvalidSpaceError, roundDouble } from './space.ts';
import type { Algorithm, Dimension, ParameterValue, SearchSpace, Suggestion } from './types.ts';

/** Beyond this a grid is a mistake (a step far too small), not a search. */
export const MAX_GRID_POINTS = 100_000;

function evenlySpaced(lo: number, hi: number, n: number): number[] {
  if (n === 1) return [lo];
  return Array.from({ length: n }, (_, k) => lo + ((hi - lo) * k) / (n - 1));
}

/** The values grid search visits along one dimension. */
export function gridValues(d: Dimension): ParameterValue[] {
  if (d.type === 'categorical') return [...d.values];
  const round = d.type === 'int' ? Math.round : roundDouble;
  let raw: number[];
  if (d.points !== undefined) {
    if (!Number.isInteger(d.points) || d.points < 1)
      throw new InvalidSpaceError(`${d.field}.points`, 'points must be a positive integer');
    raw =
      d.scale === 'log'
        ? evenlySpaced(Math.log(d.min), Math.log(d.max), d.points).map(Math.exp)
        : evenlySpaced(d.min, d.max, d.points);
  } else {
    if (d.step === undefined && d.type === 'double')
      throw new InvalidSpaceError(`${d.field}.points`, 'grid search needs step or points for a double');
    if (d.step === undefined && d.scale === 'log')
      throw new InvalidSpaceError(`${d.field}.points`, 'grid search needs points on a log scale');
    if (d.step !== undefined && d.scale === 'log')
      throw new InvalidSpaceError(`${d.field}.step`, 'a log-scale grid takes points, not a step');
    const step = d.step ?? 1;
    if (!(step > 0)) throw new InvalidSpaceError(`${d.field}.step`, 'step must be > 0');
    const count = Math.floor((d.max - d.min) / step + 1e-9) + 1;
    if (count > MAX_GRID_POINTS)
      throw new InvalidSpaceError(
        `${d.field}.step`,
        `step makes ${count} points (at most ${MAX_GRID_POINTS})`,
      );
    raw = Array.from({ length: count }, (_, k) => d.min + k * step);
  }
  // Rounding ints can merge neighbours (a log-spaced int range); each value is visited once.
  // + 0 turns -0 (Math.round(-0.5)) into 0, the number the status string "0" reads back as.
  return [...new Set(raw.map((x) => Math.min(d.max, Math.max(d.min, round(x))) + 0))];
}

export interface Grid {
  size: number;
  at(i: number): Record<string, ParameterValue>;
}

export function grid(space: SearchSpace): Grid {
  const axes = space.map((d) => ({ name: d.name, values: gridValues(d) }));
  const size = axes.reduce((n, a) => n * a.values.length, 1);
  if (size > MAX_GRID_POINTS)
    throw new InvalidSpaceError(
      'spec.parameters',
      `the grid has ${size} combinations (at most ${MAX_GRID_POINTS})`,
    );
  return {
    size,
    at(i) {
      const out: Record<string, ParameterValue> = {};
      let rest = i;
      for (let k = axes.length - 1; k >= 0; k--) {
        const { name, values } = axes[k]!;
        out[name] = values[rest % values.length]!;
        rest = Math.floor(rest / values.length);
      }
      return Object.fromEntries(axes.map((a) => [a.name, out[a.name]!]));
    },
  };
}

export const gridSearch: Algorithm = {
  name: 'grid',
  suggest({ space, index }): Suggestion {
    const g = grid(space);
    if (index >= g.size) return { kind: 'exhausted', reason: `all ${g.size} grid combinations were tried` };
    return { kind: 'trial', parameters: g.at(index) };
  },
};
