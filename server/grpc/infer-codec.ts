// ModelInferRequest read straight from its protobuf bytes, for the hot method: @grpc/proto-loader
// decodes a message with protobufjs and then copies it into a plain object (toObject), one
// JavaScript number at a time for a packed fp32_contents of 25,088 floats — a quarter of a
// 32-image gRPC call's CPU. This reader produces the object proto-loader would (LOADER_OPTIONS:
// field names as in the .proto, 64-bit integers as decimal strings, absent fields as defaults,
// oneofs named) except that fp32_contents and fp64_contents are Float32Array/Float64Array copied
// from the packed bytes in one go, and bytes fields are views of the message. Unknown fields are
// skipped as protobuf requires; anything truncated or malformed throws, and the listener answers
// INVALID_ARGUMENT as for any undecodable message. infer-codec.test.ts holds it to protobufjs.
import type { InferParameter__Output } from './generated/inference/InferParameter.ts';
import type { InferTensorContents__Output } from './generated/inference/InferTensorContents.ts';
import type { ModelInferRequest__Output } from './generated/inference/ModelInferRequest.ts';

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  /** A varint of up to 32 significant bits (longer ones are read in full and truncated, as protobuf does). */
  uint32(): number {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++] as number;
      if (shift < 32) value |= (b & 0x7f) << shift;
      if (b < 0x80) return value >>> 0;
    }
    throw new Error('varint longer than 10 bytes');
  }

  /** A 64-bit varint as a BigInt of its two's-complement bits. */
  uint64(): bigint {
    let value = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++] as number;
      value |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, value);
    }
    throw new Error('varint longer than 10 bytes');
  }

  int64String(): string {
    return BigInt.asIntN(64, this.uint64()).toString();
  }

  uint64String(): string {
    return this.uint64().toString();
  }

  /** The bounds of a length-delimited field's payload; the reader moves past it. */
  delimited(): [number, number] {
    const length = this.uint32();
    const start = this.pos;
    if (length > this.end - start) throw new Error(`a length of ${length} runs past the message`);
    this.pos = start + length;
    return [start, this.pos];
  }

  string(): string {
    const [start, end] = this.delimited();
    return this.buf.toString('utf8', start, end);
  }

  bytes(): Buffer {
    const [start, end] = this.delimited();
    return this.buf.subarray(start, end);
  }

  skip(wireType: number): void {
    switch (wireType) {
      case VARINT:
        this.uint64();
        return;
      case FIXED64:
        this.advance(8);
        return;
      case LENGTH_DELIMITED:
        this.delimited();
        return;
      case FIXED32:
        this.advance(4);
        return;
      default:
        throw new Error(`wire type ${wireType} is not supported`);
    }
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw new Error('truncated fixed-width field');
    this.pos += n;
  }
}

/** Runs `field(number, wireType)` for each field of the message between `start` and `end`. */
function fields(r: Reader, field: (number: number, wireType: number) => void): void {
  while (r.pos < r.end) {
    const tag = r.uint32();
    const number = tag >>> 3;
    if (number === 0) throw new Error('field number 0');
    field(number, tag & 7);
  }
}

function expect(wireType: number, want: number, name: string): void {
  if (wireType !== want) throw new Error(`${name} has wire type ${wireType}, not ${want}`);
}

/** A repeated scalar field, packed (one length-delimited run) or not (one element per tag). */
function repeated<T>(r: Reader, wireType: number, element: number, read: (r: Reader) => T, out: T[]): void {
  if (wireType === LENGTH_DELIMITED && element !== LENGTH_DELIMITED) {
    const [start, end] = r.delimited();
    const inner = new Reader(r.buf, start, end);
    while (inner.pos < inner.end) out.push(read(inner));
    return;
  }
  expect(wireType, element, 'a repeated element');
  out.push(read(r));
}

const float32 = (r: Reader) => {
  const v = r.buf.readFloatLE(r.pos);
  r.pos += 4;
  return v;
};
const float64 = (r: Reader) => {
  const v = r.buf.readDoubleLE(r.pos);
  r.pos += 8;
  return v;
};

/**
 * A packed float/double run copied into a typed array at once (the common case); an unpacked or
 * split field (legal, rare) is gathered element by element and appended.
 */
type FloatArray = Float32Array | Float64Array;

function floats(
  r: Reader,
  wireType: number,
  previous: FloatArray,
  Typed: Float32ArrayConstructor | Float64ArrayConstructor,
  read: (r: Reader) => number,
): FloatArray {
  const size = Typed.BYTES_PER_ELEMENT;
  let added: ArrayLike<number>;
  if (wireType === LENGTH_DELIMITED) {
    const [start, end] = r.delimited();
    if ((end - start) % size !== 0)
      throw new Error(`a packed run of ${end - start} bytes is not ${size}-byte values`);
    const run = new Typed((end - start) / size);
    new Uint8Array(run.buffer).set(r.buf.subarray(start, end));
    if (previous.length === 0) return run;
    added = run;
  } else {
    expect(wireType, size === 4 ? FIXED32 : FIXED64, 'a float element');
    if (r.end - r.pos < size) throw new Error('truncated fixed-width field');
    added = [read(r)];
  }
  const out = new Typed(previous.length + added.length);
  out.set(previous);
  out.set(added, previous.length);
  return out;
}

/** The floating-point fields of InferTensorContents, by field number. */
const FLOAT_FIELDS = {
  6: { field: 'fp32_contents', Typed: Float32Array, read: float32 },
  7: { field: 'fp64_contents', Typed: Float64Array, read: float64 },
} as const;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function contents(r: Reader, into: InferTensorContents__Output | null): InferTensorContents__Output {
  const c =
    into ??
    ({
      bool_contents: [],
      int_contents: [],
      int64_contents: [],
      uint_contents: [],
      uint64_contents: [],
      fp32_contents: new Float32Array(0) as unknown as number[],
      fp64_contents: new Float64Array(0) as unknown as number[],
      bytes_contents: [],
    } satisfies InferTensorContents__Output);
  fields(r, (n, w) => {
    switch (n) {
      case 1:
        return repeated(r, w, VARINT, (x) => x.uint64() !== 0n, c.bool_contents);
      case 2:
        return repeated(r, w, VARINT, (x) => x.uint32() | 0, c.int_contents);
      case 3:
        return repeated(r, w, VARINT, (x) => x.int64String(), c.int64_contents);
      case 4:
        return repeated(r, w, VARINT, (x) => x.uint32(), c.uint_contents);
      case 5:
        return repeated(r, w, VARINT, (x) => x.uint64String(), c.uint64_contents);
      case 6:
      case 7: {
        const { field, Typed, read } = FLOAT_FIELDS[n];
        c[field] = floats(r, w, c[field] as unknown as FloatArray, Typed, read) as unknown as number[];
        return;
      }
      case 8:
        expect(w, LENGTH_DELIMITED, 'bytes_contents');
        c.bytes_contents.push(r.bytes());
        return;
      default:
        r.skip(w);
    }
  });
  return c;
}

function parameter(r: Reader): InferParameter__Output {
  const p: InferParameter__Output = {};
  fields(r, (n, w) => {
    if (n === 1 && w === VARINT) {
      p.bool_param = r.uint64() !== 0n;
      p.parameter_choice = 'bool_param';
    } else if (n === 2 && w === VARINT) {
      p.int64_param = r.int64String();
      p.parameter_choice = 'int64_param';
    } else if (n === 3 && w === LENGTH_DELIMITED) {
      p.string_param = r.string();
      p.parameter_choice = 'string_param';
    } else r.skip(w);
  });
  return p;
}

/** One map<string, InferParameter> entry (key = 1, value = 2) into `map`. */
function parameterEntry(r: Reader, map: Record<string, InferParameter__Output>): void {
  let key = '';
  let value: InferParameter__Output = {};
  fields(r, (n, w) => {
    if (n === 1 && w === LENGTH_DELIMITED) key = r.string();
    else if (n === 2 && w === LENGTH_DELIMITED) value = parameter(sub(r));
    else r.skip(w);
  });
  map[key] = value;
}

/** A reader of the length-delimited field at `r` (which moves past it). */
function sub(r: Reader): Reader {
  const [start, end] = r.delimited();
  return new Reader(r.buf, start, end);
}

type Input = ModelInferRequest__Output['inputs'][number];
type Output = ModelInferRequest__Output['outputs'][number];

function input(r: Reader): Input {
  const t: Input = { name: '', datatype: '', shape: [], parameters: {}, contents: null };
  fields(r, (n, w) => {
    if (n === 1 && w === LENGTH_DELIMITED) t.name = r.string();
    else if (n === 2 && w === LENGTH_DELIMITED) t.datatype = r.string();
    else if (n === 3) repeated(r, w, VARINT, (x) => x.int64String(), t.shape);
    else if (n === 4 && w === LENGTH_DELIMITED) parameterEntry(sub(r), t.parameters);
    else if (n === 5 && w === LENGTH_DELIMITED) t.contents = contents(sub(r), t.contents);
    else r.skip(w);
  });
  return t;
}

function output(r: Reader): Output {
  const o: Output = { name: '', parameters: {} };
  fields(r, (n, w) => {
    if (n === 1 && w === LENGTH_DELIMITED) o.name = r.string();
    else if (n === 2 && w === LENGTH_DELIMITED) parameterEntry(sub(r), o.parameters);
    else r.skip(w);
  });
  return o;
}

export function decodeModelInferRequest(bytes: Buffer): ModelInferRequest__Output {
  if (!LITTLE_ENDIAN) throw new Error('this reader needs a little-endian host');
  const r = new Reader(bytes, 0, bytes.length);
  const m: ModelInferRequest__Output = {
    model_name: '',
    model_version: '',
    id: '',
    parameters: {},
    inputs: [],
    outputs: [],
    raw_input_contents: [],
  };
  fields(r, (n, w) => {
    if (n === 1 && w === LENGTH_DELIMITED) m.model_name = r.string();
    else if (n === 2 && w === LENGTH_DELIMITED) m.model_version = r.string();
    else if (n === 3 && w === LENGTH_DELIMITED) m.id = r.string();
    else if (n === 4 && w === LENGTH_DELIMITED) parameterEntry(sub(r), m.parameters);
    else if (n === 5 && w === LENGTH_DELIMITED) m.inputs.push(input(sub(r)));
    else if (n === 6 && w === LENGTH_DELIMITED) m.outputs.push(output(sub(r)));
    else if (n === 7 && w === LENGTH_DELIMITED) m.raw_input_contents.push(r.bytes());
    else r.skip(w);
  });
  return m;
}
