// The search algorithms a sweep can name in spec.algorithm. Adding one: a file exporting an
// Algorithm, and a line here.
import { asha } from './asha.ts';
import { gridSearch } from './grid.ts';
import { randomSearch } from './random.ts';
import { InvalidSpaceError } from './space.ts';
import { tpe } from './tpe.ts';
import type { Algorithm, SuggestContext, Suggestion } from './types.ts';

export const ALGORITHMS = {
  grid: gridSearch,
  random: randomSearch,
  tpe,
  asha,
} as const satisfies Record<string, Algorithm>;

export type AlgorithmName = keyof typeof ALGORITHMS;

/** The next trial of a sweep; an unsearchable space comes back as an `invalid` suggestion naming the field. */
export function suggest(name: AlgorithmName, ctx: SuggestContext): Suggestion {
  try {
    return ALGORITHMS[name].suggest(ctx);
  } catch (err) {
    if (err instanceof InvalidSpaceError) return { kind: 'invalid', field: err.field, message: err.message };
    throw err;
  }
}

export { InvalidSpaceError, type ParameterSpec, searchSpace } from './space.ts';
export type * from './types.ts';
