import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ModelInferRequest } from './generated/inference/ModelInferRequest.ts';
import { decodeModelInferRequest } from './infer-codec.ts';
import { protoMethod } from './protos.ts';

const method = protoMethod<ModelInferRequest, unknown>('inference.GRPCInferenceService', 'ModelInfer');

/** The decoded request with its typed arrays as plain arrays, as proto-loader answers them. */
function plain(value: unknown): unknown {
  if (value instanceof Float32Array || value instanceof Float64Array) return Array.from(value);
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String);
const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);
const parameter = fc.oneof(
  fc.record({ bool_param: fc.boolean() }),
  fc.record({ int64_param: int64 }),
  fc.record({ string_param: fc.string() }),
);
const parameters = fc.dictionary(fc.string({ maxLength: 8 }), parameter, { maxKeys: 3 });
const contents = fc.record(
  {
    bool_contents: fc.array(fc.boolean(), { maxLength: 5 }),
    int_contents: fc.array(fc.integer(), { maxLength: 5 }),
    int64_contents: fc.array(int64, { maxLength: 5 }),
    uint_contents: fc.array(fc.nat({ max: 2 ** 32 - 1 }), { maxLength: 5 }),
    uint64_contents: fc.array(uint64, { maxLength: 5 }),
    fp32_contents: fc.array(fc.float(), { maxLength: 40 }),
    fp64_contents: fc.array(fc.double(), { maxLength: 10 }),
    bytes_contents: fc.array(
      fc.uint8Array({ maxLength: 6 }).map((b) => Buffer.from(b)),
      { maxLength: 3 },
    ),
  },
  { requiredKeys: [] },
);
const request: fc.Arbitrary<ModelInferRequest> = fc.record(
  {
    model_name: fc.string(),
    model_version: fc.string(),
    id: fc.string(),
    parameters,
    inputs: fc.array(
      fc.record(
        {
          name: fc.string(),
          datatype: fc.constantFrom('FP32', 'INT64', 'BYTES', ''),
          shape: fc.array(int64, { maxLength: 4 }),
          parameters,
          contents,
        },
        { requiredKeys: [] },
      ),
      { maxLength: 3 },
    ),
    outputs: fc.array(fc.record({ name: fc.string(), parameters }, { requiredKeys: [] }), { maxLength: 2 }),
    raw_input_contents: fc.array(
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
      { maxLength: 2 },
    ),
  },
  { requiredKeys: [] },
);

describe('decoding ModelInferRequest without proto-loader', () => {
  it('reads every request as proto-loader reads it, floats as typed arrays (property)', () => {
    fc.assert(
      fc.property(request, (r) => {
        const bytes = method.requestSerialize(r);
        expect(plain(decodeModelInferRequest(bytes))).toEqual(plain(method.requestDeserialize(bytes)));
      }),
      { numRuns: 500 },
    );
  });

  it('copies a packed fp32_contents into a Float32Array and keeps raw bytes as views of the message', () => {
    const values = Float32Array.from([0.5, -1, 255, 3e38]);
    const raw = Buffer.from([1, 2, 3]);
    const bytes = method.requestSerialize({
      model_name: 'm',
      inputs: [
        { name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: Array.from(values) } },
      ],
      raw_input_contents: [raw],
    });
    const decoded = decodeModelInferRequest(bytes);
    const fp32 = decoded.inputs[0]!.contents!.fp32_contents as unknown as Float32Array;
    expect(fp32).toBeInstanceOf(Float32Array);
    expect(Array.from(fp32)).toEqual(Array.from(values));
    expect(decoded.raw_input_contents[0]!.buffer).toBe(bytes.buffer);
    expect(decoded.inputs[0]!.shape).toEqual(['1', '4']);
  });

  it('reads unpacked floats, as an older or hand-written encoder may send them', () => {
    // inputs (5) { contents (5) { fp32_contents (6, fixed32) 1.5, fp32_contents 2 } }
    const element = (v: number) => {
      const b = Buffer.alloc(5);
      b[0] = (6 << 3) | 5;
      b.writeFloatLE(v, 1);
      return b;
    };
    const c = Buffer.concat([element(1.5), element(2)]);
    const input = Buffer.concat([Buffer.from([(5 << 3) | 2, c.length]), c]);
    const bytes = Buffer.concat([Buffer.from([(5 << 3) | 2, input.length]), input]);
    const fp32 = decodeModelInferRequest(bytes).inputs[0]!.contents!.fp32_contents;
    expect(Array.from(fp32)).toEqual([1.5, 2]);
    expect(plain(decodeModelInferRequest(bytes))).toEqual(plain(method.requestDeserialize(bytes)));
  });

  it.each([
    ['a truncated length-delimited field', [0x0a, 0x05, 0x01]],
    ['a truncated varint', [0x08, 0xff]],
    ['a packed float run of 3 bytes', [0x2a, 0x07, 0x2a, 0x05, 0x32, 0x03, 0, 0, 0]],
    ['field number 0', [0x00, 0x01]],
    ['a group wire type', [0x0b]],
  ])('throws on %s', (_name, bytes) => {
    expect(() => decodeModelInferRequest(Buffer.from(bytes))).toThrow();
  });
});
