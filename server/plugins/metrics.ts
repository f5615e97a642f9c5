// Decorates the app with the metrics registry and records every request: count and latency by
// protocol, endpoint and status code, and requests in flight. Routes say which protocol and
// endpoint they belong to in their route config.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Protocol, ServerMetrics } from '../metrics.ts';

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
  }
}

interface Started {
  at: bigint;
  protocol: Protocol;
  version: string;
}
const STARTED = Symbol('k2k.started');
type Tracked = { [STARTED]?: Started };

const plugin: FastifyPluginAsync<{ metrics: ServerMetrics }> = async (app, { metrics }) => {
  app.decorate('metrics', metrics);
  app.decorateRequest('servedVersion', undefined);

  const finish = (request: FastifyRequest, code: string) => {
    const started = (request as Tracked)[STARTED];
    if (!started) return; // already counted
    (request as Tracked)[STARTED] = undefined;
    metrics.inFlight.dec({ protocol: started.protocol, version: started.version });
    const labels = {
      protocol: started.protocol,
      endpoint: request.routeOptions.config.endpoint ?? 'unknown',
      code,
      version: request.servedVersion ?? started.version,
    };
    metrics.requests.inc(labels);
    metrics.requestDuration.observe(labels, Number(process.hrtime.bigint() - started.at) / 1e9);
  };
  app.addHook('onRequest', async (request, reply) => {
    const protocol = request.routeOptions.config.protocol ?? 'none';
    const started: Started = { at: process.hrtime.bigint(), protocol, version: metrics.version };
    (request as Tracked)[STARTED] = started;
    metrics.inFlight.inc({ protocol, version: started.version });
    // A client that hangs up before the answer gets no response, so onResponse never runs: count
    // it as 499 (nginx's "client closed request") and take it out of the in-flight gauge.
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) finish(request, '499');
    });
  });

  app.addHook('onResponse', async (request, reply) => finish(request, String(reply.statusCode)));
};

export const metricsPlugin = fp(plugin, { name: 'k2k-metrics', fastify: '5.x' });
