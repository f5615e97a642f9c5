// gRPC tensors to and from what the shared decoders (model/tensor.ts, model/raw-tensor.ts) take:
// TensorFlow's TensorProto and the Open Inference Protocol's typed contents become flat JS values
// with a shape, raw bytes stay raw. 64-bit integers arrive as decimal strings (LOADER_OPTIONS).
import { ServeError } from '../errors.ts';
import { decodeNumbers, decodeRawTensor, halfToNumber } from '../model/raw-tensor.ts';
import type { OutputValues } from '../model/served-outputs.ts';
import { type Datatype, type DecodedTensor, decodeTensor, type TensorSpec } from '../model/tensor.ts';
import { DATATYPE_OF_DTYPE } from '../protocols/tfserving.ts';
import type {
  InferTensorContents,
  InferTensorContents__Output,
} from './generated/inference/InferTensorContents.ts';
import type { TensorProto, TensorProto__Output } from './generated/tensorflow/TensorProto.ts';

const MAX_RANK = 16;

/** int64 dimensions → numbers; each a non-negative safe integer. */
export function shapeOf(dims: readonly (string | number)[], path: string): number[] {
  if (dims.length > MAX_RANK) {
    throw new ServeError('InvalidShape', `${path}: rank ${dims.length} is more than ${MAX_RANK} dimensions`);
  }
  return dims.map((d, i) => {
    const n = Number(d);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new ServeError('InvalidShape', `${path}[${i}]: ${d} is not a dimension (a non-negative integer)`);
    }
    return n;
  });
}

const numbers = (values: readonly string[]) => values.map(Number);
const strings = (values: readonly Buffer[]) => values.map((b) => b.toString('utf8'));

type ContentsField = keyof InferTensorContents__Output;

/** Which field of InferTensorContents holds each datatype (FP16 travels raw only). */
const CONTENTS_FIELD: Record<Exclude<Datatype, 'FP16'>, ContentsField> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

export function hasContents(contents: InferTensorContents__Output | null): boolean {
  return contents !== null && Object.values(contents).some((v) => (v as unknown[]).length > 0);
}

/**
 * An InferTensorContents' values for `datatype`: numbers already typed by protobuf, or (BOOL,
 * BYTES) JS values for the JSON decoder. Another field set instead is named.
 */
export function contentsValues(
  contents: InferTensorContents__Output | null,
  datatype: string,
  path: string,
): { numbers: ArrayLike<number> } | { data: unknown[] } {
  if (datatype === 'FP16') {
    throw new ServeError('InvalidDatatype', `${path}: FP16 tensors travel only in raw_input_contents`);
  }
  const field = CONTENTS_FIELD[datatype as Exclude<Datatype, 'FP16'>];
  // An unknown datatype is reported by the decoder, which names the datatypes.
  if (field === undefined || contents === null) return { numbers: [] };
  const other = (Object.keys(contents) as ContentsField[]).find((f) => f !== field && contents[f].length > 0);
  if (contents[field].length === 0 && other !== undefined) {
    throw new ServeError('InvalidDatatype', `${path}: ${datatype} data belongs in ${field}, not ${other}`);
  }
  switch (field) {
    case 'int64_contents':
    case 'uint64_contents':
      return { numbers: numbers(contents[field]) };
    case 'bytes_contents':
      return { data: strings(contents[field]) };
    case 'bool_contents':
      return { data: contents[field] };
    default:
      return { numbers: contents[field] };
  }
}

/** TensorProto's typed field per DataType: numbers, or (DT_BOOL, DT_STRING) JS values. */
const TENSOR_FIELDS: Record<
  string,
  (t: TensorProto__Output) => { numbers: ArrayLike<number> } | { data: unknown[] }
> = {
  DT_FLOAT: (t) => ({ numbers: t.float_val }),
  DT_DOUBLE: (t) => ({ numbers: t.double_val }),
  DT_HALF: (t) => ({ numbers: t.half_val.map(halfToNumber) }),
  DT_INT8: (t) => ({ numbers: t.int_val }),
  DT_INT16: (t) => ({ numbers: t.int_val }),
  DT_INT32: (t) => ({ numbers: t.int_val }),
  DT_UINT8: (t) => ({ numbers: t.int_val }),
  DT_UINT16: (t) => ({ numbers: t.int_val }),
  DT_INT64: (t) => ({ numbers: numbers(t.int64_val) }),
  DT_UINT32: (t) => ({ numbers: t.uint32_val }),
  DT_UINT64: (t) => ({ numbers: numbers(t.uint64_val) }),
  DT_BOOL: (t) => ({ data: t.bool_val }),
  DT_STRING: (t) => ({ data: strings(t.string_val) }),
};

/** A TensorProto decoded against the model's input, from tensor_content or its typed field. */
export function decodeTensorProto(
  spec: TensorSpec,
  tensor: TensorProto__Output,
  path: string,
): DecodedTensor {
  const datatype = DATATYPE_OF_DTYPE[tensor.dtype];
  const values = TENSOR_FIELDS[tensor.dtype];
  if (datatype === undefined || values === undefined) {
    throw new ServeError('InvalidDatatype', `${path}.dtype: ${tensor.dtype} is not a supported DataType`);
  }
  if (tensor.tensor_shape === null || tensor.tensor_shape.unknown_rank) {
    throw new ServeError('InvalidShape', `${path}.tensor_shape: a known shape is required`);
  }
  const shape = shapeOf(
    tensor.tensor_shape.dim.map((d) => d.size),
    `${path}.tensor_shape.dim`,
  );
  if (tensor.tensor_content.length > 0) {
    if (datatype === 'BYTES') {
      throw new ServeError('InvalidDatatype', `${path}.tensor_content: DT_STRING values go in string_val`);
    }
    return decodeRawTensor(spec, tensor.tensor_content, datatype, shape, `${path}.tensor_content`);
  }
  const typed = values(tensor);
  return 'numbers' in typed
    ? decodeNumbers(spec, typed.numbers, datatype, shape, path)
    : decodeTensor(spec, typed.data, datatype, path, shape);
}

/** An output's typed contents (ModelInferResponse) by its datatype. */
export function outputContents(datatype: string, values: OutputValues): InferTensorContents {
  if (datatype === 'BOOL') return { bool_contents: values as boolean[] };
  if (datatype === 'BYTES')
    return { bytes_contents: (values as string[]).map((v) => Buffer.from(v, 'utf8')) };
  return { fp32_contents: Array.from(values as Float32Array) };
}

/** An output as a TensorProto (PredictResponse): float_val, bool_val or string_val by its datatype. */
export function outputTensorProto(datatype: string, shape: number[], values: OutputValues): TensorProto {
  const tensor_shape = { dim: shape.map((size) => ({ size })) };
  if (datatype === 'BOOL') return { dtype: 'DT_BOOL', tensor_shape, bool_val: values as boolean[] };
  if (datatype === 'BYTES') {
    return {
      dtype: 'DT_STRING',
      tensor_shape,
      string_val: (values as string[]).map((v) => Buffer.from(v, 'utf8')),
    };
  }
  return { dtype: 'DT_FLOAT', tensor_shape, float_val: Array.from(values as Float32Array) };
}
