// Turning JSON tensors (TF Serving's nested arrays, the Open Inference Protocol's flat or nested
// `data`) into typed buffers, checking every element: the model must never see a NaN, a string in
// a number column or a ragged batch. Error messages name the JSON path of the first bad element.
import { DATATYPES } from '../../api/artifact.ts';
import { ServeError } from '../errors.ts';

export { DATATYPES };
export type Datatype = (typeof DATATYPES)[number];

/** A model input or output as the artifact's manifest declares it (-1: any size; dim 0 is the batch). */
export interface TensorSpec {
  name: string;
  shape: number[];
  datatype: string;
}

/** A whole batch of one input, flattened row-major. */
export type TensorValues = Float32Array | string[];
export interface DecodedTensor {
  shape: number[];
  values: TensorValues;
}

/** The largest finite float32, for the FP16/FP32 overflow check. */
export const FLOAT32_MAX = 3.4028234663852886e38;

const INTEGER_RANGES: Partial<Record<Datatype, [number, number]>> = {
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** The client datatypes a model input of `modelType` accepts: any real number type for a float input. */
export function acceptsDatatype(modelType: string, clientType: Datatype): boolean {
  if (modelType === 'BYTES') return clientType === 'BYTES';
  if (clientType === 'BYTES' || clientType === 'BOOL') return modelType === clientType;
  return true;
}

/** Throws InvalidDatatype unless `datatype` is a datatype and the input accepts it. */
export function checkDatatype(
  spec: TensorSpec,
  datatype: string,
  path: string,
): asserts datatype is Datatype {
  if (!(DATATYPES as readonly string[]).includes(datatype)) {
    throw new ServeError(
      'InvalidDatatype',
      `${path}: unknown datatype "${datatype}"; one of ${DATATYPES.join(', ')}`,
    );
  }
  if (!acceptsDatatype(spec.datatype, datatype as Datatype)) {
    throw new ServeError(
      'InvalidDatatype',
      `${path}: datatype ${datatype} is not accepted by input "${spec.name}" (${spec.datatype})`,
    );
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number') return String(v);
  return typeof v === 'object' ? 'an object' : String(v);
}

/**
 * Walks a nested array, checks that it is rectangular and collects its leaves. Returns the shape
 * (a scalar has shape []).
 */
export function flattenNested(value: unknown, path: string, leaves: unknown[]): number[] {
  const shape: number[] = [];
  let leafDepth = -1;
  const walk = (v: unknown, depth: number, p: string): void => {
    if (Array.isArray(v)) {
      if (leafDepth >= 0 && depth >= leafDepth) {
        throw new ServeError(
          'InvalidShape',
          `${p}: expected a scalar at depth ${leafDepth}, got an array (ragged tensor)`,
        );
      }
      if (shape.length === depth) shape.push(v.length);
      else if (shape[depth] !== v.length) {
        throw new ServeError(
          'InvalidShape',
          `${p}: has ${v.length} elements but its siblings have ${shape[depth]} (ragged tensor)`,
        );
      }
      for (let i = 0; i < v.length; i++) walk(v[i], depth + 1, `${p}[${i}]`);
      return;
    }
    if (leafDepth < 0) leafDepth = depth;
    else if (depth !== leafDepth) {
      throw new ServeError(
        'InvalidShape',
        `${p}: expected an array at depth ${depth}, got ${describe(v)} (ragged tensor)`,
      );
    }
    leaves.push(v);
  };
  walk(value, 0, path);
  // An empty array has no leaves: its depth is the shape so far.
  return shape;
}

export function checkNumber(v: unknown, datatype: Datatype, p: () => string): number {
  if (typeof v !== 'number') {
    throw new ServeError('InvalidValue', `${p()}: expected a number (${datatype}), got ${describe(v)}`);
  }
  if (!Number.isFinite(v)) throw new ServeError('InvalidValue', `${p()}: ${v} is not a finite number`);
  const range = INTEGER_RANGES[datatype];
  if (range) {
    if (!Number.isInteger(v))
      throw new ServeError('InvalidValue', `${p()}: ${v} is not an integer (${datatype})`);
    if (v < range[0] || v > range[1])
      throw new ServeError('InvalidValue', `${p()}: ${v} is out of range for ${datatype}`);
  } else if (datatype === 'FP16' || datatype === 'FP32') {
    if (Math.abs(v) > FLOAT32_MAX) {
      throw new ServeError('InvalidValue', `${p()}: ${v} overflows ${datatype}`);
    }
  }
  return v;
}

/** Typed values of the leaves, checked against the client's declared datatype. */
export function typedValues(leaves: unknown[], datatype: Datatype, path: string): TensorValues {
  const at = (i: number) => () => `${path}: element ${i}`;
  if (datatype === 'BYTES') {
    const out: string[] = new Array(leaves.length);
    for (let i = 0; i < leaves.length; i++) {
      const v = leaves[i];
      if (typeof v !== 'string')
        throw new ServeError('InvalidValue', `${at(i)()}: expected a string (BYTES), got ${describe(v)}`);
      out[i] = v;
    }
    return out;
  }
  const out = new Float32Array(leaves.length);
  for (let i = 0; i < leaves.length; i++) {
    const v = leaves[i];
    if (datatype === 'BOOL') {
      if (typeof v !== 'boolean')
        throw new ServeError('InvalidValue', `${at(i)()}: expected a boolean (BOOL), got ${describe(v)}`);
      out[i] = v ? 1 : 0;
    } else {
      out[i] = checkNumber(v, datatype, at(i));
    }
  }
  return out;
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Checks a client shape (batch included) against the model's declared shape. */
export function checkShape(spec: TensorSpec, shape: readonly number[], what: string): void {
  const want = spec.shape;
  const show = (s: readonly number[]) => `[${s.join(', ')}]`;
  if (shape.length !== want.length) {
    throw new ServeError(
      'InvalidShape',
      `${what}: shape ${show(shape)} has rank ${shape.length}; input "${spec.name}" needs rank ${want.length}, shape ${show(want)} (-1: any size)`,
    );
  }
  for (let d = 1; d < want.length; d++) {
    const w = want[d] as number;
    if (w >= 0 && shape[d] !== w) {
      throw new ServeError(
        'InvalidShape',
        `${what}: shape ${show(shape)} does not match input "${spec.name}" shape ${show(want)} at dimension ${d}`,
      );
    }
  }
  if (shape[0] === 0)
    throw new ServeError('InvalidShape', `${what}: the batch is empty (shape ${show(shape)})`);
}

/** The Open Inference Protocol's client datatype for a model datatype when none is given (TF Serving). */
export function defaultClientDatatype(spec: TensorSpec): Datatype {
  return spec.datatype === 'BYTES' ? 'BYTES' : 'FP64';
}

/**
 * Decodes one tensor whose leaves are JSON values of `datatype`, nested or flat, against the
 * model's input spec. With `shape`, the data may be flat (row-major) or nested to that shape (the
 * Open Inference Protocol allows both); without it the nesting is the shape (TF Serving).
 */
export function decodeTensor(
  spec: TensorSpec,
  data: unknown,
  datatype: string,
  path: string,
  declaredShape?: readonly number[],
): DecodedTensor {
  checkDatatype(spec, datatype, path);
  const fast = fillNumbers(data, datatype);
  const leaves: unknown[] = [];
  const nested = fast ? fast.shape : flattenNested(data, path, leaves);
  const count = fast ? fast.values.length : leaves.length;
  let shape: number[];
  if (declaredShape) {
    shape = [...declaredShape];
    const want = elementCount(shape);
    const isFlat = nested.length === 1;
    const sameShape = nested.length === shape.length && nested.every((d, i) => d === shape[i]);
    if (!sameShape && !(isFlat && count === want)) {
      throw new ServeError(
        'InvalidShape',
        `${path}: data has ${count} elements (nested as [${nested.join(', ')}]) but shape [${shape.join(', ')}] needs ${want}`,
      );
    }
  } else {
    shape = nested;
  }
  checkShape(spec, shape, path);
  return { shape, values: fast ? fast.values : typedValues(leaves, datatype, path) };
}

/**
 * The common case in one pass: a rectangular (nested) array of valid numbers of a numeric
 * datatype, written straight into a Float32Array, with no leaf list and no per-element JSON path.
 * Anything else (BOOL, BYTES, an empty or ragged array, a bad value) answers undefined, and
 * decodeTensor takes the checking path, which names the first bad element exactly as before.
 * Accepts exactly what flattenNested + typedValues accept, with the same values.
 */
export function fillNumbers(
  data: unknown,
  datatype: Datatype,
): { shape: number[]; values: Float32Array } | undefined {
  if (datatype === 'BOOL' || datatype === 'BYTES') return undefined;
  const shape: number[] = [];
  let v: unknown = data;
  while (Array.isArray(v)) {
    if (v.length === 0) return undefined;
    shape.push(v.length);
    v = v[0];
  }
  if (shape.length === 0) return undefined;
  const range = INTEGER_RANGES[datatype];
  const bounds: LeafBounds = range
    ? { integer: true, lo: range[0], hi: range[1] }
    : {
        integer: false,
        lo: datatype === 'FP16' || datatype === 'FP32' ? -FLOAT32_MAX : -Infinity,
        hi: datatype === 'FP16' || datatype === 'FP32' ? FLOAT32_MAX : Infinity,
      };
  const values = new Float32Array(elementCount(shape));
  return fillLevel(data, 0, shape, values, 0, bounds) === values.length ? { shape, values } : undefined;
}

interface LeafBounds {
  integer: boolean;
  lo: number;
  hi: number;
}

/**
 * Writes the numbers under `a` (at `depth` of `shape`) from `at` on; answers the next offset, or -1
 * when `a` is not rectangular to `shape` or a leaf is not a valid number. Module-level functions,
 * not closures, so V8 keeps one optimised copy for every request.
 */
function fillLevel(
  a: unknown,
  depth: number,
  shape: readonly number[],
  out: Float32Array,
  at: number,
  bounds: LeafBounds,
): number {
  if (!Array.isArray(a) || a.length !== shape[depth]) return -1;
  if (depth === shape.length - 1) return fillLeaves(a, out, at, bounds);
  for (let i = 0; i < a.length && at >= 0; i++) at = fillLevel(a[i], depth + 1, shape, out, at, bounds);
  return at;
}

function fillLeaves(a: readonly unknown[], out: Float32Array, at: number, bounds: LeafBounds): number {
  const { integer, lo, hi } = bounds;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    // x - x === 0 is false for NaN and ±Infinity (and non-numbers fail the typeof).
    if (typeof x !== 'number' || x - x !== 0 || x < lo || x > hi) return -1;
    if (integer && !Number.isInteger(x)) return -1;
    out[at++] = x;
  }
  return at;
}

/** Concatenates same-kind decoded row blocks into one batch buffer. */
export function concatValues(parts: readonly TensorValues[]): TensorValues {
  if (parts.length === 1) return parts[0] as TensorValues;
  if (typeof (parts[0] as TensorValues)[0] === 'string' || Array.isArray(parts[0])) {
    return ([] as string[]).concat(...(parts as string[][]));
  }
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Float32Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p as Float32Array, off);
    off += p.length;
  }
  return out;
}

/** Rebuilds nested arrays of `shape` from a flat row-major buffer (TF Serving answers nested). */
export function nest(values: ArrayLike<unknown>, shape: readonly number[], offset = 0): unknown {
  if (shape.length === 0) return values[offset];
  const [first, ...rest] = shape as [number, ...number[]];
  const stride = elementCount(rest);
  const out: unknown[] = new Array(first);
  for (let i = 0; i < first; i++)
    out[i] = rest.length === 0 ? values[offset + i] : nest(values, rest, offset + i * stride);
  return out;
}
