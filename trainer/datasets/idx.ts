// The IDX format of the MNIST files (http://yann.lecun.com/exdb/mnist/): a big-endian header
// (two zero bytes, a type code, the number of dimensions, one uint32 per dimension) followed by
// the values. MNIST ships unsigned bytes; gzip-compressed files are detected by their magic bytes.
import { gunzipSync } from 'node:zlib';
import { TrainerError, TrainerErrorCode } from '../errors.ts';

export interface IdxArray {
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const types: Record<number, { size: number; name: string }> = {
  8: { size: 1, name: 'uint8' },
  9: { size: 1, name: 'int8' },
  11: { size: 2, name: 'int16' },
  12: { size: 4, name: 'int32' },
  13: { size: 4, name: 'float32' },
  14: { size: 8, name: 'float64' },
};

export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

export function parseIdx(input: Buffer, file: string): IdxArray {
  const bad = (why: string) =>
    new TrainerError(TrainerErrorCode.InvalidDataset, `${file}: not an IDX file: ${why}`);
  let buf = input;
  if (isGzip(buf)) {
    try {
      buf = gunzipSync(buf);
    } catch (err) {
      throw bad(`gzip data is corrupt (${(err as Error).message})`);
    }
  }
  if (buf.length < 4) throw bad(`only ${buf.length} bytes`);
  if (buf[0] !== 0 || buf[1] !== 0) throw bad('the magic number does not start with two zero bytes');
  const type = types[buf[2]!];
  if (!type) throw bad(`unknown data type 0x${buf[2]!.toString(16)}`);
  const dims = buf[3]!;
  if (dims === 0) throw bad('zero dimensions');
  const headerSize = 4 + 4 * dims;
  if (buf.length < headerSize) throw bad('the header is truncated');
  const shape: number[] = [];
  for (let i = 0; i < dims; i++) shape.push(buf.readUInt32BE(4 + 4 * i));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = headerSize + count * type.size;
  if (buf.length !== expected) {
    throw bad(
      `shape [${shape.join(', ')}] of ${type.name} needs ${expected} bytes, the file has ${buf.length}`,
    );
  }
  const body = buf.subarray(headerSize);
  return { shape, data: decode(type.name, body, count) };
}

function decode(name: string, body: Buffer, count: number): IdxArray['data'] {
  switch (name) {
    case 'uint8':
      return Uint8Array.from(body);
    case 'int8':
      return Int8Array.from(body, (b) => (b << 24) >> 24);
    default: {
      // Multi-byte IDX values are big-endian; typed arrays are host-endian.
      const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
      if (name === 'int16') return Int16Array.from({ length: count }, (_, i) => view.getInt16(i * 2));
      if (name === 'int32') return Int32Array.from({ length: count }, (_, i) => view.getInt32(i * 4));
      if (name === 'float32') return Float32Array.from({ length: count }, (_, i) => view.getFloat32(i * 4));
      return Float64Array.from({ length: count }, (_, i) => view.getFloat64(i * 8));
    }
  }
}

/** Encodes an unsigned-byte IDX file (what the tests and `hack/` use to publish MNIST-style data). */
export function encodeIdxUint8(shape: number[], data: ArrayLike<number>): Buffer {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = 0x08;
  header[3] = shape.length;
  for (const [i, d] of shape.entries()) header.writeUInt32BE(d, 4 + 4 * i);
  return Buffer.concat([header, Buffer.from(Uint8Array.from(data))]);
}
