// The Open Inference Protocol (KServe v2, Triton, MLServer), REST flavour:
// https://github.com/kserve/open-inference-protocol/blob/main/specification/protocol/inference_rest.md
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type, { type Static } from 'typebox';
import { ServeError } from '../errors.ts';
import type { ServingModel } from '../model/serving-model.ts';
import { DATATYPES, type Datatype, decodeTensor } from '../model/tensor.ts';
import { checkName, resolveModel } from './resolve.ts';

export const SERVER_NAME = 'k2k-model-server';
export const SERVER_VERSION = '0.1.0';
const PLATFORM = 'tensorflowjs_layers';

const NameParams = Type.Object({ name: Type.String({ minLength: 1 }) });
const VersionParams = Type.Object({
  name: Type.String({ minLength: 1 }),
  version: Type.String({ minLength: 1 }),
});
const Parameters = Type.Record(Type.String(), Type.Unknown());

export const InferRequest = Type.Object({
  id: Type.Optional(Type.String({ maxLength: 1024 })),
  parameters: Type.Optional(Parameters),
  inputs: Type.Array(
    Type.Object({
      name: Type.String({ minLength: 1 }),
      shape: Type.Array(Type.Integer({ minimum: 0 }), { maxItems: 16 }),
      datatype: Type.Union(DATATYPES.map((d) => Type.Literal(d))),
      parameters: Type.Optional(Parameters),
      data: Type.Unknown(),
    }),
    { minItems: 1 },
  ),
  outputs: Type.Optional(
    Type.Array(Type.Object({ name: Type.String({ minLength: 1 }), parameters: Type.Optional(Parameters) })),
  ),
});

function metadataOf(model: ServingModel) {
  return {
    name: model.name,
    versions: [model.version],
    platform: PLATFORM,
    inputs: [{ name: model.input.name, datatype: model.input.datatype, shape: model.input.shape }],
    outputs: model.outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape })),
  };
}

export const v2Routes: FastifyPluginAsyncTypebox = async (app) => {
  const health = { protocol: 'v2', endpoint: 'health' } as const;
  const metadata = { protocol: 'v2', endpoint: 'metadata' } as const;
  const infer = { protocol: 'v2', endpoint: 'infer' } as const;

  app.get('/v2', { config: { protocol: 'v2', endpoint: 'server_metadata' } }, async () => ({
    name: SERVER_NAME,
    version: SERVER_VERSION,
    extensions: [],
  }));
  app.get('/v2/health/live', { config: health }, async () => ({ live: true }));
  // The protocol answers "not ready" with a 4xx status; the body says why.
  app.get('/v2/health/ready', { config: health }, async (_req, reply) => {
    if (app.models.ready) return { ready: true };
    return reply.code(400).send({ ready: false, error: app.models.notReadyReason });
  });

  const modelReady = async (
    name: string,
    version: string | undefined,
    reply: { code(n: number): unknown },
  ) => {
    checkName(app, name);
    const m = app.models.current;
    const ready = app.models.ready && m !== undefined && (version === undefined || version === m.version);
    if (!ready) {
      reply.code(400);
      const reason =
        app.models.ready && version !== undefined
          ? `version "${version}" is not loaded (serving ${m?.version})`
          : app.models.notReadyReason;
      return { name, ready: false, error: reason };
    }
    return { name, ready: true };
  };
  app.get('/v2/models/:name/ready', { schema: { params: NameParams }, config: health }, async (req, reply) =>
    modelReady(req.params.name, undefined, reply),
  );
  app.get(
    '/v2/models/:name/versions/:version/ready',
    { schema: { params: VersionParams }, config: health },
    async (req, reply) => modelReady(req.params.name, req.params.version, reply),
  );

  app.get('/v2/models/:name', { schema: { params: NameParams }, config: metadata }, async (req) =>
    metadataOf(resolveModel(app, req, req.params.name)),
  );
  app.get(
    '/v2/models/:name/versions/:version',
    { schema: { params: VersionParams }, config: metadata },
    async (req) => metadataOf(resolveModel(app, req, req.params.name, req.params.version)),
  );

  const run = async (model: ServingModel, body: Static<typeof InferRequest>) => {
    const spec = model.input;
    const names = body.inputs.map((i) => i.name);
    const extra = names.find((n) => n !== spec.name);
    if (extra !== undefined) {
      throw new ServeError(
        'InvalidInput',
        `unknown input "${extra}"; model "${model.name}" has one input, "${spec.name}"`,
      );
    }
    if (names.length > 1)
      throw new ServeError('InvalidInput', `input "${spec.name}" is given ${names.length} times`);
    const requested = body.outputs?.map((o) => o.name);
    const missing = requested?.find((n) => !model.outputs.some((o) => o.name === n));
    if (missing !== undefined) {
      throw new ServeError(
        'InvalidOutput',
        `unknown output "${missing}"; model "${model.name}" has outputs: ${model.outputs.map((o) => o.name).join(', ')}`,
      );
    }
    const input = body.inputs[0]!;
    const t = decodeTensor(spec, input.data, input.datatype as Datatype, 'inputs[0].data', input.shape);
    const rows = t.shape[0] as number;
    const outputs = await model.predict(t.values, rows);
    return {
      model_name: model.name,
      model_version: model.version,
      ...(body.id !== undefined ? { id: body.id } : {}),
      outputs: outputs
        .filter((o) => !requested || requested.includes(o.spec.name))
        .map((o) => ({
          name: o.spec.name,
          shape: [rows, ...o.rowShape],
          datatype: 'FP32',
          data: Array.from(o.values),
        })),
    };
  };

  app.post(
    '/v2/models/:name/infer',
    { schema: { params: NameParams, body: InferRequest }, config: infer },
    async (req) => run(resolveModel(app, req, req.params.name), req.body),
  );
  app.post(
    '/v2/models/:name/versions/:version/infer',
    { schema: { params: VersionParams, body: InferRequest }, config: infer },
    async (req) => run(resolveModel(app, req, req.params.name, req.params.version), req.body),
  );
};
