// Kubernetes probes and the Prometheus endpoint, on the serving port. The reload trigger is on the
// admin listener (routes/admin.ts).
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
};
