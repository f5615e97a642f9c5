// Error codes of the operator runtime. Callers branch on `code` (or `status` for API errors);
// people read `message`.
import type { KubernetesObject } from '@kubernetes/client-node';

export const RuntimeErrorCode = {
  InvalidKey: 'INVALID_KEY',
  InvalidObject: 'INVALID_OBJECT',
  InvalidOptions: 'INVALID_OPTIONS',
  ApiRequestFailed: 'API_REQUEST_FAILED',
  UnknownResource: 'UNKNOWN_RESOURCE',
  InformerStopped: 'INFORMER_STOPPED',
  NotLeader: 'NOT_LEADER',
  ForeignObject: 'FOREIGN_OBJECT',
  ObjectVanished: 'OBJECT_VANISHED',
} as const;
export type RuntimeErrorCode = (typeof RuntimeErrorCode)[keyof typeof RuntimeErrorCode];

export class RuntimeError extends Error {
  override readonly name: string = 'RuntimeError';
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
    opts?: { cause?: unknown },
  ) {
    super(message, opts);
  }
}

/**
 * A child's name is taken by an object its parent does not own (`existing`, as read): it is left
 * alone, never adopted. Controllers turn it into their Conflict refusal.
 */
export class ForeignObjectError extends RuntimeError {
  override readonly name = 'ForeignObjectError';
  constructor(readonly existing: KubernetesObject) {
    super(
      RuntimeErrorCode.ForeignObject,
      `${existing.kind} ${existing.metadata?.name} already exists and is not owned by its parent`,
    );
  }
}

/** A non-2xx answer of the API server; `status` is the HTTP status, `reason` the Status reason. */
export class KubeApiError extends RuntimeError {
  override readonly name = 'KubeApiError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly body?: unknown,
  ) {
    super(RuntimeErrorCode.ApiRequestFailed, message);
  }
}

/**
 * The HTTP status of a failed API call, whichever client made it: ours (KubeApiError) or
 * @kubernetes/client-node's (ApiException carries `code`, its Watch errors `statusCode`).
 */
export function apiStatus(err: unknown): number | undefined {
  if (err instanceof KubeApiError) return err.status;
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode;
  if (typeof e.code === 'number') return e.code;
  return undefined;
}

export const isNotFound = (err: unknown) => apiStatus(err) === 404;
export const isConflict = (err: unknown) => apiStatus(err) === 409;
export const isGone = (err: unknown) => apiStatus(err) === 410;

/**
 * A reconcile error that retrying cannot fix (bad spec, missing permission the operator will
 * never get): the controller logs it and does not requeue the key with backoff (see Reconciler).
 */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}
