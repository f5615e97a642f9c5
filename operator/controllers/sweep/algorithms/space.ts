// The search space as the algorithms see it, and the sampling and rounding every algorithm shares.
import type { Random } from './rng.ts';
import type { Assignment, Dimension, NumericDimension, ParameterValue, SearchSpace } from './types.ts';

/** spec.parameters[i] as the API holds it (step and points are the grid's, see the report's schema list). */
export interface ParameterSpec {
  name: string;
  type: 'double' | 'int' | 'categorical';
  min?: number;
  max?: number;
  scale?: 'linear' | 'log';
  step?: number;
  points?: number;
  values?: readonly string[];
}

export class InvalidSpaceError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** The sweep's parameters as dimensions; throws InvalidSpaceError naming the field when one cannot be searched. */
export function searchSpace(parameters: readonly ParameterSpec[], path = 'spec.parameters'): SearchSpace {
  return parameters.map((p, i): Dimension => {
    const field = `${path}[${i}]`;
    if (p.type === 'categorical') {
      if (!p.values?.length)
        throw new InvalidSpaceError(`${field}.values`, 'categorical parameters need values');
      return { name: p.name, field, type: 'categorical', values: p.values };
    }
    const { min, max } = p;
    if (min === undefined || max === undefined || !(min <= max))
      throw new InvalidSpaceError(`${field}.min`, `${p.type} parameters need min <= max`);
    const scale = p.scale ?? 'linear';
    if (scale === 'log' && !(min > 0)) throw new InvalidSpaceError(`${field}.min`, 'log scale needs min > 0');
    if (p.type === 'int' && (!Number.isInteger(min) || !Number.isInteger(max)))
      throw new InvalidSpaceError(`${field}.min`, 'int parameters need integer min and max');
    return { name: p.name, field, type: p.type, min, max, scale, step: p.step, points: p.points };
  });
}

/**
 * Doubles keep 6 significant digits, so the value in the trial's spec, in the sweep's status
 * (a string) and in the algorithm's history are the same number.
 */
export const roundDouble = (x: number): number => Number(x.toPrecision(6));

/** Bounds of a numeric dimension in the space the algorithms search: ints widened by half a step, logs in log. */
export function internalBounds(d: NumericDimension): [number, number] {
  const pad = d.type === 'int' ? 0.5 : 0;
  const lo = d.min - pad;
  const hi = d.max + pad;
  return d.scale === 'log' ? [Math.log(lo), Math.log(hi)] : [lo, hi];
}

export const toInternal = (d: NumericDimension, x: number): number => (d.scale === 'log' ? Math.log(x) : x);

/** The parameter value at internal coordinate u: rounded to the int or to 6 digits, clipped to [min, max]. */
export function fromInternal(d: NumericDimension, u: number): number {
  const x = d.scale === 'log' ? Math.exp(u) : u;
  const v = d.type === 'int' ? Math.round(x) : roundDouble(x);
  // + 0 turns -0 (Math.round(-0.3)) into 0, the number the status string "0" reads back as.
  return Math.min(d.max, Math.max(d.min, v)) + 0;
}

export function sampleUniform(d: Dimension, rng: Random): ParameterValue {
  if (d.type === 'categorical') return d.values[rng.below(d.values.length)]!;
  const [lo, hi] = internalBounds(d);
  return fromInternal(d, lo + rng.next() * (hi - lo));
}

export function sampleAssignment(space: SearchSpace, rng: Random): Assignment {
  return Object.fromEntries(space.map((d) => [d.name, sampleUniform(d, rng)]));
}

/** A trial's value of d as a number or category index, or undefined when it is not in today's space. */
export function numericValue(d: NumericDimension, value: ParameterValue | undefined): number | undefined {
  const x = typeof value === 'string' ? Number(value) : value;
  return x !== undefined && Number.isFinite(x) && x >= d.min && x <= d.max ? x : undefined;
}

export const sameAssignment = (space: SearchSpace, a: Assignment, b: Assignment): boolean =>
  space.every((d) => String(a[d.name]) === String(b[d.name]));
