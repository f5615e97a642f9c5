import { describe, expect, it } from 'vitest';
import { ServeError } from '../errors.ts';
import {
  type Datatype,
  decodeTensor,
  fillNumbers,
  flattenNested,
  nest,
  type TensorSpec,
  typedValues,
} from './tensor.ts';

const tabular: TensorSpec = { name: 'input', shape: [-1, 3], datatype: 'FP32' };
const text: TensorSpec = { name: 'text', shape: [-1], datatype: 'BYTES' };

function failure(fn: () => unknown): ServeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ServeError) return err;
    throw err;
  }
  throw new Error('expected a ServeError');
}

describe('decoding tensors', () => {
  it.each([
    [
      'nested rows without a declared shape',
      tabular,
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      'FP64',
      undefined,
      [2, 3],
    ],
    ['flat data with a declared shape', tabular, [1, 2, 3, 4, 5, 6], 'FP32', [2, 3], [2, 3]],
    ['nested data matching the declared shape', tabular, [[1, 2, 3]], 'INT64', [1, 3], [1, 3]],
    ['strings for a BYTES input', text, ['a', 'b'], 'BYTES', [2], [2]],
  ] as const)('accepts %s', (_name, spec, data, datatype, shape, want) => {
    const t = decodeTensor(spec, data, datatype, 'data', shape as number[] | undefined);
    expect(t.shape).toEqual(want);
  });

  it.each([
    [
      'a ragged batch',
      tabular,
      [
        [1, 2, 3],
        [4, 5],
      ],
      'FP64',
      undefined,
      'InvalidShape',
      'data[1]',
    ],
    ['a scalar where rows belong', tabular, 5, 'FP64', undefined, 'InvalidShape', 'rank 0'],
    [
      'an array nested below the leaves',
      tabular,
      [[1, 2, [3]]],
      'FP64',
      undefined,
      'InvalidShape',
      'data[0][2]',
    ],
    ['NaN', tabular, [[1, Number.NaN, 3]], 'FP64', undefined, 'InvalidValue', 'not a finite number'],
    [
      'Infinity',
      tabular,
      [[1, Number.POSITIVE_INFINITY, 3]],
      'FP64',
      undefined,
      'InvalidValue',
      'not a finite number',
    ],
    ['an object leaf', tabular, [[1, {}, 3]], 'FP64', undefined, 'InvalidValue', 'an object'],
    ['a number beyond FP32', tabular, [1e39, 1, 1], 'FP32', [1, 3], 'InvalidValue', 'overflows FP32'],
    ['INT8 overflow', tabular, [1, 2, 300], 'INT8', [1, 3], 'InvalidValue', 'out of range for INT8'],
    ['a non-boolean in BOOL', tabular, [1, 0, 1], 'BOOL', [1, 3], 'InvalidDatatype', 'BOOL'],
    ['a number in a BYTES input', text, [1], 'BYTES', [1], 'InvalidValue', 'expected a string'],
    ['numbers for a BYTES input', text, [1], 'FP32', [1], 'InvalidDatatype', 'not accepted'],
    [
      'a declared shape whose size differs from the data',
      tabular,
      [1, 2, 3],
      'FP32',
      [2, 3],
      'InvalidShape',
      'needs 6',
    ],
  ] as const)('rejects %s', (_name, spec, data, datatype, shape, code, mentions) => {
    const err = failure(() => decodeTensor(spec, data, datatype, 'data', shape as number[] | undefined));
    expect(err.code).toBe(code);
    expect(err.message).toContain(mentions);
  });

  it('nests a flat buffer back into rows', () => {
    expect(nest(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3])).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
  });
});

describe('the numeric fast path', () => {
  /** What the checking path makes of `data`: its values, or undefined where it throws. */
  const checked = (data: unknown, datatype: Datatype) => {
    try {
      const leaves: unknown[] = [];
      const shape = flattenNested(data, 'data', leaves);
      return { shape, values: Array.from(typedValues(leaves, datatype, 'data') as Float32Array) };
    } catch (err) {
      if (err instanceof ServeError) return undefined;
      throw err;
    }
  };

  it.each([
    ['flat numbers', [1, 2.5, -3], 'FP32'],
    [
      'nested rows',
      [
        [1, 2],
        [3, 4],
      ],
      'FP64',
    ],
    [
      'images nested four deep',
      [
        [
          [[0], [255]],
          [[12], [7]],
        ],
      ],
      'FP32',
    ],
    ['integers in range', [0, 255], 'UINT8'],
    ['an integer out of range', [0, 256], 'UINT8'],
    ['a fraction for an integer type', [1.5], 'INT32'],
    ['a float32 overflow', [1e39], 'FP32'],
    ['a large double', [1e39], 'FP64'],
    ['a string among numbers', [1, '2'], 'FP32'],
    ['null among numbers', [1, null], 'FP32'],
    ['a ragged batch', [[1, 2], [3]], 'FP32'],
    [
      'an array where a number belongs',
      [
        [1, 2],
        [3, [4]],
      ],
      'FP32',
    ],
    ['a number where a row belongs', [[1, 2], 3], 'FP32'],
    ['an empty array', [], 'FP32'],
    ['a scalar', 3, 'FP32'],
    ['booleans', [true, false], 'BOOL'],
    ['strings', ['a'], 'BYTES'],
  ] as const)('takes %s exactly as the checking path does', (_name, data, datatype) => {
    const want = checked(data, datatype);
    const fast = fillNumbers(data, datatype);
    if (fast) {
      expect({ shape: fast.shape, values: Array.from(fast.values) }).toEqual(want);
    } else if (want !== undefined) {
      // Declined by the fast path but valid: only the cases it leaves to the checking path.
      expect(['BOOL', 'BYTES'].includes(datatype) || (Array.isArray(data) ? data.length === 0 : true)).toBe(
        true,
      );
    }
    if (want === undefined) expect(fast).toBeUndefined();
  });
});
