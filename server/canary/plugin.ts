// The REST side of the split in a stable pod: each inference request (TF Serving predict and
// classify, which share a route; Open Inference infer) is either answered here or forwarded whole
// to the canary, as the router
// (router.ts: the exact counter rule at the traffic file's weight) picks. The decision is made before the body is parsed, so a
// forwarded request costs this pod a copy of its bytes, not a parse.
import type { Readable } from 'node:stream';
import { Readable as ReadableStream } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { ServeError } from '../errors.ts';
import { CanaryClient, FORWARDED_HEADER } from './forward.ts';
import type { CanaryRouter } from './router.ts';

export interface CanaryPluginOptions {
  router: CanaryRouter;
  bodyLimitBytes: number;
  timeoutMs: number;
  /** Names this pod in the forwarded header (its hostname in a pod). */
  from: string;
}

const INFERENCE = new Set(['tfserving/predict', 'v2/infer']);

async function readBody(payload: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of payload) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new ServeError('BodyTooLarge', `the request body exceeds ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const plugin: FastifyPluginAsync<CanaryPluginOptions> = async (app, opts) => {
  const client = new CanaryClient(opts.timeoutMs);
  app.addHook('onClose', async () => client.close());

  app.addHook('preParsing', async (request, reply, payload) => {
    const { protocol, endpoint } = request.routeOptions.config;
    if (!INFERENCE.has(`${protocol}/${endpoint}`)) return payload;
    if (request.headers[FORWARDED_HEADER] !== undefined) return payload; // never forward twice
    const canaryURL = opts.router.pick('http');
    if (!canaryURL) return payload;
    const body = await readBody(payload, opts.bodyLimitBytes);
    const answer = await client.forward(canaryURL, request.raw as never, body, opts.from);
    if (answer.kind === 'unreachable') {
      // Nothing reached the canary (not ready, no endpoints): this pod answers, so stable capacity
      // never depends on the canary; the fallback counter shows the share the canary missed.
      app.metrics.canaryFallback.inc({ transport: 'http' });
      request.log.debug({ reason: answer.message }, 'canary unreachable; answering here');
      return ReadableStream.from([body]);
    }
    request.forwardedToCanary = true;
    if (answer.kind === 'failed') throw new ServeError('CanaryFailed', answer.message);
    reply.code(answer.status).headers(answer.headers).send(answer.body);
    return payload;
  });
};

export const canaryPlugin = fp(plugin, { name: 'k2k-canary', fastify: '5.x', dependencies: ['k2k-metrics'] });
