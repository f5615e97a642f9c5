// The Open Inference Protocol's binary tensor extension over REST (Triton's and KServe's
// "binary_tensor_data"): a body is a JSON header of Inference-Header-Content-Length bytes
// followed by the tensors' raw bytes (raw-tensor.ts has their layout). An input says how many of
// those bytes are its own with parameters.binary_data_size, in the order of the inputs; outputs
// come back the same way when the request asks for them with parameters.binary_data (per output)
// or binary_data_output (all outputs). Every length is checked: a mismatch is a 400 that says
// which numbers disagree, never a silently shifted tensor.
import { ServeError } from '../errors.ts';
import { rawOutput } from '../model/raw-tensor.ts';
import type { InferInput, InferResult } from '../protocols/v2.ts';

export const HEADER_LENGTH = 'inference-header-content-length';
/** What a response with binary outputs is sent as. */
export const BINARY_CONTENT_TYPE = 'application/octet-stream';

declare module 'fastify' {
  interface FastifyRequest {
    /** The bytes after the JSON header of a binary-extension request. */
    binaryData?: Buffer;
  }
}

/** Splits a body into its JSON header and binary part by the header's value. */
export function splitBody(body: Buffer, header: string | string[]): { json: Buffer; binary: Buffer } {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (!/^[0-9]{1,15}$/.test(value)) {
    throw new ServeError(
      'InvalidRequest',
      `Inference-Header-Content-Length must be a non-negative integer, got ${JSON.stringify(value)}`,
    );
  }
  const length = Number(value);
  if (length > body.length) {
    throw new ServeError(
      'InvalidRequest',
      `Inference-Header-Content-Length is ${length} but the body has only ${body.length} bytes`,
    );
  }
  return { json: body.subarray(0, length), binary: body.subarray(length) };
}

type Parameters = Record<string, unknown> | undefined;

/** One JSON input of the request body, as the route's schema lets it through. */
export interface JsonInput {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: Parameters;
  data?: unknown;
}

function binarySize(parameters: Parameters, path: string): number | undefined {
  const size = parameters?.binary_data_size;
  if (size === undefined) return undefined;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new ServeError(
      'InvalidRequest',
      `${path}.parameters.binary_data_size must be a non-negative integer, got ${JSON.stringify(size)}`,
    );
  }
  return size;
}

/** The request's inputs with their binary parts cut out of `binary`, which they must use exactly. */
export function inferInputs(inputs: JsonInput[], binary: Buffer | undefined): InferInput[] {
  let offset = 0;
  const out = inputs.map((input, i): InferInput => {
    const path = `inputs[${i}]`;
    const size = binarySize(input.parameters, path);
    const { name, datatype, shape } = input;
    if (size === undefined) {
      if (input.data === undefined) {
        throw new ServeError('InvalidRequest', `${path}: has neither "data" nor parameters.binary_data_size`);
      }
      return { name, datatype, shape, data: input.data };
    }
    if (input.data !== undefined) {
      throw new ServeError(
        'InvalidInput',
        `${path}: has both "data" and parameters.binary_data_size; send one`,
      );
    }
    if (binary === undefined) {
      throw new ServeError(
        'InvalidRequest',
        `${path}: parameters.binary_data_size is ${size} but the request has no binary part (no Inference-Header-Content-Length header)`,
      );
    }
    if (offset + size > binary.length) {
      throw new ServeError(
        'InvalidRequest',
        `${path}: parameters.binary_data_size is ${size} at byte ${offset} of the binary part, which has only ${binary.length} bytes`,
      );
    }
    const raw = binary.subarray(offset, offset + size);
    offset += size;
    return { name, datatype, shape, raw };
  });
  if (binary !== undefined && offset !== binary.length) {
    throw new ServeError(
      'InvalidRequest',
      `the binary part (the body after Inference-Header-Content-Length bytes of JSON) has ${binary.length} bytes, but the inputs' binary_data_size add up to ${offset}`,
    );
  }
  return out;
}

/** Which outputs to send as raw bytes: binary_data per output wins over binary_data_output. */
export function binaryOutputs(
  parameters: Parameters,
  outputs: Array<{ name: string; parameters?: Parameters }> | undefined,
): (name: string) => boolean {
  const all = parameters?.binary_data_output === true;
  const perOutput = new Map(
    (outputs ?? [])
      .filter((o) => typeof o.parameters?.binary_data === 'boolean')
      .map((o) => [o.name, o.parameters?.binary_data as boolean]),
  );
  return (name) => perOutput.get(name) ?? all;
}

/** The response: JSON alone, or the JSON header and the binary outputs' bytes. */
export function inferResponse(
  result: InferResult,
  isBinary: (name: string) => boolean,
): { json: object } | { header: Buffer; body: Buffer } {
  const parts: Buffer[] = [];
  const outputs = result.outputs.map((o) => {
    const base = { name: o.name, shape: o.shape, datatype: o.datatype };
    if (!isBinary(o.name)) return { ...base, data: Array.from(o.values as ArrayLike<unknown>) };
    const raw = rawOutput(o.datatype, o.values);
    parts.push(raw);
    return { ...base, parameters: { binary_data_size: raw.length } };
  });
  const json = { ...result, outputs };
  if (parts.length === 0) return { json };
  const header = Buffer.from(JSON.stringify(json));
  return { header, body: Buffer.concat([header, ...parts]) };
}
