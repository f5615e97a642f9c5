// Decorates the app with the model holder (which owns each version's batcher and drift monitor,
// so they swap together on reload) and closes it with the app.
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { ModelHolder } from '../model/holder.ts';

declare module 'fastify' {
  interface FastifyInstance {
    models: ModelHolder;
  }
}

const plugin: FastifyPluginAsync<{ models: ModelHolder }> = async (app, { models }) => {
  app.decorate('models', models);
  // Runs after the listener stopped and in-flight requests finished (fastify's close order).
  app.addHook('onClose', async () => {
    await models.close();
  });
};

export const modelsPlugin = fp(plugin, { name: 'k2k-models', fastify: '5.x', dependencies: ['k2k-metrics'] });
