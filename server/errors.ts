// Every error the server answers with is one of these codes. Both protocols carry errors as
// {"error": "<message>"} (TensorFlow Serving and the Open Inference Protocol agree on that); we add
// "code" so clients and tests branch on a constant rather than on message text.
export const ServeErrors = {
  /** The request body does not match the route's schema (fastify/TypeBox validation). */
  InvalidRequest: 400,
  /** An input tensor's shape disagrees with its data or with the model's signature. */
  InvalidShape: 400,
  /** A datatype the model does not accept, or a value that is not of the declared datatype. */
  InvalidDatatype: 400,
  /** NaN, Infinity or a non-number where the model needs a finite number. */
  InvalidValue: 400,
  /** A required input is absent, or an input the model does not have was sent. */
  InvalidInput: 400,
  /** An output was requested that the model does not produce. */
  InvalidOutput: 400,
  /** The body is not JSON. */
  InvalidJSON: 400,
  /** A request this server understands but does not implement (e.g. TF Serving :regress). */
  Unsupported: 400,
  ModelNotFound: 404,
  VersionNotFound: 404,
  RouteNotFound: 404,
  /** The JSON body nests arrays/objects deeper than K2K_MAX_JSON_DEPTH (checked before parsing). */
  NestingTooDeep: 400,
  BodyTooLarge: 413,
  /** The JSON body holds more values than K2K_MAX_JSON_ELEMENTS (checked before parsing). */
  TooManyElements: 413,
  /** One request asks for more rows than K2K_MAX_REQUEST_ROWS. */
  TooManyRows: 413,
  UnsupportedMediaType: 415,
  PredictFailed: 500,
  /** A request forwarded to the canary got no answer from it (reset, timeout): never retried here. */
  CanaryFailed: 502,
  ReloadFailed: 500,
  Internal: 500,
  /** No model is loaded yet (or the load failed); the message says why. */
  ModelNotReady: 503,
  ShuttingDown: 503,
  /** The batch queue holds K2K_BATCHING_MAX_QUEUED_ROWS rows already; the answer carries Retry-After. */
  Overloaded: 503,
} as const;
export type ServeErrorCode = keyof typeof ServeErrors;

/** Retry-After of an Overloaded answer: a batch takes milliseconds, a second lets the backlog drain. */
export const OVERLOAD_RETRY_AFTER_SECONDS = 1;

export class ServeError extends Error {
  override readonly name = 'ServeError';
  readonly code: ServeErrorCode;
  readonly statusCode: number;
  /** Sent as Retry-After: when trying again makes sense. */
  readonly retryAfterSeconds?: number;

  constructor(code: ServeErrorCode, message: string, opts?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.statusCode = ServeErrors[code];
    if (opts?.retryAfterSeconds !== undefined) this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

export function isServeError(err: unknown): err is ServeError {
  return err instanceof ServeError;
}

export interface ErrorBody {
  error: string;
  code: ServeErrorCode;
}

export function errorBody(err: ServeError): ErrorBody {
  return { error: err.message, code: err.code };
}
