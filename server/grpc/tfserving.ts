// tensorflow.serving.PredictionService (Predict, Classify, GetModelMetadata) and ModelService
// (GetModelStatus): TensorFlow Serving's gRPC API, on protocols/tfserving.ts like the REST routes.
// Outputs are answered in float_val, as TensorFlow Serving does (tf.make_ndarray reads either).
import { ServeError } from '../errors.ts';
import { choiceParameters } from '../model/backend-choice.ts';
import { selectOutputs } from '../model/served-outputs.ts';
import type { ServingModel } from '../model/serving-model.ts';
import { classify, type Example, requireClassifier } from '../protocols/classify.ts';
import { checkName, servingModel } from '../protocols/resolve.ts';
import { checkSignature, modelStatus, SIGNATURE, signatureDefMap } from '../protocols/tfserving.ts';
import type { Any } from './generated/google/protobuf/Any.ts';
import type { Value } from './generated/google/protobuf/Value.ts';
import type { Example__Output } from './generated/tensorflow/Example.ts';
import type { ClassificationRequest__Output } from './generated/tensorflow/serving/ClassificationRequest.ts';
import type { ClassificationResponse } from './generated/tensorflow/serving/ClassificationResponse.ts';
import type { ModelServiceHandlers } from './generated/tensorflow/serving/ModelService.ts';
import type { ModelSpec, ModelSpec__Output } from './generated/tensorflow/serving/ModelSpec.ts';
import type { PredictionServiceHandlers } from './generated/tensorflow/serving/PredictionService.ts';
import type { PredictRequest__Output } from './generated/tensorflow/serving/PredictRequest.ts';
import type { PredictResponse } from './generated/tensorflow/serving/PredictResponse.ts';
import { type GrpcContext, type MethodOptions, type Served, unary } from './handler.ts';
import { decodeTensorProto, outputTensorProto } from './tensors.ts';

const SIGNATURE_DEF = 'signature_def';
/** k2k's own field: the backend choice, as REST's metadata parameters (TF Serving ignores what it does not ask for). */
const BACKEND = 'backend';
const METADATA_FIELDS = [SIGNATURE_DEF, BACKEND];

/** A scalar as a google.protobuf.Value (protobufjs' built-in struct.proto names its fields in camelCase). */
const structValue = (v: string | number): Value =>
  typeof v === 'number' ? { numberValue: v } : { stringValue: v };

/**
 * protobufjs packs an object with "@type" into google.protobuf.Any (the generated type only knows
 * the packed form, type_url and value).
 */
function packed(type: string, message: object): Any {
  return { '@type': `type.googleapis.com/${type}`, ...message } as unknown as Any;
}

function metadataField(model: ServingModel, field: string): Any {
  if (field === SIGNATURE_DEF) return packed('tensorflow.serving.SignatureDefMap', signatureDefMap(model));
  const parameters = model.backend ? choiceParameters(model.backend) : {};
  return packed('google.protobuf.Struct', {
    fields: Object.fromEntries(Object.entries(parameters).map(([k, v]) => [k, structValue(v)])),
  });
}

function requireSpec(spec: ModelSpec__Output | null): ModelSpec__Output {
  if (spec === null) throw new ServeError('InvalidRequest', 'model_spec is required');
  return spec;
}

/** The version a ModelSpec asks for: none, or a number (labels are TensorFlow Serving config k2k has not). */
function versionOf(spec: ModelSpec__Output): string | undefined {
  if (spec.version_choice === 'version_label') {
    throw new ServeError(
      'VersionNotFound',
      `version_label "${spec.version_label}" is not known; k2k serves one version, ask by number or not at all`,
    );
  }
  return spec.version_choice === 'version' ? spec.version?.value : undefined;
}

function resolve(ctx: GrpcContext, spec: ModelSpec__Output | null, served: Served): ServingModel {
  const s = requireSpec(spec);
  const model = servingModel(ctx.models, s.name, versionOf(s));
  served.version = model.version;
  return model;
}

const specOf = (model: ServingModel): ModelSpec => ({
  name: model.name,
  version: { value: model.version },
  signature_name: SIGNATURE,
});

async function predict(ctx: GrpcContext, request: PredictRequest__Output, served: Served) {
  const model = resolve(ctx, request.model_spec, served);
  checkSignature(request.model_spec?.signature_name);
  const spec = model.input;
  const names = Object.keys(request.inputs);
  const extra = names.find((n) => n !== spec.name);
  if (extra !== undefined) {
    throw new ServeError(
      'InvalidInput',
      `inputs: unknown input "${extra}"; the model's only input is "${spec.name}"`,
    );
  }
  const tensor = request.inputs[spec.name];
  if (tensor === undefined) throw new ServeError('InvalidInput', `inputs: missing input "${spec.name}"`);
  const wanted = selectOutputs(model.outputs, request.output_filter, model.name, 'output_filter');
  const t = decodeTensorProto(spec, tensor, `inputs["${spec.name}"]`);
  const rows = t.shape[0] as number;
  const outputs = await model.predict(t.values, rows);
  const response: PredictResponse = {
    model_spec: specOf(model),
    outputs: Object.fromEntries(
      outputs
        .filter((o) => wanted.has(o.spec.name))
        .map((o) => [o.spec.name, outputTensorProto(o.spec.datatype, [rows, ...o.rowShape], o.values)]),
    ),
  };
  return response;
}

/** A tf.Example as classify.ts reads examples: feature name → its list's values (bytes as UTF-8). */
function exampleOf(example: Example__Output | null): Example {
  const features = example?.features?.feature ?? {};
  return Object.fromEntries(
    Object.entries(features).map(([name, f]) => {
      if (f.kind === 'float_list') return [name, f.float_list?.value ?? []];
      if (f.kind === 'int64_list') return [name, (f.int64_list?.value ?? []).map(Number)];
      if (f.kind === 'bytes_list') return [name, (f.bytes_list?.value ?? []).map((b) => b.toString('utf8'))];
      return [name, []];
    }),
  );
}

async function classifyExamples(ctx: GrpcContext, request: ClassificationRequest__Output, served: Served) {
  const model = resolve(ctx, request.model_spec, served);
  checkSignature(request.model_spec?.signature_name);
  requireClassifier(model);
  const input = request.input;
  const list = input?.kind === 'example_list' ? input.example_list : input?.example_list_with_context;
  if (!input?.kind || !list) {
    throw new ServeError('InvalidRequest', 'input: set example_list or example_list_with_context');
  }
  const context =
    input.kind === 'example_list_with_context' ? input.example_list_with_context?.context : null;
  const classes = await classify(
    model,
    list.examples.map(exampleOf),
    context ? exampleOf(context) : undefined,
    `input.${input.kind}.examples`,
  );
  const response: ClassificationResponse = {
    model_spec: specOf(model),
    result: { classifications: classes.map((row) => ({ classes: row })) },
  };
  return response;
}

export function predictionService(ctx: GrpcContext): PredictionServiceHandlers {
  const method = (endpoint: string): MethodOptions => ({ protocol: 'tfserving', endpoint, shed: true });
  return {
    Predict: unary(ctx, { ...method('predict'), forward: true }, (r, served) => predict(ctx, r, served)),
    Classify: unary(ctx, { ...method('classify'), forward: true }, (r, served) =>
      classifyExamples(ctx, r, served),
    ),
    GetModelMetadata: unary(ctx, method('metadata'), (r, served) => {
      const model = resolve(ctx, r.model_spec, served);
      const fields = r.metadata_field;
      const unknown = fields.find((f) => !METADATA_FIELDS.includes(f));
      if (fields.length === 0 || unknown !== undefined) {
        throw new ServeError(
          'InvalidRequest',
          `metadata_field ${unknown === undefined ? 'is empty' : `"${unknown}" is not supported`}; ask for ${METADATA_FIELDS.map((f) => `"${f}"`).join(' or ')}`,
        );
      }
      return {
        model_spec: specOf(model),
        metadata: Object.fromEntries(fields.map((f) => [f, metadataField(model, f)])),
      };
    }),
  };
}

export function modelService(ctx: GrpcContext): ModelServiceHandlers {
  return {
    GetModelStatus: unary(ctx, { protocol: 'tfserving', endpoint: 'status', shed: true }, (r) => {
      const spec = requireSpec(r.model_spec);
      checkName(ctx.models, spec.name);
      return modelStatus(ctx.models, versionOf(spec));
    }),
  };
}
