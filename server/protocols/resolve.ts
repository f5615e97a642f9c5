// Name and version checks shared by both protocols and both transports.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ServeError } from '../errors.ts';
import type { ModelHolder } from '../model/holder.ts';
import type { ServingModel } from '../model/serving-model.ts';

export function checkName(models: ModelHolder, name: string): void {
  if (name !== models.name) {
    throw new ServeError(
      'ModelNotFound',
      `model "${name}" is not served here; this server serves "${models.name}"`,
    );
  }
}

/** The version answering a request for `name` (and `version`, when given). */
export function servingModel(models: ModelHolder, name: string, version?: string): ServingModel {
  checkName(models, name);
  const model = models.serving();
  if (version !== undefined && version !== model.version) {
    throw new ServeError(
      'VersionNotFound',
      `model "${name}" has no version "${version}" loaded; serving version ${model.version}`,
    );
  }
  return model;
}

/** servingModel for a REST request; records the version for the request metrics. */
export function resolveModel(
  app: FastifyInstance,
  request: FastifyRequest,
  name: string,
  version?: string,
): ServingModel {
  const model = servingModel(app.models, name, version);
  request.servedVersion = model.version;
  return model;
}
