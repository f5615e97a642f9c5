// Turns whatever a load threw into one coded failure the operator can show: the code says what
// failed, the message where (the URI). Credentials never reach the message: a URL's user-info is
// masked, and nothing else in our errors carries secrets.
import { ModelLoadFailure, type ModelLoadFailureCode, PERMANENT_LOAD_FAILURES } from '../../api/index.ts';
import { isArtifactError } from '../../lib/artifact/index.ts';
import { isStorageError, type StorageErrorCode } from '../../lib/storage/index.ts';

export interface LoadFailure {
  code: ModelLoadFailureCode;
  message: string;
  /** Retrying cannot fix it (PERMANENT_LOAD_FAILURES). */
  permanent: boolean;
}

const STORAGE_CODES: Partial<Record<StorageErrorCode, ModelLoadFailureCode>> = {
  NotFound: ModelLoadFailure.ArtifactNotFound,
  Unreachable: ModelLoadFailure.StorageUnreachable,
  AccessDenied: ModelLoadFailure.StorageAccessDenied,
  NoCredentials: ModelLoadFailure.StorageAccessDenied,
};

function codeOf(err: unknown): ModelLoadFailureCode {
  if (isArtifactError(err, 'Incomplete')) return ModelLoadFailure.ArtifactNotFound;
  if (isArtifactError(err)) return ModelLoadFailure.ArtifactInvalid;
  if (isStorageError(err)) return STORAGE_CODES[err.code] ?? ModelLoadFailure.ModelLoadFailed;
  return ModelLoadFailure.ModelLoadFailed;
}

/** scheme://user:secret@host → scheme://***@host */
export function maskUserInfo(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, '$1***@');
}

/** `uri` is the configured model URI; the message names it unless the error already does. */
export function classifyLoadFailure(err: unknown, uri: string): LoadFailure {
  const code = codeOf(err);
  const detail = err instanceof Error ? err.message : String(err);
  const message = maskUserInfo(detail.includes(uri) ? detail : `${uri}: ${detail}`);
  return { code, message, permanent: PERMANENT_LOAD_FAILURES.has(code) };
}
