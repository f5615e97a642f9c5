// Storage errors carry a coded reason so callers branch on `code`, never on message text, and a
// `transient` flag so a trainer or server can tell "retry later" from "fix the configuration".
export const StorageErrorCodes = [
  'NotFound',
  'AccessDenied',
  'Unreachable',
  'InvalidURI',
  'NoCredentials',
  'InvalidConfig',
  /** put(..., { ifAbsent: true }) found the object already there. */
  'AlreadyExists',
  'Internal',
] as const;
export type StorageErrorCode = (typeof StorageErrorCodes)[number];

/** Codes worth retrying without a configuration change. */
const TRANSIENT_BY_DEFAULT: ReadonlySet<StorageErrorCode> = new Set(['Unreachable']);

export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly code: StorageErrorCode;
  readonly uri: string;
  readonly transient: boolean;

  /** `detail` is the part after `<uri>: `; the message names the URI so one log line is enough. */
  constructor(
    code: StorageErrorCode,
    uri: string,
    detail: string,
    opts: { cause?: unknown; transient?: boolean } = {},
  ) {
    super(uri ? `${uri}: ${detail}` : detail, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.uri = uri;
    this.transient = opts.transient ?? TRANSIENT_BY_DEFAULT.has(code);
  }
}

export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.code === code);
}
