// Kubernetes probes, the Prometheus endpoint and the reload trigger, on the serving port.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

export const opsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/healthz', { config: { protocol: 'health', endpoint: 'live' } }, async () => ({ live: true }));

  app.get('/readyz', { config: { protocol: 'health', endpoint: 'ready' } }, async (_req, reply) => {
    const m = app.models;
    if (m.ready) return { ready: true, model: m.name, version: m.current!.version };
    return reply.code(503).send({ ready: false, model: m.name, error: m.notReadyReason });
  });

  app.get('/metrics', { config: { protocol: 'metrics', endpoint: 'metrics' } }, async (_req, reply) => {
    const text = await app.metrics.registry.metrics();
    return reply.type(app.metrics.registry.contentType).send(text);
  });

  // Loads the latest complete version (model URI) or retries the configured version; in-flight
  // requests finish on the version they started with.
  app.post('/admin/reload', { config: { protocol: 'admin', endpoint: 'reload' } }, async () => {
    const outcome = await app.models.load();
    return { model: app.models.name, ...outcome };
  });
};
