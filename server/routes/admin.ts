// The admin listener's routes. They change what the server does, so they are not on the serving
// port: the admin listener binds loopback by default (K2K_ADMIN_HOST), which the pod's Service
// cannot reach; an operator reaches it with `kubectl port-forward pod/<pod> 8081`.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

export const adminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Loads the latest complete version (model URI) or retries the configured version; in-flight
  // requests finish on the version they started with.
  app.post('/admin/reload', { config: { protocol: 'admin', endpoint: 'reload' } }, async () => {
    const outcome = await app.models.load();
    return { model: app.models.name, ...outcome };
  });
};
