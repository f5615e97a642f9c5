// ModelInferResponse written straight to protobuf bytes, for the hot method: proto-loader's
// serializer runs protobufjs's fromObject (a copy of the message, an array of floats copied one
// number at a time) and then its encoder, for every call. The answers k2k's ModelInfer gives —
// names, a shape, typed contents (fp32, bool, bytes) or raw bytes, no parameters — are written here
// in one pass into one buffer sized first; any other message (parameters, 64-bit or negative
// shape values given as strings, other contents fields) goes to proto-loader's serializer, so the
// result is always a valid encoding. infer-response-codec.test.ts holds it to protobufjs.
import type { InferTensorContents } from './generated/inference/InferTensorContents.ts';
import type { ModelInferResponse } from './generated/inference/ModelInferResponse.ts';

const LENGTH_DELIMITED = 2;
/** The contents fields this encoder writes; any other one non-empty sends the message to the fallback. */
const WRITTEN_CONTENTS = new Set(['fp32_contents', 'bool_contents', 'bytes_contents']);

type Output = NonNullable<ModelInferResponse['outputs']>[number];
type Bytes = Buffer | Uint8Array;

const varintSize = (v: number) => {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
};
/** A length-delimited field's size: its tag (fields 1–15: one byte), the length and the payload. */
const delimitedSize = (length: number) => 1 + varintSize(length) + length;

class Writer {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  varint(v: number): void {
    while (v >= 128) {
      this.buf[this.pos++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  header(field: number, length: number): void {
    this.buf[this.pos++] = (field << 3) | LENGTH_DELIMITED;
    this.varint(length);
  }

  string(field: number, s: string | undefined, size: number): void {
    if (!s) return;
    this.header(field, size);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  bytes(field: number, b: Bytes): void {
    this.header(field, b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

const isEmpty = (o: object | null | undefined) => !o || Object.keys(o).length === 0;
const isBytes = (b: unknown): b is Bytes => b instanceof Uint8Array;

/** True when every field is one this encoder writes. */
function writable(m: ModelInferResponse): boolean {
  if (!isEmpty(m.parameters)) return false;
  if (!(m.raw_output_contents ?? []).every(isBytes)) return false;
  return (m.outputs ?? []).every(
    (o) =>
      isEmpty(o.parameters) &&
      (o.shape ?? []).every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0) &&
      contentsWritable(o.contents),
  );
}

function contentsWritable(c: InferTensorContents | null | undefined): boolean {
  if (!c) return true;
  for (const [key, value] of Object.entries(c)) {
    if (value == null) continue;
    if (!WRITTEN_CONTENTS.has(key)) {
      if ((value as ArrayLike<unknown>).length > 0) return false;
    } else if (key === 'bytes_contents' && !(value as unknown[]).every(isBytes)) return false;
  }
  return true;
}

const utf8 = (s: string | undefined) => (s ? Buffer.byteLength(s, 'utf8') : 0);
const stringSize = (s: string | undefined) => (s ? delimitedSize(utf8(s)) : 0);

/** The sizes of one output's parts, computed once for both passes. */
interface Sized {
  name: number;
  datatype: number;
  shape: number;
  contents: number;
  total: number;
}

function contentsSize(c: InferTensorContents): number {
  let size = 0;
  if (c.bool_contents?.length) size += delimitedSize(c.bool_contents.length);
  if (c.fp32_contents?.length) size += delimitedSize(4 * c.fp32_contents.length);
  for (const b of (c.bytes_contents ?? []) as Bytes[]) size += delimitedSize(b.length);
  return size;
}

function outputSize(o: Output): Sized {
  const name = utf8(o.name);
  const datatype = utf8(o.datatype);
  let shape = 0;
  for (const d of (o.shape ?? []) as number[]) shape += varintSize(d);
  const contents = o.contents ? contentsSize(o.contents) : -1;
  const total =
    (name ? delimitedSize(name) : 0) +
    (datatype ? delimitedSize(datatype) : 0) +
    (shape ? delimitedSize(shape) : 0) +
    (contents >= 0 ? delimitedSize(contents) : 0);
  return { name, datatype, shape, contents, total };
}

function writeContents(w: Writer, c: InferTensorContents): void {
  const bools = c.bool_contents;
  if (bools?.length) {
    w.header(1, bools.length);
    for (const b of bools) w.buf[w.pos++] = b ? 1 : 0;
  }
  const floats = c.fp32_contents;
  if (floats?.length) {
    w.header(6, 4 * floats.length);
    for (let i = 0; i < floats.length; i++, w.pos += 4) w.buf.writeFloatLE(floats[i] as number, w.pos);
  }
  for (const b of (c.bytes_contents ?? []) as Bytes[]) w.bytes(8, b);
}

function writeOutput(w: Writer, o: Output, s: Sized): void {
  w.header(5, s.total);
  w.string(1, o.name, s.name);
  w.string(2, o.datatype, s.datatype);
  if (s.shape) {
    w.header(3, s.shape);
    for (const d of (o.shape ?? []) as number[]) w.varint(d);
  }
  if (o.contents && s.contents >= 0) {
    w.header(5, s.contents);
    writeContents(w, o.contents);
  }
}

/**
 * The message's protobuf bytes; `fallback` (proto-loader's serializer) writes the messages with
 * fields this encoder does not write.
 */
export function encodeModelInferResponse(
  m: ModelInferResponse,
  fallback: (m: ModelInferResponse) => Buffer,
): Buffer {
  if (!writable(m)) return fallback(m);
  const outputs = m.outputs ?? [];
  const raw = (m.raw_output_contents ?? []) as Bytes[];
  const sized = outputs.map(outputSize);
  let size = stringSize(m.model_name) + stringSize(m.model_version) + stringSize(m.id);
  for (const s of sized) size += delimitedSize(s.total);
  for (const b of raw) size += delimitedSize(b.length);
  const w = new Writer(Buffer.allocUnsafe(size));
  w.string(1, m.model_name, utf8(m.model_name));
  w.string(2, m.model_version, utf8(m.model_version));
  w.string(3, m.id, utf8(m.id));
  for (const [i, o] of outputs.entries()) writeOutput(w, o, sized[i]!);
  for (const b of raw) w.bytes(6, b);
  if (w.pos !== size) throw new Error(`ModelInferResponse encoder wrote ${w.pos} bytes of ${size}`);
  return w.buf;
}
