// What the Open Inference Protocol's REST and gRPC APIs answer alike: server and model metadata,
// readiness, and inference. Both transports turn their request into an InferRequest and their
// answer out of an InferResult, so decoding, validation, batching and drift are one path
// (ServingModel.predict), whatever the wire.
import { ServeError } from '../errors.ts';
import type { ModelHolder } from '../model/holder.ts';
import { decodeNumbers, decodeRawTensor } from '../model/raw-tensor.ts';
import { type OutputValues, selectOutputs } from '../model/served-outputs.ts';
import type { ServingModel } from '../model/serving-model.ts';
import { type Datatype, type DecodedTensor, decodeTensor } from '../model/tensor.ts';
import { checkName } from './resolve.ts';

export const SERVER_NAME = 'k2k-model-server';
export const SERVER_VERSION = '0.1.0';
/** Triton's name for the binary tensor extension, which KServe's clients look for too. */
export const EXTENSIONS = ['binary_tensor_data'];
const PLATFORM = 'tensorflowjs_layers';

export function serverMetadata() {
  return { name: SERVER_NAME, version: SERVER_VERSION, extensions: EXTENSIONS };
}

export function modelMetadata(model: ServingModel) {
  return {
    name: model.name,
    versions: [model.version],
    platform: PLATFORM,
    inputs: [{ name: model.input.name, datatype: model.input.datatype, shape: model.input.shape }],
    outputs: model.outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape })),
  };
}

/** Whether `name` (at `version`) serves; why not, when it does not. Unknown names throw. */
export function modelReadiness(
  models: ModelHolder,
  name: string,
  version: string | undefined,
): { ready: true } | { ready: false; reason: string } {
  checkName(models, name);
  const m = models.current;
  if (models.ready && m !== undefined && (version === undefined || version === m.version))
    return { ready: true };
  const reason =
    models.ready && version !== undefined
      ? `version "${version}" is not loaded (serving ${m?.version})`
      : models.notReadyReason;
  return { ready: false, reason };
}

/** One input tensor: its values as JSON (`data`), as numbers a typed wire parsed, or as raw bytes. */
export interface InferInput {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown;
  numbers?: ArrayLike<number>;
  raw?: Uint8Array;
}

export interface InferRequest {
  id?: string;
  inputs: InferInput[];
  /** The outputs asked for, in the model's order when absent. */
  outputs?: string[];
}

export interface InferOutput {
  name: string;
  datatype: Datatype;
  shape: number[];
  values: OutputValues;
}

export interface InferResult {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: InferOutput[];
}

function decodeInput(model: ServingModel, input: InferInput, path: string): DecodedTensor {
  if (input.raw !== undefined)
    return decodeRawTensor(model.input, input.raw, input.datatype, input.shape, path);
  if (input.numbers !== undefined) {
    return decodeNumbers(model.input, input.numbers, input.datatype, input.shape, `${path}.contents`);
  }
  return decodeTensor(model.input, input.data, input.datatype, `${path}.data`, input.shape);
}

export async function infer(model: ServingModel, request: InferRequest): Promise<InferResult> {
  const spec = model.input;
  const names = request.inputs.map((i) => i.name);
  if (names.length === 0) throw new ServeError('InvalidInput', `missing input "${spec.name}"`);
  const extra = names.find((n) => n !== spec.name);
  if (extra !== undefined) {
    throw new ServeError(
      'InvalidInput',
      `unknown input "${extra}"; model "${model.name}" has one input, "${spec.name}"`,
    );
  }
  if (names.length > 1)
    throw new ServeError('InvalidInput', `input "${spec.name}" is given ${names.length} times`);
  const wanted = selectOutputs(model.outputs, request.outputs, model.name, 'outputs');
  const t = decodeInput(model, request.inputs[0]!, 'inputs[0]');
  const rows = t.shape[0] as number;
  const outputs = await model.predict(t.values, rows);
  return {
    model_name: model.name,
    model_version: model.version,
    ...(request.id !== undefined ? { id: request.id } : {}),
    outputs: outputs
      .filter((o) => wanted.has(o.spec.name))
      .map((o) => ({
        name: o.spec.name,
        shape: [rows, ...o.rowShape],
        datatype: o.spec.datatype as Datatype,
        values: o.values,
      })),
  };
}
