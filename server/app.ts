// buildApp(opts) assembles the model server; only main.ts listens. Tests inject requests.
// Two listeners: the serving app (both protocols, probes, /metrics) and app.admin (reload), so
// nothing that changes the server is reachable through the Service.
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import { type ObjectStore, openStore, storageOptionsFromEnv } from '../lib/storage/index.ts';
import { GrpcCanaryClient } from './canary/grpc-forward.ts';
import { canaryPlugin } from './canary/plugin.ts';
import { CanaryRouter } from './canary/router.ts';
import { batchSettings, type LoadedSettings } from './config.ts';
import { errorBody, isServeError, ServeError, type ServeErrorCode } from './errors.ts';
import { GrpcListener } from './grpc/server.ts';
import { checkJsonLimits } from './json-limits.ts';
import { LoadShedder } from './load-shedding.ts';
import { ServerMetrics } from './metrics.ts';
import { initBackend } from './model/backend.ts';
import { ModelHolder } from './model/holder.ts';
import type { LoadFailure } from './model/load-failure.ts';
import { metricsPlugin } from './plugins/metrics.ts';
import { modelsPlugin } from './plugins/models.ts';
import { adminRoutes } from './routes/admin.ts';
import { BINARY_CONTENT_TYPE, HEADER_LENGTH, splitBody } from './routes/binary-tensors.ts';
import { opsRoutes } from './routes/ops.ts';
import { tfServingRoutes } from './routes/tfserving.ts';
import { v2Routes } from './routes/v2.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The admin listener (routes/admin.ts); main.ts listens on it, closing the app closes it. */
    admin: FastifyInstance;
    /** The gRPC listener (grpc/server.ts); main.ts listens on it, closing the app drains it first. */
    grpc: GrpcListener;
  }
}

/** How often Node checks the headers and request timeouts: their precision. */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

export interface AppOptions {
  settings: LoadedSettings;
  /** Default: openStore(storageOptionsFromEnv()). */
  store?: ObjectStore;
  logger?: FastifyServerOptions['logger'];
  /** Start loading the model in the background (default true); false leaves it to the caller. */
  autoLoad?: boolean;
  /** Export process metrics (default true). */
  processMetrics?: boolean;
  /**
   * Called when the first load gave up (settings.loadAttempts). main.ts writes the termination
   * message and exits; without it the server stays up, not ready, and polls on.
   */
  onLoadFailure?: (failure: LoadFailure) => void;
}

/** fastify's own error codes → ours. */
const FASTIFY_ERRORS: Record<string, ServeErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BodyTooLarge',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UnsupportedMediaType',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'InvalidJSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'InvalidRequest',
  FST_ERR_VALIDATION: 'InvalidRequest',
};

function toServeError(err: FastifyError): ServeError {
  if (isServeError(err)) return err;
  if (err.validation) {
    const where = err.validationContext ?? 'request';
    const first = err.validation[0];
    const path = first?.instancePath ? `${where}${first.instancePath}` : where;
    const detail = first ? `${path}: ${first.message}` : err.message;
    return new ServeError('InvalidRequest', detail);
  }
  const mapped = err.code ? FASTIFY_ERRORS[err.code] : undefined;
  if (mapped) return new ServeError(mapped, err.message);
  if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new ServeError('InvalidJSON', `the body is not valid JSON: ${err.message}`);
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    const e = new ServeError('InvalidRequest', err.message);
    (e as { statusCode: number }).statusCode = err.statusCode;
    return e;
  }
  return new ServeError('Internal', `internal error: ${err.message}`, { cause: err });
}

/** Coded JSON errors and a coded 404, the same on both listeners. */
function answerErrorsAsCodes(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const e = toServeError(err);
    if (
      e.statusCode >= 500 &&
      e.code !== 'ModelNotReady' &&
      e.code !== 'ShuttingDown' &&
      e.code !== 'Overloaded'
    ) {
      request.log.error({ err }, 'request failed');
    }
    if (e.retryAfterSeconds !== undefined) reply.header('retry-after', String(e.retryAfterSeconds));
    return reply.code(e.statusCode).send(errorBody(e));
  });
  app.setNotFoundHandler({}, (request, reply) => {
    const e = new ServeError('RouteNotFound', `no route ${request.method} ${request.url.split('?')[0]}`);
    return reply.code(e.statusCode).send(errorBody(e));
  });
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { settings } = opts;
  const candidates = await initBackend(settings.backend);
  const app = Fastify({
    logger: opts.logger ?? false,
    // One log line per request (probes and scrapes included) costs more than it tells; errors
    // are logged by the error handler, traffic is in the metrics. (Through a LogController: the
    // top-level disableRequestLogging option is deprecated, FSTDEP023.)
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: settings.bodyLimitBytes,
    // Drop idle keep-alive sockets on close so shutdown does not wait for clients to hang up.
    forceCloseConnections: 'idle',
    // A client that sends its request slowly (slowloris) holds a socket, not the server: it gets
    // 408 once its headers or its whole request take too long, and a silent socket is closed.
    requestTimeout: settings.requestTimeoutSeconds * 1000,
    connectionTimeout: settings.idleTimeoutSeconds * 1000,
    http: {
      headersTimeout: settings.headersTimeoutSeconds * 1000,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
  }).setValidatorCompiler(TypeBoxValidatorCompiler);

  app.log.info({ candidates, requested: settings.backend }, 'TensorFlow.js backends initialised');

  const metrics = new ServerMetrics({
    model: settings.modelName,
    track: settings.track,
    maxBatchSize: settings.batching.maxBatchSize,
    defaultMetrics: opts.processMetrics ?? true,
  });
  const models = new ModelHolder({
    store: opts.store ?? openStore(storageOptionsFromEnv()),
    uri: settings.modelUri,
    name: settings.modelName,
    batch: batchSettings(settings),
    drift: settings.drift,
    metrics,
    backend: { requested: settings.backend, candidates },
    log: app.log,
  });

  // The body's shape is checked before JSON.parse recurses into it (json-limits.ts). `curl -d`
  // sends JSON as x-www-form-urlencoded and TF Serving accepts it; so do we. A body with an
  // Inference-Header-Content-Length is JSON followed by binary tensors (routes/binary-tensors.ts),
  // whatever its content type; application/octet-stream is only that.
  const json = app.getDefaultJsonParser('error', 'error');
  const jsonLimits = { maxDepth: settings.maxJsonDepth, maxElements: settings.maxJsonElements };
  app.removeContentTypeParser('application/json');
  app.decorateRequest('binaryData', undefined);
  app.addContentTypeParser(
    ['application/json', 'application/x-www-form-urlencoded', 'text/plain', BINARY_CONTENT_TYPE],
    { parseAs: 'buffer' },
    (request, body, done) => {
      const header = request.headers[HEADER_LENGTH];
      let text: string;
      let mayPoison: boolean;
      try {
        if (header !== undefined) {
          const parts = splitBody(body as Buffer, header);
          request.binaryData = parts.binary;
          text = parts.json.toString('utf8');
        } else if (request.headers['content-type']?.startsWith(BINARY_CONTENT_TYPE)) {
          throw new ServeError(
            'InvalidRequest',
            `an ${BINARY_CONTENT_TYPE} body needs the Inference-Header-Content-Length header (the length of its JSON part)`,
          );
        } else {
          text = (body as Buffer).toString('utf8');
        }
        ({ mayPoison } = checkJsonLimits(text, jsonLimits));
      } catch (err) {
        done(err as Error, undefined);
        return;
      }
      if (!mayPoison && text !== '') {
        // No key can be __proto__ or constructor: JSON.parse alone gives what the secure parser
        // would, without its two regular-expression passes over the body. Errors (and the empty
        // body) still go through the default parser, so they read the same.
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          value = undefined;
        }
        if (value !== undefined) {
          done(null, value);
          return;
        }
      }
      json(request, text, (err, value) => {
        if (err && header !== undefined) {
          done(
            new ServeError(
              'InvalidJSON',
              `the first ${header} bytes of the body (Inference-Header-Content-Length) are not valid JSON: ${err.message}`,
            ),
            undefined,
          );
          return;
        }
        done(err, value);
      });
    },
  );

  answerErrorsAsCodes(app);

  // While shutting down, every response closes its connection: keep-alive clients then reconnect
  // to another pod instead of holding this one open (close() waits for their sockets).
  app.addHook('onSend', async (_request, reply) => {
    if (models.state === 'stopping') reply.header('connection', 'close');
  });

  await app.register(metricsPlugin, { metrics });
  await app.register(modelsPlugin, { models });
  // After the metrics plugin's hook, so shed requests are counted (as 503).
  const shedder = new LoadShedder(settings.maxEventLoopDelayMs);
  app.addHook('onRequest', async (request) => {
    const { protocol } = request.routeOptions.config;
    if (protocol === 'tfserving' || protocol === 'v2') shedder.check();
  });
  app.addHook('onClose', async () => shedder.stop());
  // A stable pod with a traffic file splits both transports (docs/decisions/0029).
  const from = process.env.HOSTNAME ?? 'stable';
  const timeoutMs = settings.requestTimeoutSeconds * 1000;
  const canary = settings.trafficFile
    ? {
        router: new CanaryRouter(settings.trafficFile, app.log, metrics),
        client: new GrpcCanaryClient(timeoutMs, from),
      }
    : undefined;
  const grpc = new GrpcListener(
    { models, metrics, shedder, log: app.log, ...(canary ? { canary } : {}) },
    { maxMessageBytes: settings.bodyLimitBytes, idleTimeoutSeconds: settings.idleTimeoutSeconds },
  );
  app.decorate('grpc', grpc);
  // Before the REST listener closes and long before the model is disposed (onClose): gRPC stops
  // taking calls and answers the ones in flight.
  app.addHook('preClose', async () => grpc.close());
  if (canary) {
    canary.router.start();
    app.addHook('onClose', async () => {
      canary.router.stop();
      canary.client.close();
    });
    await app.register(canaryPlugin, {
      router: canary.router,
      bodyLimitBytes: settings.bodyLimitBytes,
      timeoutMs,
      from,
    });
  }
  await app.register(opsRoutes);
  await app.register(tfServingRoutes);
  await app.register(v2Routes);

  const admin = Fastify({
    loggerInstance: app.log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024,
  });
  answerErrorsAsCodes(admin);
  admin.decorate('models', models);
  await admin.register(metricsPlugin, { metrics });
  await admin.register(adminRoutes);
  app.decorate('admin', admin);
  app.addHook('onClose', async () => {
    await admin.close();
  });

  if (opts.autoLoad ?? true) {
    // Readiness turns true when this finishes; a failure is reported on the ready endpoints and,
    // once retrying gave up, to onLoadFailure.
    const retry = { attempts: settings.loadAttempts, delayMs: settings.loadRetrySeconds * 1000 };
    void models.loadUntilServing(retry).then((failure) => {
      if (failure) opts.onLoadFailure?.(failure);
    });
    models.startPolling(settings.pollIntervalSeconds * 1000);
  }
  return app;
}
