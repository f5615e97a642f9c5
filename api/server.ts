// The model server's settings: one table of name, type, default and meaning. The operator writes
// them into the server container's environment (serverEnv in
// operator/controllers/modeldeployment/desired.ts) and the server reads them back (loadConfig in
// server/config.ts), both through this module. Object storage is configured apart (storage.ts).
//
// One name per setting at every layer: its path in ServerSettings is the ModelDeployment field's
// path wherever the CRD exposes the setting (spec.drift.windowSize ⇒ drift.windowSize), and its
// variable is K2K_ plus that path in SCREAMING_SNAKE_CASE (K2K_DRIFT_WINDOW_SIZE), derived here
// and nowhere else. docs/decisions/0013-contracts-live-in-api.md says how to add one.
import Type, { type Static, type TSchema } from 'typebox';
import { StringEnum } from './schema.ts';
import { TERMINATION_LOG } from './termination.ts';
import { BACKENDS } from './training.ts';

export const TRACKS = ['stable', 'canary'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const ServerSettings = Type.Object({
  modelUri: Type.String({
    minLength: 1,
    description:
      's3://… or file:///… URI of a version (…/<model>/<version>/) or of a model (…/<model>/: the latest complete version, re-checked every pollIntervalSeconds).',
  }),
  modelName: Type.Optional(
    Type.String({
      pattern: '^[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$',
      description:
        'The name clients use in /v1/models/{name} and /v2/models/{name}. Default: the <model> segment of the URI.',
    }),
  ),
  track: StringEnum(TRACKS, {
    default: 'stable',
    description: 'The "track" label on every metric: stable or canary.',
  }),
  trafficFile: Type.String({
    default: '',
    description:
      'JSON file naming a canary and its share of requests ({"canaryURL": "http://…", "canaryGrpcAddress": "host:8500", "weight": 10}, weight in percent), re-read every second: this server forwards exactly that share of its inference requests (REST, and gRPC when canaryGrpcAddress is given; a counter per transport) to the canary and answers the rest (docs/canary.md). The operator projects it from a ConfigMap, so a new weight needs no restart. Empty or missing: no split.',
  }),
  host: Type.String({
    default: '127.0.0.1',
    description: 'Listen address (the container image sets 0.0.0.0).',
  }),
  port: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 8080,
    description: 'The serving port: both protocols, /metrics, health.',
  }),
  grpcPort: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 8500,
    description:
      "The gRPC port (on host): TensorFlow Serving's PredictionService and ModelService, the Open Inference Protocol's GRPCInferenceService and grpc.health.v1.Health. 8500 is TensorFlow Serving's.",
  }),
  admin: Type.Object(
    {
      host: Type.String({
        default: '127.0.0.1',
        description:
          'Listen address of the admin listener (POST /admin/reload). Loopback: only from inside the pod or through kubectl port-forward, never through the Service.',
      }),
      port: Type.Integer({
        minimum: 0,
        maximum: 65535,
        default: 8081,
        description: 'Port of the admin listener; not a container port, so no Service selects it.',
      }),
    },
    { default: {} },
  ),
  headersTimeoutSeconds: Type.Number({
    exclusiveMinimum: 0,
    maximum: 3600,
    default: 10,
    description:
      'A client must send its request headers within this time or gets 408 and is disconnected (slowloris). At most requestTimeoutSeconds.',
  }),
  requestTimeoutSeconds: Type.Number({
    exclusiveMinimum: 0,
    maximum: 3600,
    default: 30,
    description: 'A client must send its whole request (headers and body) within this time or gets 408.',
  }),
  idleTimeoutSeconds: Type.Number({
    exclusiveMinimum: 0,
    maximum: 3600,
    default: 120,
    description:
      'A connection on which nothing moves for this long is closed, also while its request waits for an answer.',
  }),
  maxJsonDepth: Type.Integer({
    minimum: 2,
    maximum: 1000,
    default: 32,
    description:
      'Deepest nesting of arrays and objects in a JSON body; deeper gets 400 NestingTooDeep, checked before parsing.',
  }),
  maxJsonElements: Type.Integer({
    minimum: 1,
    default: 2_000_000,
    description:
      'Most values (array elements, object members) in a JSON body; more gets 413 TooManyElements.',
  }),
  maxRequestRows: Type.Integer({
    minimum: 1,
    default: 8192,
    description: 'Most rows (instances, or the batch dimension) in one request; more gets 413 TooManyRows.',
  }),
  maxEventLoopDelayMs: Type.Integer({
    minimum: 0,
    maximum: 60_000,
    default: 1000,
    description:
      'Model requests get 503 Overloaded with Retry-After while the event loop is further behind than this (the synchronous backends predict on it, so this is how overload shows). 0 disables.',
  }),
  backend: StringEnum(BACKENDS, {
    default: 'auto',
    description:
      'TensorFlow.js backend: auto (measures native TensorFlow, if its addon loads, and wasm on the model at the first load and keeps the faster; cpu only if neither works), tensorflow, wasm or cpu.',
  }),
  batching: Type.Object(
    {
      maxBatchSize: Type.Integer({
        minimum: 1,
        maximum: 65536,
        default: 32,
        description: 'Rows per batched model call.',
      }),
      maxDelayMs: Type.Number({
        minimum: 0,
        maximum: 10000,
        default: 0,
        description:
          'Extra wait of the first request of a batch for others. 0 adds no fixed wait: a batch holds what arrived in the same event-loop turn or while the previous batch ran, and waits only for the clients the last batch answered, at most twice its duration (never for a lone client; docs/decisions/0041).',
      }),
      // Not in the CRD (the operator leaves it to the default), hence optional: the group the
      // operator passes whole from spec.batching still matches.
      maxQueuedRows: Type.Optional(
        Type.Integer({
          minimum: 1,
          description:
            'Rows waiting for a batch past which requests get 503 Overloaded with Retry-After. Default: 16 × maxBatchSize.',
        }),
      ),
    },
    { default: {} },
  ),
  bodyLimitBytes: Type.Integer({
    minimum: 1024,
    default: 16 * 1024 * 1024,
    description: 'Larger bodies get 413.',
  }),
  pollIntervalSeconds: Type.Number({
    minimum: 0,
    default: 30,
    description: 'Poll for a newer version (model URI) or retry a failed load; 0 disables.',
  }),
  loadAttempts: Type.Integer({
    minimum: 1,
    maximum: 100,
    default: 3,
    description:
      'Attempts of the first load before the server gives up: it writes the coded reason to its termination message (api/model-load.ts) and exits, and the kubelet restarts it with back-off (so a passing outage is still retried). A tampered or unloadable artifact gives up after one. Each attempt can take about 10 s against unreachable storage (3 storage requests of at most 3 s to connect), so 3 attempts report the reason within a minute of the pod starting.',
  }),
  loadRetrySeconds: Type.Number({
    minimum: 0,
    maximum: 60,
    default: 1,
    description: 'Wait before the second load attempt; each later wait doubles (at most 30 s).',
  }),
  drift: Type.Object(
    {
      windowSize: Type.Integer({
        minimum: 10,
        maximum: 1_000_000,
        default: 1000,
        description: 'Rows in the sliding drift window.',
      }),
      minSamples: Type.Integer({
        minimum: 1,
        default: 200,
        description: 'Exported threshold: alerts need this many rows.',
      }),
      psiThreshold: Type.Number({
        exclusiveMinimum: 0,
        default: 0.2,
        description: 'Exported PSI threshold.',
      }),
      ksPValueThreshold: Type.Number({
        exclusiveMinimum: 0,
        exclusiveMaximum: 1,
        default: 0.05,
        description:
          'Family-wise KS significance level; the per-feature threshold is this / features (Bonferroni).',
      }),
    },
    { default: {} },
  ),
  shutdownDelaySeconds: Type.Number({
    minimum: 0,
    default: 0,
    description:
      'On SIGTERM, report not-ready and keep serving this long before closing the listener (endpoint propagation).',
  }),
  shutdownTimeoutSeconds: Type.Number({
    minimum: 1,
    default: 30,
    description: 'Exit with status 1 if draining takes longer.',
  }),
  terminationLog: Type.String({
    minLength: 1,
    default: TERMINATION_LOG,
    description:
      'Where a load that gave up writes its coded reason (api/model-load.ts); Kubernetes copies it into the container status for the operator.',
  }),
  logLevel: StringEnum(LOG_LEVELS, { default: 'info', description: 'pino log level.' }),
});
export type ServerSettings = Static<typeof ServerSettings>;

type Paths<T> = {
  [K in keyof T & string]-?: NonNullable<T[K]> extends Record<string, unknown>
    ? `${K}.${keyof NonNullable<T[K]> & string}`
    : K;
}[keyof T & string];
/** A setting's name: its dotted path in ServerSettings, such as "drift.windowSize". */
export type ServerSetting = Paths<ServerSettings>;

/** drift.windowSize → K2K_DRIFT_WINDOW_SIZE, drift.ksPValueThreshold → K2K_DRIFT_KS_P_VALUE_THRESHOLD */
export function serverEnvName(setting: ServerSetting): string {
  const words = setting.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2');
  return `K2K_${words.replace(/\./g, '_').toUpperCase()}`;
}

/** One environment variable of the server. */
export interface ServerVariable {
  setting: ServerSetting;
  name: string;
  schema: TSchema;
}

function variables(schema: TSchema, prefix: string): ServerVariable[] {
  const properties = (schema as { properties?: Record<string, TSchema> }).properties ?? {};
  return Object.entries(properties).flatMap(([key, child]) => {
    const setting = `${prefix}${key}`;
    if ((child as { properties?: unknown }).properties) return variables(child, `${setting}.`);
    return [
      { setting: setting as ServerSetting, name: serverEnvName(setting as ServerSetting), schema: child },
    ];
  });
}

/** Every variable the server reads, in the table's order. */
export const SERVER_VARIABLES: readonly ServerVariable[] = variables(ServerSettings, '');

/**
 * What the operator writes: the variables of the settings given. Groups (batching, drift) are
 * given whole, so a ModelDeployment field renamed without the table does not compile.
 */
export function encodeServerEnv(settings: Partial<ServerSettings>): Array<{ name: string; value: string }> {
  const env: Array<{ name: string; value: string }> = [];
  for (const v of SERVER_VARIABLES) {
    const value = v.setting
      .split('.')
      .reduce<unknown>((o, key) => (o as Record<string, unknown> | undefined)?.[key], settings);
    if (value !== undefined) env.push({ name: v.name, value: String(value) });
  }
  return env;
}

/**
 * What the server reads: the values of the variables set (by name), nested like ServerSettings,
 * still strings; the caller converts, defaults and validates them against ServerSettings.
 */
export function decodeServerEnv(
  values: Readonly<Record<string, string | undefined>>,
): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const v of SERVER_VARIABLES) {
    const value = values[v.name];
    if (value === undefined || value === '') continue;
    // Settings are a setting or a group of settings (admin, batching, drift), never deeper.
    const [name, member] = v.setting.split('.') as [string, string | undefined];
    raw[name] = member === undefined ? value : { ...(raw[name] as object | undefined), [member]: value };
  }
  return raw;
}
