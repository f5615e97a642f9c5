// Name and version checks shared by both protocols.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ServeError } from '../errors.ts';
import type { ServingModel } from '../model/serving-model.ts';

export function checkName(app: FastifyInstance, name: string): void {
  if (name !== app.models.name) {
    throw new ServeError(
      'ModelNotFound',
      `model "${name}" is not served here; this server serves "${app.models.name}"`,
    );
  }
}

/** The version answering this request; records it for the request metrics. */
export function resolveModel(
  app: FastifyInstance,
  request: FastifyRequest,
  name: string,
  version?: string,
): ServingModel {
  checkName(app, name);
  const model = app.models.serving();
  if (version !== undefined && version !== model.version) {
    throw new ServeError(
      'VersionNotFound',
      `model "${name}" has no version "${version}" loaded; serving version ${model.version}`,
    );
  }
  request.servedVersion = model.version;
  return model;
}
