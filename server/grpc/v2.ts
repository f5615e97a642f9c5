// inference.GRPCInferenceService: the Open Inference Protocol over gRPC, on protocols/v2.ts like
// the REST routes. Raw inputs (raw_input_contents) get raw outputs (raw_output_contents), typed
// contents get typed contents, as KServe's and Triton's clients expect.
import { ServeError } from '../errors.ts';
import { choiceParameters } from '../model/backend-choice.ts';
import { rawOutput } from '../model/raw-tensor.ts';
import type { ServingModel } from '../model/serving-model.ts';
import { servingModel } from '../protocols/resolve.ts';
import { type InferInput, infer, modelMetadata, modelReadiness, serverMetadata } from '../protocols/v2.ts';
import type { GRPCInferenceServiceHandlers } from './generated/inference/GRPCInferenceService.ts';
import type { ModelInferRequest__Output } from './generated/inference/ModelInferRequest.ts';
import type { ModelInferResponse } from './generated/inference/ModelInferResponse.ts';
import { type GrpcContext, type MethodOptions, type Served, unary } from './handler.ts';
import { contentsValues, hasContents, outputContents, shapeOf } from './tensors.ts';

/** "" is proto3's absent string. */
const given = (s: string) => (s === '' ? undefined : s);

function inputsOf(request: ModelInferRequest__Output): InferInput[] {
  const raw = request.raw_input_contents;
  if (raw.length > 0 && raw.length !== request.inputs.length) {
    throw new ServeError(
      'InvalidRequest',
      `raw_input_contents has ${raw.length} entries for ${request.inputs.length} inputs; send one per input`,
    );
  }
  return request.inputs.map((t, i) => {
    const path = `inputs[${i}]`;
    const shape = shapeOf(t.shape, `${path}.shape`);
    if (raw.length === 0) {
      return {
        name: t.name,
        datatype: t.datatype,
        shape,
        ...contentsValues(t.contents, t.datatype, `${path}.contents`),
      };
    }
    if (hasContents(t.contents)) {
      throw new ServeError(
        'InvalidRequest',
        `${path}: has contents while raw_input_contents is used; send one`,
      );
    }
    return { name: t.name, datatype: t.datatype, shape, raw: raw[i]! };
  });
}

/** The backend choice as REST's metadata parameters, in the published `properties` (strings only). */
function choiceProperties(model: ServingModel): Record<string, string> {
  if (!model.backend) return {};
  return Object.fromEntries(Object.entries(choiceParameters(model.backend)).map(([k, v]) => [k, String(v)]));
}

async function modelInfer(ctx: GrpcContext, request: ModelInferRequest__Output, served: Served) {
  const model = servingModel(ctx.models, request.model_name, given(request.model_version));
  served.version = model.version;
  const result = await infer(model, {
    ...(request.id !== '' ? { id: request.id } : {}),
    inputs: inputsOf(request),
    ...(request.outputs.length > 0 ? { outputs: request.outputs.map((o) => o.name) } : {}),
  });
  const raw = request.raw_input_contents.length > 0;
  const response: ModelInferResponse = {
    model_name: result.model_name,
    model_version: result.model_version,
    id: request.id,
    outputs: result.outputs.map((o) => ({
      name: o.name,
      datatype: o.datatype,
      shape: o.shape,
      ...(raw ? {} : { contents: outputContents(o.datatype, o.values) }),
    })),
    raw_output_contents: raw ? result.outputs.map((o) => rawOutput(o.datatype, o.values)) : [],
  };
  return response;
}

export function inferenceService(ctx: GrpcContext): GRPCInferenceServiceHandlers {
  const method = (endpoint: string, shed = true): MethodOptions => ({ protocol: 'v2', endpoint, shed });
  return {
    ServerLive: unary(ctx, method('health', false), () => ({ live: true })),
    ServerReady: unary(ctx, method('health', false), () => ({ ready: ctx.models.ready })),
    ModelReady: unary(ctx, method('health', false), (r) => ({
      ready: modelReadiness(ctx.models, r.name, given(r.version)).ready,
    })),
    ServerMetadata: unary(ctx, method('server_metadata'), () => serverMetadata()),
    ModelMetadata: unary(ctx, method('metadata'), (r, served) => {
      const model = servingModel(ctx.models, r.name, given(r.version));
      served.version = model.version;
      return { ...modelMetadata(model), properties: choiceProperties(model) };
    }),
    ModelInfer: unary(ctx, { ...method('infer'), forward: true }, (r, served) => modelInfer(ctx, r, served)),
  };
}
