// TensorFlow Serving's REST API (https://www.tensorflow.org/tfx/serving/api_rest): model status,
// metadata and :predict with the row ("instances") and columnar ("inputs") request formats.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import { ServeError } from '../errors.ts';
import { selectOutputs } from '../model/served-outputs.ts';
import type { OutputTensor, ServingModel } from '../model/serving-model.ts';
import { decodeTensor, defaultClientDatatype, nest, type TensorValues } from '../model/tensor.ts';
import { classify } from '../protocols/classify.ts';
import { checkName, resolveModel } from '../protocols/resolve.ts';
import { checkSignature, modelStatus, signatureDefMap } from '../protocols/tfserving.ts';

const NameParams = Type.Object({ name: Type.String({ minLength: 1 }) });
const VersionParams = Type.Object({
  name: Type.String({ minLength: 1 }),
  version: Type.String({ minLength: 1 }),
});
/** "<name>:<verb>": find-my-way cannot split a parameter at a literal colon, so the handler does. */
const TargetParams = Type.Object({ target: Type.String({ minLength: 1 }) });
const VersionTargetParams = Type.Object({
  name: Type.String({ minLength: 1 }),
  target: Type.String({ minLength: 1 }),
});

/** :predict's body (instances or inputs) and :classify's (examples, context): one schema, checked per verb. */
export const PredictRequest = Type.Object(
  {
    signature_name: Type.Optional(Type.String()),
    instances: Type.Optional(Type.Array(Type.Unknown(), { minItems: 1 })),
    inputs: Type.Optional(Type.Unknown()),
    examples: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()), { minItems: 1 })),
    context: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
type PredictBody = Static<typeof PredictRequest>;

function metadataOf(model: ServingModel) {
  return {
    model_spec: { name: model.name, signature_name: '', version: model.version },
    metadata: { signature_def: signatureDefMap(model) },
  };
}

/** Splits "<name>:<verb>"; a :classify request is counted as the classify endpoint. */
function parseTarget(req: FastifyRequest, target: string): { name: string; verb: string } {
  const colon = target.lastIndexOf(':');
  if (colon <= 0) {
    throw new ServeError('RouteNotFound', `POST /v1/models/${target}: expected /v1/models/<name>:predict`);
  }
  const verb = target.slice(colon + 1);
  if (verb === 'classify') req.servedEndpoint = 'classify';
  return { name: target.slice(0, colon), verb };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** TF Serving lets named inputs be objects keyed by input name; this model has exactly one input. */
function unwrapNamed(value: unknown, input: string, where: string): unknown {
  if (!isPlainObject(value)) return value;
  const keys = Object.keys(value);
  const unknown = keys.filter((k) => k !== input);
  if (unknown.length > 0) {
    throw new ServeError(
      'InvalidInput',
      `${where}: unknown input "${unknown[0]}"; the model's only input is "${input}"`,
    );
  }
  if (!(input in value)) throw new ServeError('InvalidInput', `${where}: missing input "${input}"`);
  return value[input];
}

function outputsBody(outputs: OutputTensor[], rows: number) {
  const nested = (o: OutputTensor) => nest(o.values, [rows, ...o.rowShape]);
  if (outputs.length === 1) return nested(outputs[0] as OutputTensor);
  return Object.fromEntries(outputs.map((o) => [o.spec.name, nested(o)]));
}

function predictionsBody(outputs: OutputTensor[], rows: number) {
  const perOutput = outputs.map((o) => nest(o.values, [rows, ...o.rowShape]) as unknown[]);
  if (outputs.length === 1) return perOutput[0];
  return Array.from({ length: rows }, (_, r) =>
    Object.fromEntries(outputs.map((o, i) => [o.spec.name, perOutput[i]![r]])),
  );
}

/** :classify's answer: {"result": [[[label, score], ...] per example]}, as TensorFlow Serving writes it. */
async function classifyBody(body: PredictBody, model: ServingModel) {
  if (body.examples === undefined || body.instances !== undefined || body.inputs !== undefined) {
    throw new ServeError(
      'InvalidRequest',
      ':classify takes "examples" (a list of {feature: value} objects) and optionally "context", not "instances" or "inputs"',
    );
  }
  const classes = await classify(model, body.examples, body.context, 'examples');
  return { result: classes.map((row) => row.map((c) => [c.label, c.score])) };
}

export const tfServingRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const statusConfig = { protocol: 'tfserving', endpoint: 'status' } as const;
  const metadataConfig = { protocol: 'tfserving', endpoint: 'metadata' } as const;
  const predictConfig = { protocol: 'tfserving', endpoint: 'predict' } as const;

  app.get('/v1/models/:name', { schema: { params: NameParams }, config: statusConfig }, async (req) => {
    checkName(app.models, req.params.name);
    return modelStatus(app.models);
  });
  app.get(
    '/v1/models/:name/versions/:version',
    { schema: { params: VersionParams }, config: statusConfig },
    async (req) => {
      checkName(app.models, req.params.name);
      return modelStatus(app.models, req.params.version);
    },
  );
  app.get(
    '/v1/models/:name/metadata',
    { schema: { params: NameParams }, config: metadataConfig },
    async (req) => metadataOf(resolveModel(app, req, req.params.name)),
  );
  app.get(
    '/v1/models/:name/versions/:version/metadata',
    { schema: { params: VersionParams }, config: metadataConfig },
    async (req) => metadataOf(resolveModel(app, req, req.params.name, req.params.version)),
  );

  const predict = async (
    req: { body: PredictBody; binaryData?: Buffer },
    name: string,
    verb: string,
    model: () => ServingModel,
  ) => {
    if (verb !== 'predict' && verb !== 'classify') {
      const known = verb === 'regress';
      throw new ServeError(
        known ? 'Unsupported' : 'RouteNotFound',
        known
          ? `:${verb} (the tf.Example regression API) is not supported; use :predict`
          : `unknown verb ":${verb}" for model "${name}"`,
      );
    }
    const body = req.body;
    if (req.binaryData !== undefined) {
      throw new ServeError(
        'InvalidRequest',
        'Inference-Header-Content-Length (binary tensors) is an Open Inference Protocol extension; use /v2/models/<name>/infer',
      );
    }
    checkSignature(body.signature_name);
    if (verb === 'classify') return classifyBody(body, model());
    if (body.examples !== undefined || body.context !== undefined) {
      throw new ServeError(
        'InvalidRequest',
        '"examples" and "context" belong to :classify; :predict takes "instances" or "inputs"',
      );
    }
    if ((body.instances === undefined) === (body.inputs === undefined)) {
      throw new ServeError(
        'InvalidRequest',
        'the body must have exactly one of "instances" (row format) and "inputs" (columnar format)',
      );
    }
    const m = model();
    const spec = m.input;
    const datatype = defaultClientDatatype(spec);
    // TF Serving's REST API has no output filter: the outputs not kept for those who ask by name.
    const wanted = selectOutputs(m.outputs, undefined, m.name, 'outputs');
    const run = async (values: TensorValues, rows: number) =>
      (await m.predict(values, rows)).filter((o) => wanted.has(o.spec.name));
    if (body.instances !== undefined) {
      const rows = body.instances.map((inst, i) => unwrapNamed(inst, spec.name, `instances[${i}]`));
      const t = decodeTensor(spec, rows, datatype, 'instances');
      const outputs = await run(t.values, t.shape[0] as number);
      return { predictions: predictionsBody(outputs, t.shape[0] as number) };
    }
    const t = decodeTensor(spec, unwrapNamed(body.inputs, spec.name, 'inputs'), datatype, 'inputs');
    const outputs = await run(t.values, t.shape[0] as number);
    return { outputs: outputsBody(outputs, t.shape[0] as number) };
  };

  app.post(
    '/v1/models/:target',
    { schema: { params: TargetParams, body: PredictRequest }, config: predictConfig },
    async (req) => {
      const { name, verb } = parseTarget(req, req.params.target);
      checkName(app.models, name);
      return predict(req, name, verb, () => resolveModel(app, req, name));
    },
  );
  app.post(
    '/v1/models/:name/versions/:target',
    { schema: { params: VersionTargetParams, body: PredictRequest }, config: predictConfig },
    async (req) => {
      const { name: version, verb } = parseTarget(req, req.params.target);
      checkName(app.models, req.params.name);
      return predict(req, req.params.name, verb, () => resolveModel(app, req, req.params.name, version));
    },
  );
};
