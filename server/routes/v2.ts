// The Open Inference Protocol (KServe v2, Triton, MLServer), REST flavour, with the binary tensor
// extension (binary-tensors.ts):
// https://github.com/kserve/open-inference-protocol/blob/main/specification/protocol/inference_rest.md
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import { choiceParameters } from '../model/backend-choice.ts';
import type { ServingModel } from '../model/serving-model.ts';
import { DATATYPES } from '../model/tensor.ts';
import { resolveModel } from '../protocols/resolve.ts';
import { infer, modelMetadata, modelReadiness, serverMetadata } from '../protocols/v2.ts';
import {
  BINARY_CONTENT_TYPE,
  binaryOutputs,
  HEADER_LENGTH,
  inferInputs,
  inferResponse,
} from './binary-tensors.ts';

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
      // Absent when parameters.binary_data_size says where its bytes are.
      data: Type.Optional(Type.Unknown()),
    }),
    { minItems: 1 },
  ),
  outputs: Type.Optional(
    Type.Array(Type.Object({ name: Type.String({ minLength: 1 }), parameters: Type.Optional(Parameters) })),
  ),
});

export const v2Routes: FastifyPluginAsyncTypebox = async (app) => {
  const health = { protocol: 'v2', endpoint: 'health' } as const;
  const metadata = { protocol: 'v2', endpoint: 'metadata' } as const;
  const inferConfig = { protocol: 'v2', endpoint: 'infer' } as const;

  app.get('/v2', { config: { protocol: 'v2', endpoint: 'server_metadata' } }, async () => serverMetadata());
  app.get('/v2/health/live', { config: health }, async () => ({ live: true }));
  // The protocol answers "not ready" with a 4xx status; the body says why.
  app.get('/v2/health/ready', { config: health }, async (_req, reply) => {
    if (app.models.ready) return { ready: true };
    return reply.code(400).send({ ready: false, error: app.models.notReadyReason });
  });

  const modelReady = (name: string, version: string | undefined, reply: FastifyReply) => {
    const r = modelReadiness(app.models, name, version);
    if (r.ready) return { name, ready: true };
    reply.code(400);
    return { name, ready: false, error: r.reason };
  };
  app.get('/v2/models/:name/ready', { schema: { params: NameParams }, config: health }, async (req, reply) =>
    modelReady(req.params.name, undefined, reply),
  );
  app.get(
    '/v2/models/:name/versions/:version/ready',
    { schema: { params: VersionParams }, config: health },
    async (req, reply) => modelReady(req.params.name, req.params.version, reply),
  );

  // REST's metadata carries the backend choice as parameters (gRPC's in ModelMetadataResponse's
  // properties, and TF Serving's metadata field "backend").
  const describe = (model: ServingModel) => ({
    ...modelMetadata(model),
    ...(model.backend ? { parameters: choiceParameters(model.backend) } : {}),
  });
  app.get('/v2/models/:name', { schema: { params: NameParams }, config: metadata }, async (req) =>
    describe(resolveModel(app, req, req.params.name)),
  );
  app.get(
    '/v2/models/:name/versions/:version',
    { schema: { params: VersionParams }, config: metadata },
    async (req) => describe(resolveModel(app, req, req.params.name, req.params.version)),
  );

  const run = async (
    model: ServingModel,
    req: FastifyRequest & { body: Static<typeof InferRequest> },
    reply: FastifyReply,
  ) => {
    const { body } = req;
    const result = await infer(model, {
      ...(body.id !== undefined ? { id: body.id } : {}),
      inputs: inferInputs(body.inputs, req.binaryData),
      ...(body.outputs ? { outputs: body.outputs.map((o) => o.name) } : {}),
    });
    const answer = inferResponse(result, binaryOutputs(body.parameters, body.outputs));
    if ('json' in answer) return answer.json;
    return reply
      .header(HEADER_LENGTH, String(answer.header.length))
      .type(BINARY_CONTENT_TYPE)
      .send(answer.body);
  };

  app.post(
    '/v2/models/:name/infer',
    { schema: { params: NameParams, body: InferRequest }, config: inferConfig },
    async (req, reply) => run(resolveModel(app, req, req.params.name), req, reply),
  );
  app.post(
    '/v2/models/:name/versions/:version/infer',
    { schema: { params: VersionParams, body: InferRequest }, config: inferConfig },
    async (req, reply) => run(resolveModel(app, req, req.params.name, req.params.version), req, reply),
  );
};
