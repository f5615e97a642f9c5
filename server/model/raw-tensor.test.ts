import { describe, expect, it } from 'vitest';
import { ServeError } from '../errors.ts';
import { decodeNumbers, decodeRawTensor, halfToNumber, rawFloat32, rawOutput } from './raw-tensor.ts';
import type { TensorSpec } from './tensor.ts';

const tabular: TensorSpec = { name: 'input', shape: [-1, 2], datatype: 'FP32' };
const flags: TensorSpec = { name: 'flags', shape: [-1, 2], datatype: 'BOOL' };
const text: TensorSpec = { name: 'text', shape: [-1], datatype: 'BYTES' };

function bytes(write: (b: Buffer) => unknown, size: number): Buffer {
  const b = Buffer.alloc(size);
  write(b);
  return b;
}

/** Writes each value with `write` at its index times `size`. */
function each<T>(values: T[], size: number, write: (b: Buffer, v: T, at: number) => unknown): Buffer {
  return bytes((b) => {
    for (const [i, v] of values.entries()) write(b, v, i * size);
  }, values.length * size);
}

function lengthPrefixed(strings: string[]): Buffer {
  return Buffer.concat(
    strings.flatMap((s) => {
      const data = Buffer.from(s);
      return [bytes((b) => b.writeUInt32LE(data.length), 4), data];
    }),
  );
}

describe('decoding raw tensors', () => {
  it.each([
    [
      'FP32 little-endian floats',
      'FP32',
      each([1.5, -2, 3, 4], 4, (b, v, at) => b.writeFloatLE(v, at)),
      [1.5, -2, 3, 4],
    ],
    ['FP64 doubles', 'FP64', each([0.25, 1, 2, 3], 8, (b, v, at) => b.writeDoubleLE(v, at)), [0.25, 1, 2, 3]],
    [
      'FP16 halves',
      'FP16',
      each([0x3c00, 0xc000, 0x3800, 0], 2, (b, v, at) => b.writeUInt16LE(v, at)),
      [1, -2, 0.5, 0],
    ],
    [
      'INT64 integers',
      'INT64',
      each([-1n, 2n, 3n, 40n], 8, (b, v, at) => b.writeBigInt64LE(v, at)),
      [-1, 2, 3, 40],
    ],
    ['UINT8 bytes', 'UINT8', Buffer.from([0, 255, 7, 8]), [0, 255, 7, 8]],
  ] as const)('decodes %s', (_name, datatype, raw, want) => {
    const t = decodeRawTensor(tabular, raw, datatype, [2, 2], 'x');
    expect(Array.from(t.values as Float32Array)).toEqual(want);
  });

  // The typed-array fast path reads little-endian bytes as they are; a Buffer slice of a larger
  // message (what gRPC and the binary extension hand over) can start at any byte offset.
  it.each([
    ['FP32', 4, (b: Buffer, v: number, at: number) => b.writeFloatLE(v, at), [1.5, -2, 3e38, 0]],
    ['FP64', 8, (b: Buffer, v: number, at: number) => b.writeDoubleLE(v, at), [0.25, -1, 2, 1e300]],
    ['INT8', 1, (b: Buffer, v: number, at: number) => b.writeInt8(v, at), [-128, 0, 5, 127]],
    ['INT16', 2, (b: Buffer, v: number, at: number) => b.writeInt16LE(v, at), [-32768, 0, 5, 32767]],
    ['INT32', 4, (b: Buffer, v: number, at: number) => b.writeInt32LE(v, at), [-(2 ** 31), 0, 5, 2 ** 24]],
    ['UINT16', 2, (b: Buffer, v: number, at: number) => b.writeUInt16LE(v, at), [0, 1, 65535, 7]],
    ['UINT32', 4, (b: Buffer, v: number, at: number) => b.writeUInt32LE(v, at), [0, 1, 2 ** 24, 7]],
  ] as const)('decodes %s at any byte offset of a larger buffer', (datatype, size, write, values) => {
    const want = values.map((v) => Math.fround(v));
    for (const offset of [0, 1, 3]) {
      const message = Buffer.alloc(offset + values.length * size + 2);
      for (const [i, v] of values.entries()) write(message, v, offset + i * size);
      const raw = message.subarray(offset, offset + values.length * size);
      const t = decodeRawTensor(tabular, raw, datatype, [2, 2], 'x');
      expect(Array.from(t.values as Float32Array)).toEqual(want);
    }
  });

  it.each([
    [
      'an FP32 infinity',
      'FP32',
      4,
      (b: Buffer) => b.writeFloatLE(Number.NEGATIVE_INFINITY, 12),
      'element 3: -Infinity',
    ],
    ['an FP64 NaN', 'FP64', 8, (b: Buffer) => b.writeDoubleLE(Number.NaN, 8), 'element 1: NaN'],
  ] as const)('names %s found past the fast path', (_name, datatype, size, write, mentions) => {
    const raw = Buffer.alloc(4 * size);
    write(raw);
    expect(() => decodeRawTensor(tabular, raw, datatype, [2, 2], 'x')).toThrow(mentions);
  });

  it('decodes BOOL bytes for a BOOL input, and refuses a byte that is not 0 or 1', () => {
    expect(
      Array.from(
        decodeRawTensor(flags, Buffer.from([1, 0, 0, 1]), 'BOOL', [2, 2], 'x').values as Float32Array,
      ),
    ).toEqual([1, 0, 0, 1]);
    expect(() => decodeRawTensor(flags, Buffer.from([0, 2, 0, 0]), 'BOOL', [2, 2], 'x')).toThrow(
      'x: element 1: byte 2 is not a BOOL (0 or 1)',
    );
  });

  it('decodes length-prefixed BYTES elements', () => {
    const t = decodeRawTensor(text, lengthPrefixed(['good movie', '', 'é']), 'BYTES', [3], 'x');
    expect(t.values).toEqual(['good movie', '', 'é']);
  });

  it.each([
    [
      'too few bytes for the shape',
      'FP32',
      Buffer.alloc(12),
      'InvalidShape',
      '12 bytes of FP32 data, but shape [2, 2] needs 4 × 4 = 16 bytes',
    ],
    [
      'a NaN',
      'FP32',
      bytes((b) => b.writeFloatLE(Number.NaN, 4), 16),
      'InvalidValue',
      'x: element 1: NaN is not a finite number',
    ],
    ['an infinite half', 'FP16', bytes((b) => b.writeUInt16LE(0x7c00, 0), 8), 'InvalidValue', 'element 0'],
    [
      'an INT64 beyond 2^53',
      'INT64',
      bytes((b) => b.writeBigInt64LE(2n ** 60n, 0), 32),
      'InvalidValue',
      'out of range',
    ],
    ['a datatype the input does not take', 'BYTES', Buffer.alloc(16), 'InvalidDatatype', 'not accepted'],
    ['an unknown datatype', 'FP8', Buffer.alloc(16), 'InvalidDatatype', 'unknown datatype "FP8"'],
  ] as const)('rejects %s', (_name, datatype, raw, code, mentions) => {
    try {
      decodeRawTensor(tabular, raw, datatype, [2, 2], 'x');
    } catch (err) {
      expect(err).toBeInstanceOf(ServeError);
      expect((err as ServeError).code).toBe(code);
      expect((err as ServeError).message).toContain(mentions);
      return;
    }
    throw new Error('expected a ServeError');
  });

  it.each([
    ['a truncated length', Buffer.from([1, 0]), 'truncated 4-byte length'],
    [
      'a length past the end',
      lengthPrefixed(['abc']).subarray(0, 6),
      'says 3 bytes at byte 0 but only 2 remain',
    ],
    ['fewer elements than the shape', lengthPrefixed(['a']), 'holds 1 BYTES elements but the shape needs 2'],
  ])('rejects BYTES with %s', (_name, raw, mentions) => {
    expect(() => decodeRawTensor(text, raw, 'BYTES', [2], 'x')).toThrow(mentions);
  });

  it('encodes float outputs as little-endian FP32 and reads half precision', () => {
    expect(Array.from(rawFloat32(Float32Array.from([1, -0.5])))).toEqual([0, 0, 128, 63, 0, 0, 0, 191]);
    expect(halfToNumber(0x3555)).toBeCloseTo(0.333, 3);
  });
});

describe('decoding numbers a typed wire parsed', () => {
  it('keeps finite floats and integers in range', () => {
    expect(
      Array.from(decodeNumbers(tabular, [0.5, -1, 2, 1e30], 'FP32', [2, 2], 'x').values as Float32Array),
    ).toEqual([0.5, -1, 2, Math.fround(1e30)]);
    expect(
      Array.from(decodeNumbers(tabular, [-128, 0, 7, 127], 'INT8', [2, 2], 'x').values as Float32Array),
    ).toEqual([-128, 0, 7, 127]);
  });

  it.each([
    ['a NaN', [1, Number.NaN, 3, 4], 'FP32', 'x: element 1: NaN is not a finite number'],
    ['an FP32 overflow', [1, 2, 1e39, 4], 'FP32', 'x: element 2: 1e+39 overflows FP32'],
    ['an INT8 out of range', [1, 2, 3, 300], 'INT8', 'x: element 3: 300 is out of range for INT8'],
    [
      'a fraction for an integer type',
      [1, 2.5, 3, 4],
      'INT32',
      'x: element 1: 2.5 is not an integer (INT32)',
    ],
    ['too few values for the shape', [1, 2, 3], 'FP32', 'x: has 3 values but shape [2, 2] needs 4'],
  ])("rejects %s with the JSON path's message", (_name, values, datatype, message) => {
    expect(() => decodeNumbers(tabular, values, datatype, [2, 2], 'x')).toThrow(message);
  });
});

describe('rawOutput', () => {
  // The bytes a client's binary decoder reads back are the ones an input of that type is sent as.
  it.each([
    ['FP32 as little-endian floats', 'FP32', new Float32Array([0.5, -2]), tabular, [1, 2]],
    ['BOOL as one byte each', 'BOOL', [false, true], flags, [1, 2]],
    ['BYTES as length-prefixed UTF-8', 'BYTES', ['hot', 'très froid'], text, [2]],
  ] as const)('writes %s', (_name, datatype, values, spec, shape) => {
    const raw = rawOutput(datatype, values as Float32Array | boolean[] | string[]);
    const decoded = decodeRawTensor(spec, raw, datatype, [...shape], 'output');
    // Inputs decode booleans to the 0/1 the model takes.
    const want = Array.from(values as ArrayLike<unknown>, (v) => (typeof v === 'boolean' ? Number(v) : v));
    expect(Array.from(decoded.values as ArrayLike<unknown>)).toEqual(want);
  });

  it('writes BYTES exactly as the length-prefixed layout', () => {
    expect(rawOutput('BYTES', ['a', 'bc'])).toEqual(lengthPrefixed(['a', 'bc']));
  });
});
