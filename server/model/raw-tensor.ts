// Tensors as raw bytes: the Open Inference Protocol's binary tensor extension (REST) and
// raw_input_contents/raw_output_contents (gRPC), and TensorFlow's tensor_content. The layout is
// the same everywhere: the elements row-major, little-endian, no padding; a BYTES element is a
// 4-byte little-endian length followed by its bytes. Every element is checked as the JSON path
// checks it (finite, in range), so the model never sees what JSON could not have sent.
import { ServeError } from '../errors.ts';
import type { OutputValues } from './served-outputs.ts';
import {
  checkDatatype,
  checkNumber,
  checkShape,
  type Datatype,
  type DecodedTensor,
  elementCount,
  FLOAT32_MAX,
  type TensorSpec,
} from './tensor.ts';

/** Bytes per element; BYTES elements are length-prefixed. */
export const BYTE_SIZES: Record<Exclude<Datatype, 'BYTES'>, number> = {
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP16: 2,
  FP32: 4,
  FP64: 8,
};

/** IEEE 754 half precision bits → number. */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function readElement(view: DataView, i: number, datatype: Exclude<Datatype, 'BYTES'>): number | boolean {
  switch (datatype) {
    case 'BOOL': {
      const b = view.getUint8(i);
      if (b > 1) throw new RangeError(`byte ${b} is not a BOOL (0 or 1)`);
      return b === 1;
    }
    case 'UINT8':
      return view.getUint8(i);
    case 'UINT16':
      return view.getUint16(i * 2, true);
    case 'UINT32':
      return view.getUint32(i * 4, true);
    case 'UINT64':
      return Number(view.getBigUint64(i * 8, true));
    case 'INT8':
      return view.getInt8(i);
    case 'INT16':
      return view.getInt16(i * 2, true);
    case 'INT32':
      return view.getInt32(i * 4, true);
    case 'INT64':
      return Number(view.getBigInt64(i * 8, true));
    case 'FP16':
      return halfToNumber(view.getUint16(i * 2, true));
    case 'FP32':
      return view.getFloat32(i * 4, true);
    case 'FP64':
      return view.getFloat64(i * 8, true);
  }
}

function decodeStrings(raw: Uint8Array, count: number, path: string): string[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: string[] = [];
  const decoder = new TextDecoder();
  let at = 0;
  while (at < raw.byteLength) {
    if (at + 4 > raw.byteLength) {
      throw new ServeError(
        'InvalidShape',
        `${path}: element ${out.length} has a truncated 4-byte length at byte ${at}`,
      );
    }
    const length = view.getUint32(at, true);
    if (at + 4 + length > raw.byteLength) {
      throw new ServeError(
        'InvalidShape',
        `${path}: element ${out.length} says ${length} bytes at byte ${at} but only ${raw.byteLength - at - 4} remain`,
      );
    }
    out.push(decoder.decode(raw.subarray(at + 4, at + 4 + length)));
    at += 4 + length;
  }
  if (out.length !== count) {
    throw new ServeError(
      'InvalidShape',
      `${path}: holds ${out.length} BYTES elements but the shape needs ${count}`,
    );
  }
  return out;
}

/** The datatypes whose little-endian bytes a typed array reads as they are. */
type TypedArrayOf = new (
  buffer: ArrayBufferLike,
  byteOffset: number,
  length: number,
) => ArrayLike<number> & ArrayBufferView;
const TYPED_ARRAYS: Partial<Record<Datatype, TypedArrayOf & { BYTES_PER_ELEMENT: number }>> = {
  FP32: Float32Array,
  FP64: Float64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
};

/**
 * The common case without a per-element read: on a little-endian host the bytes are the typed
 * array's, copied once into the model's Float32Array. Integers of these widths are in range by
 * construction; floats need only be finite (a float32 never exceeds FLOAT32_MAX). Undefined when
 * an element is not finite (or the host is big-endian): the element-wise path then names it.
 */
function fastValues(raw: Uint8Array, datatype: Datatype, count: number): Float32Array | undefined {
  const Typed = TYPED_ARRAYS[datatype];
  if (Typed === undefined || !LITTLE_ENDIAN) return undefined;
  if (datatype === 'FP32') {
    const values = new Float32Array(count);
    new Uint8Array(values.buffer).set(raw);
    for (let i = 0; i < count; i++) {
      const v = values[i] as number;
      if (v - v !== 0) return undefined; // NaN or ±Infinity
    }
    return values;
  }
  // A typed array's view needs its element alignment; a misaligned slice is copied first.
  const bytes = raw.byteOffset % Typed.BYTES_PER_ELEMENT === 0 ? raw : new Uint8Array(raw); // (a Buffer's slice() is a view)
  const typed = new Typed(bytes.buffer, bytes.byteOffset, count);
  if (datatype === 'FP64') {
    for (let i = 0; i < count; i++) {
      const v = typed[i] as number;
      if (v - v !== 0) return undefined;
    }
  }
  return Float32Array.from(typed);
}

/** Decodes raw bytes of `datatype` and `shape` against the model's input spec. */
export function decodeRawTensor(
  spec: TensorSpec,
  raw: Uint8Array,
  datatype: string,
  shape: readonly number[],
  path: string,
): DecodedTensor {
  checkDatatype(spec, datatype, path);
  checkShape(spec, shape, path);
  const count = elementCount(shape);
  if (datatype === 'BYTES') return { shape: [...shape], values: decodeStrings(raw, count, path) };
  const size = BYTE_SIZES[datatype];
  if (raw.byteLength !== count * size) {
    throw new ServeError(
      'InvalidShape',
      `${path}: ${raw.byteLength} bytes of ${datatype} data, but shape [${shape.join(', ')}] needs ${count} × ${size} = ${count * size} bytes`,
    );
  }
  const fast = fastValues(raw, datatype as Datatype, count);
  if (fast !== undefined) return { shape: [...shape], values: fast };
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const values = new Float32Array(count);
  const where = (i: number) => () => `${path}: element ${i}`;
  for (let i = 0; i < count; i++) {
    let v: number | boolean;
    try {
      v = readElement(view, i, datatype);
    } catch (err) {
      throw new ServeError('InvalidValue', `${where(i)()}: ${(err as Error).message}`);
    }
    values[i] = typeof v === 'boolean' ? (v ? 1 : 0) : checkNumber(v, datatype, where(i));
  }
  return { shape: [...shape], values };
}

/**
 * Decodes numbers a typed wire already parsed (gRPC's fp32_contents, TensorProto's float_val, …)
 * with the checks of the JSON path, without walking them as nested JSON.
 */
export function decodeNumbers(
  spec: TensorSpec,
  numbers: ArrayLike<number>,
  datatype: string,
  shape: readonly number[],
  path: string,
): DecodedTensor {
  checkDatatype(spec, datatype, path);
  checkShape(spec, shape, path);
  const count = elementCount(shape);
  if (numbers.length !== count) {
    throw new ServeError(
      'InvalidShape',
      `${path}: has ${numbers.length} values but shape [${shape.join(', ')}] needs ${count}`,
    );
  }
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const v = numbers[i] as number;
    // The common case (a finite float for a float type) is checked inline; the rest as JSON's.
    values[i] =
      (datatype === 'FP32' || datatype === 'FP64') && Number.isFinite(v) && Math.abs(v) <= FLOAT32_MAX
        ? v
        : checkNumber(v, datatype, () => `${path}: element ${i}`);
  }
  return { shape: [...shape], values };
}

/** A float output as raw little-endian FP32 bytes (no copy on little-endian hosts). */
export function rawFloat32(values: Float32Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const out = Buffer.alloc(values.byteLength);
  for (let i = 0; i < values.length; i++) out.writeFloatLE(values[i] as number, i * 4);
  return out;
}

/**
 * An output's bytes for the binary tensor extension and raw_output_contents: FP32 little-endian,
 * BOOL one byte per element, BYTES each a 4-byte little-endian length and the UTF-8 bytes.
 */
export function rawOutput(datatype: string, values: OutputValues): Buffer {
  if (datatype === 'BOOL') return Buffer.from((values as boolean[]).map((b) => (b ? 1 : 0)));
  if (datatype === 'BYTES') {
    return Buffer.concat(
      (values as string[]).flatMap((v) => {
        const bytes = Buffer.from(v, 'utf8');
        const length = Buffer.alloc(4);
        length.writeUInt32LE(bytes.length);
        return [length, bytes];
      }),
    );
  }
  return rawFloat32(values as Float32Array);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
