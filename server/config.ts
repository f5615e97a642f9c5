// The server's configuration: environment variables, each overridable by a command-line flag of
// the same name (K2K_MAX_BATCH_SIZE ⇔ --max-batch-size=N). One table defines name, type, default
// and meaning; errors name the variable and the bad value.
import Type, { type Static } from 'typebox';
import { Value } from 'typebox/value';
import { StringEnum } from '../api/schema.ts';
import type { BatchSettings } from './batcher.ts';
import type { JsonLimits } from './json-limits.ts';
import { BACKENDS, type BackendRequest } from './model/backend.ts';
import { classifyModelURI, type LoadRetry } from './model/holder.ts';

export const TRACKS = ['stable', 'canary'] as const;

export const ServerConfig = Type.Object({
  K2K_MODEL_URI: Type.String({
    minLength: 1,
    description:
      's3://… or file:///… URI of a version (…/<model>/<version>/) or of a model (…/<model>/: the latest complete version, re-checked every K2K_POLL_INTERVAL_SECONDS).',
  }),
  K2K_MODEL_NAME: Type.Optional(
    Type.String({
      pattern: '^[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$',
      description:
        'The name clients use in /v1/models/{name} and /v2/models/{name}. Default: the <model> segment of the URI.',
    }),
  ),
  K2K_TRACK: StringEnum(TRACKS, {
    default: 'stable',
    description: 'The "track" label on every metric: stable or canary.',
  }),
  K2K_HOST: Type.String({
    default: '127.0.0.1',
    description: 'Listen address (the container image sets 0.0.0.0).',
  }),
  K2K_PORT: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 8080,
    description: 'The serving port: both protocols, /metrics, health.',
  }),
  K2K_ADMIN_HOST: Type.String({
    default: '127.0.0.1',
    description:
      'Listen address of the admin listener (POST /admin/reload). Loopback: only from inside the pod or through kubectl port-forward, never through the Service.',
  }),
  K2K_ADMIN_PORT: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 8081,
    description: 'Port of the admin listener; not a container port, so no Service selects it.',
  }),
  K2K_HEADERS_TIMEOUT_SECONDS: Type.Number({
    exclusiveMinimum: 0,
    maximum: 3600,
    default: 10,
    description:
      'A client must send its request headers within this time or gets 408 and is disconnected (slowloris). At most K2K_REQUEST_TIMEOUT_SECONDS.',
  }),
  K2K_REQUEST_TIMEOUT_SECONDS: Type.Number({
    exclusiveMinimum: 0,
    maximum: 3600,
    default: 30,
    description: 'A client must send its whole request (headers and body) within this time or gets 408.',
  }),
  K2K_IDLE_TIMEOUT_SECONDS: Type.Number({
    exclusiveMinimum: 0,
    maximum: 3600,
    default: 120,
    description:
      'A connection on which nothing moves for this long is closed, also while its request waits for an answer.',
  }),
  K2K_MAX_JSON_DEPTH: Type.Integer({
    minimum: 2,
    maximum: 1000,
    default: 32,
    description:
      'Deepest nesting of arrays and objects in a JSON body; deeper gets 400 NestingTooDeep, checked before parsing.',
  }),
  K2K_MAX_JSON_ELEMENTS: Type.Integer({
    minimum: 1,
    default: 2_000_000,
    description:
      'Most values (array elements, object members) in a JSON body; more gets 413 TooManyElements.',
  }),
  K2K_MAX_REQUEST_ROWS: Type.Integer({
    minimum: 1,
    default: 8192,
    description: 'Most rows (instances, or the batch dimension) in one request; more gets 413 TooManyRows.',
  }),
  K2K_MAX_EVENT_LOOP_DELAY_MS: Type.Integer({
    minimum: 0,
    maximum: 60_000,
    default: 1000,
    description:
      'Model requests get 503 Overloaded with Retry-After while the event loop is further behind than this (the synchronous backends predict on it, so this is how overload shows). 0 disables.',
  }),
  K2K_MAX_QUEUED_ROWS: Type.Optional(
    Type.Integer({
      minimum: 1,
      description:
        'Rows waiting for a batch past which requests get 503 Overloaded with Retry-After. Default: 16 × K2K_MAX_BATCH_SIZE.',
    }),
  ),
  K2K_BACKEND: StringEnum(BACKENDS, {
    default: 'auto',
    description:
      'TensorFlow.js backend: auto (native TensorFlow if its addon loads, else wasm, else cpu), tensorflow, wasm or cpu.',
  }),
  K2K_MAX_BATCH_SIZE: Type.Integer({
    minimum: 1,
    maximum: 65536,
    default: 32,
    description: 'Rows per batched model call.',
  }),
  K2K_MAX_BATCH_WAIT_MS: Type.Number({
    minimum: 0,
    maximum: 10000,
    default: 0,
    description:
      'Extra wait of the first request of a batch for others. 0 adds no latency: a batch holds what arrived in the same event-loop turn or while the previous batch ran.',
  }),
  K2K_BODY_LIMIT_BYTES: Type.Integer({
    minimum: 1024,
    default: 16 * 1024 * 1024,
    description: 'Larger bodies get 413.',
  }),
  K2K_POLL_INTERVAL_SECONDS: Type.Number({
    minimum: 0,
    default: 30,
    description: 'Poll for a newer version (model URI) or retry a failed load; 0 disables.',
  }),
  K2K_LOAD_ATTEMPTS: Type.Integer({
    minimum: 1,
    maximum: 100,
    default: 5,
    description:
      'Attempts of the first load before the server gives up: it writes the coded reason to its termination message (api/model-load.ts) and exits, and the kubelet restarts it with back-off. A tampered or unloadable artifact gives up after one.',
  }),
  K2K_LOAD_RETRY_SECONDS: Type.Number({
    minimum: 0,
    maximum: 60,
    default: 1,
    description: 'Wait before the second load attempt; each later wait doubles (at most 30 s).',
  }),
  K2K_DRIFT_WINDOW: Type.Integer({
    minimum: 10,
    maximum: 1_000_000,
    default: 1000,
    description: 'Rows in the sliding drift window.',
  }),
  K2K_DRIFT_MIN_SAMPLES: Type.Integer({
    minimum: 1,
    default: 200,
    description: 'Exported threshold: alerts need this many rows.',
  }),
  K2K_DRIFT_PSI_THRESHOLD: Type.Number({
    exclusiveMinimum: 0,
    default: 0.2,
    description: 'Exported PSI threshold.',
  }),
  K2K_DRIFT_KS_ALPHA: Type.Number({
    exclusiveMinimum: 0,
    exclusiveMaximum: 1,
    default: 0.05,
    description:
      'Family-wise KS significance level; the per-feature threshold is alpha / features (Bonferroni).',
  }),
  K2K_SHUTDOWN_DELAY_SECONDS: Type.Number({
    minimum: 0,
    default: 0,
    description:
      'On SIGTERM, report not-ready and keep serving this long before closing the listener (endpoint propagation).',
  }),
  K2K_SHUTDOWN_TIMEOUT_SECONDS: Type.Number({
    minimum: 1,
    default: 30,
    description: 'Exit with status 1 if draining takes longer.',
  }),
  K2K_LOG_LEVEL: StringEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, {
    default: 'info',
  }),
});
export type ServerConfigEnv = Static<typeof ServerConfig>;

export interface ServerSettings {
  modelUri: string;
  modelName: string;
  track: (typeof TRACKS)[number];
  host: string;
  port: number;
  admin: { host: string; port: number };
  timeouts: { headersMs: number; requestMs: number; idleMs: number };
  backend: BackendRequest;
  batch: BatchSettings;
  json: JsonLimits;
  maxEventLoopDelayMs: number;
  bodyLimit: number;
  pollIntervalMs: number;
  loadRetry: LoadRetry;
  drift: { window: number; minSamples: number; psiThreshold: number; ksAlpha: number };
  shutdownDelayMs: number;
  shutdownTimeoutMs: number;
  logLevel: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const KEYS = Object.keys(ServerConfig.properties) as Array<keyof ServerConfigEnv>;

/** --max-batch-size → K2K_MAX_BATCH_SIZE */
export function flagToEnv(flag: string): string {
  return `K2K_${flag.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;
}

/** Merges env and flags (flags win), validates, and derives the settings. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = [],
): ServerSettings {
  const raw: Record<string, unknown> = {};
  for (const key of KEYS) {
    const v = env[key];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--'))
      throw new ConfigError(`unexpected argument "${arg}"; flags look like --model-uri=s3://…`);
    const eq = arg.indexOf('=');
    const name = flagToEnv(eq < 0 ? arg : arg.slice(0, eq));
    if (!KEYS.includes(name as keyof ServerConfigEnv))
      throw new ConfigError(`unknown flag ${arg.split('=')[0]} (no ${name})`);
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`flag ${arg} needs a value`);
    raw[name] = value;
  }
  const given = { ...raw };
  const converted = Value.Default(ServerConfig, Value.Convert(ServerConfig, raw));
  const errors = [...Value.Errors(ServerConfig, converted)];
  if (errors.length > 0) {
    const lines = errors.map((e) => {
      const key =
        e.instancePath.replace(/^\//, '') ||
        (e.params as { requiredProperties?: string[] }).requiredProperties?.[0] ||
        '';
      const shown = key && key in given ? `=${JSON.stringify(given[key])}` : ' (unset)';
      const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues;
      return `${key}${shown}: ${e.message}${allowed ? ` (${allowed.join(', ')})` : ''}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${[...new Set(lines)].join('\n  ')}`);
  }
  const c = converted as ServerConfigEnv;
  if (c.K2K_HEADERS_TIMEOUT_SECONDS > c.K2K_REQUEST_TIMEOUT_SECONDS) {
    throw new ConfigError(
      `invalid configuration:\n  K2K_HEADERS_TIMEOUT_SECONDS=${c.K2K_HEADERS_TIMEOUT_SECONDS}: must not exceed K2K_REQUEST_TIMEOUT_SECONDS=${c.K2K_REQUEST_TIMEOUT_SECONDS}`,
    );
  }
  return {
    modelUri: c.K2K_MODEL_URI,
    modelName: c.K2K_MODEL_NAME ?? classifyModelURI(c.K2K_MODEL_URI).model,
    track: c.K2K_TRACK,
    host: c.K2K_HOST,
    port: c.K2K_PORT,
    admin: { host: c.K2K_ADMIN_HOST, port: c.K2K_ADMIN_PORT },
    timeouts: {
      headersMs: c.K2K_HEADERS_TIMEOUT_SECONDS * 1000,
      requestMs: c.K2K_REQUEST_TIMEOUT_SECONDS * 1000,
      idleMs: c.K2K_IDLE_TIMEOUT_SECONDS * 1000,
    },
    backend: c.K2K_BACKEND,
    batch: {
      maxBatchSize: c.K2K_MAX_BATCH_SIZE,
      maxWaitMs: c.K2K_MAX_BATCH_WAIT_MS,
      maxQueuedRows: c.K2K_MAX_QUEUED_ROWS ?? 16 * c.K2K_MAX_BATCH_SIZE,
      maxRequestRows: c.K2K_MAX_REQUEST_ROWS,
    },
    json: { maxDepth: c.K2K_MAX_JSON_DEPTH, maxElements: c.K2K_MAX_JSON_ELEMENTS },
    maxEventLoopDelayMs: c.K2K_MAX_EVENT_LOOP_DELAY_MS,
    bodyLimit: c.K2K_BODY_LIMIT_BYTES,
    pollIntervalMs: c.K2K_POLL_INTERVAL_SECONDS * 1000,
    loadRetry: { attempts: c.K2K_LOAD_ATTEMPTS, delayMs: c.K2K_LOAD_RETRY_SECONDS * 1000 },
    drift: {
      window: c.K2K_DRIFT_WINDOW,
      minSamples: c.K2K_DRIFT_MIN_SAMPLES,
      psiThreshold: c.K2K_DRIFT_PSI_THRESHOLD,
      ksAlpha: c.K2K_DRIFT_KS_ALPHA,
    },
    shutdownDelayMs: c.K2K_SHUTDOWN_DELAY_SECONDS * 1000,
    shutdownTimeoutMs: c.K2K_SHUTDOWN_TIMEOUT_SECONDS * 1000,
    logLevel: c.K2K_LOG_LEVEL,
  };
}
