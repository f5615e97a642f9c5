import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ModelInferResponse } from './generated/inference/ModelInferResponse.ts';
import { encodeModelInferResponse } from './infer-response-codec.ts';
import { protoMethod } from './protos.ts';

const method = protoMethod<unknown, ModelInferResponse>('inference.GRPCInferenceService', 'ModelInfer');
const decode = (b: Buffer) => method.responseDeserialize(b);
const refuse = (): Buffer => {
  throw new Error('the fallback was used');
};

// Names are valid Unicode: they come from the model or from a request decoded as UTF-8.
const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String);
const parameter = fc.oneof(
  fc.record({ bool_param: fc.boolean() }),
  fc.record({ int64_param: int64 }),
  fc.record({ string_param: text }),
);
const parameters = fc.dictionary(fc.string({ maxLength: 8 }), parameter, { maxKeys: 2 });
/** Mostly none: a message with parameters goes to the fallback. */
const rareParameters = fc.oneof(
  { arbitrary: fc.constant({}), weight: 6 },
  { arbitrary: parameters, weight: 1 },
);
const rare = <T>(a: fc.Arbitrary<T[]>) =>
  fc.oneof({ arbitrary: fc.constant<T[]>([]), weight: 6 }, { arbitrary: a, weight: 1 });
const bytes = fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b));
/** The contents k2k answers with, and (rarely) the other fields, which the fallback writes. */
const contents = fc.record(
  {
    fp32_contents: fc.array(fc.float(), { maxLength: 40 }),
    bool_contents: fc.array(fc.boolean(), { maxLength: 10 }),
    bytes_contents: fc.array(bytes, { maxLength: 3 }),
    int64_contents: rare(fc.array(int64, { maxLength: 3 })),
    fp64_contents: rare(fc.array(fc.double(), { maxLength: 3 })),
  },
  { requiredKeys: [] },
);
const shape = fc.oneof(
  { arbitrary: fc.array(fc.nat({ max: 2 ** 40 }), { maxLength: 4 }), weight: 4 },
  { arbitrary: fc.array(int64, { maxLength: 3 }), weight: 1 },
);
const output = fc.record(
  {
    name: text,
    datatype: fc.constantFrom('FP32', 'BOOL', 'BYTES', ''),
    shape,
    contents,
    parameters: rareParameters,
  },
  { requiredKeys: [] },
);
const response: fc.Arbitrary<ModelInferResponse> = fc.record(
  {
    model_name: text,
    model_version: text,
    id: text,
    outputs: fc.array(output, { maxLength: 3 }),
    raw_output_contents: fc.array(bytes, { maxLength: 2 }),
    parameters: rareParameters,
  },
  { requiredKeys: [] },
);

describe('encoding ModelInferResponse without proto-loader', () => {
  it('writes every response so that protobufjs reads what it would have written (property)', () => {
    let fallbacks = 0;
    const counted = (m: ModelInferResponse) => {
      fallbacks++;
      return method.responseSerialize(m);
    };
    fc.assert(
      fc.property(response, (r) => {
        const ours = encodeModelInferResponse(r, counted);
        expect(decode(ours)).toEqual(decode(method.responseSerialize(r)));
      }),
      { numRuns: 1000 },
    );
    // Both ways are exercised, this encoder's most.
    expect(fallbacks).toBeGreaterThan(50);
    expect(fallbacks).toBeLessThan(500);
  });

  it.each([
    [
      'typed fp32 contents',
      {
        model_name: 'mnist',
        model_version: '1',
        id: 'req-é',
        outputs: [
          {
            name: 'scores',
            datatype: 'FP32',
            shape: [2, 3],
            contents: { fp32_contents: [0.5, -1, 3e38, 0, 1, 2] },
          },
          { name: 'ok', datatype: 'BOOL', shape: [2], contents: { bool_contents: [true, false] } },
          {
            name: 'label',
            datatype: 'BYTES',
            shape: [1],
            contents: { bytes_contents: [Buffer.from('seven')] },
          },
        ],
        raw_output_contents: [],
      },
    ],
    [
      'raw output contents',
      {
        model_name: 'mnist',
        model_version: '1',
        id: '',
        outputs: [{ name: 'scores', datatype: 'FP32', shape: [1, 10] }],
        raw_output_contents: [Buffer.from(new Float32Array(10).fill(0.1).buffer)],
      },
    ],
  ] satisfies Array<[string, ModelInferResponse]>)("writes k2k's own answers itself (%s)", (_name, r) => {
    const ours = encodeModelInferResponse(r, refuse);
    expect(decode(ours)).toEqual(decode(method.responseSerialize(r)));
  });

  it('leaves a response with parameters to proto-loader', () => {
    const r: ModelInferResponse = { model_name: 'm', parameters: { n: { int64_param: '5' } } };
    expect(() => encodeModelInferResponse(r, refuse)).toThrow('the fallback was used');
    expect(decode(encodeModelInferResponse(r, method.responseSerialize))).toEqual(
      decode(method.responseSerialize(r)),
    );
  });
});
