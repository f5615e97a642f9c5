// The model server ↔ operator contract for a model that cannot be loaded. The server gives up
// after a bounded number of attempts, writes `{"error": {"code", "message"}}` as its container's
// termination message (api/termination.ts) and exits; the operator reads it from the pod status it
// already watches and makes the code the ModelDeployment's Ready reason. No new privilege, no
// log scraping.

/** Why the model server gave up loading its model. */
export const ModelLoadFailure = {
  /** Nothing complete at the URI: no manifest.json, or a model URI without a complete version. */
  ArtifactNotFound: 'ArtifactNotFound',
  /** The artifact is there but wrong: a file does not match manifest.json (tampered), or it is malformed. */
  ArtifactInvalid: 'ArtifactInvalid',
  /** The object store did not answer (DNS, connection refused, timeout). */
  StorageUnreachable: 'StorageUnreachable',
  /** The object store refused the credentials, or there were none. */
  StorageAccessDenied: 'StorageAccessDenied',
  /** The artifact was read but TensorFlow.js could not build, warm up or serve the model. */
  ModelLoadFailed: 'ModelLoadFailed',
} as const;
export type ModelLoadFailureCode = (typeof ModelLoadFailure)[keyof typeof ModelLoadFailure];

/**
 * Failures that retrying cannot fix: a complete artifact version is immutable, so the same bytes
 * fail the same way. The server gives up on them at once and the operator reports them Stalled;
 * the others may heal (the artifact gets written, the store comes back, the Secret is fixed).
 */
export const PERMANENT_LOAD_FAILURES: ReadonlySet<string> = new Set<ModelLoadFailureCode>([
  ModelLoadFailure.ArtifactInvalid,
  ModelLoadFailure.ModelLoadFailed,
]);

export function isModelLoadFailure(code: unknown): code is ModelLoadFailureCode {
  return typeof code === 'string' && Object.values<string>(ModelLoadFailure).includes(code);
}

/** Exit codes of the model server (sysexits, as the trainer's). */
export const ServerExitCode = {
  /** Drained and stopped on SIGTERM. */
  Success: 0,
  /** An unexpected error, or draining took longer than the shutdown timeout. */
  Failure: 1,
  /** The configuration is invalid (the message names the variable). */
  InvalidConfig: 2,
  /** A permanent load failure (PERMANENT_LOAD_FAILURES): EX_DATAERR. */
  ModelUnusable: 65,
  /** A load failure that may heal; the kubelet's restart is the next attempt: EX_TEMPFAIL. */
  ModelUnavailable: 75,
} as const;
