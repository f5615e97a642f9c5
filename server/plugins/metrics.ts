// Decorates the app with the metrics registry and records every request: count and latency by
// protocol, endpoint and status code, and requests in flight. Routes say which protocol and
// endpoint they belong to in their route config.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { FinishRequest, Protocol, ServerMetrics } from '../metrics.ts';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ServerMetrics;
  }
  interface FastifyContextConfig {
    protocol?: Protocol;
    endpoint?: string;
  }
  interface FastifyRequest {
    /** Set by a handler to the model version that answered (request series are per version). */
    servedVersion?: string;
    /** Set when the canary answered this request (server/canary/plugin.ts). */
    forwardedToCanary?: boolean;
    /** Set by a handler whose route serves several endpoints (TF Serving's ":<verb>"). */
    servedEndpoint?: string;
  }
}

const STARTED = Symbol('k2k.started');
type Tracked = { [STARTED]?: FinishRequest };

const plugin: FastifyPluginAsync<{ metrics: ServerMetrics }> = async (app, { metrics }) => {
  app.decorate('metrics', metrics);
  app.decorateRequest('servedVersion', undefined);
  app.decorateRequest('forwardedToCanary', false);
  app.decorateRequest('servedEndpoint', undefined);

  const finish = (request: FastifyRequest, code: string) => {
    (request as Tracked)[STARTED]?.(
      request.servedEndpoint ?? request.routeOptions.config.endpoint ?? 'unknown',
      code,
      request.servedVersion,
      request.forwardedToCanary,
    );
  };
  app.addHook('onRequest', async (request, reply) => {
    const protocol: Protocol = request.routeOptions.config.protocol ?? 'none';
    (request as Tracked)[STARTED] = metrics.startRequest(protocol, 'http');
    // A client that hangs up before the answer gets no response, so onResponse never runs: count
    // it as 499 (nginx's "client closed request") and take it out of the in-flight gauge.
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) finish(request, '499');
    });
  });

  app.addHook('onResponse', async (request, reply) => finish(request, String(reply.statusCode)));
};

export const metricsPlugin = fp(plugin, { name: 'k2k-metrics', fastify: '5.x' });
