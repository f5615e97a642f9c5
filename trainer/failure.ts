// Turns whatever was thrown into a TrainerError with the right exit code. Storage errors carry
// their own transient flag; artifact errors on the output mean "already complete".
import { isArtifactError } from '../lib/artifact/index.ts';
import { isStorageError } from '../lib/storage/index.ts';
import { TrainerError, TrainerErrorCode } from './errors.ts';

export function toTrainerError(err: unknown): TrainerError {
  if (err instanceof TrainerError) return err;
  if (isStorageError(err)) {
    if (err.transient || err.code === 'Unreachable' || err.code === 'Internal') {
      return new TrainerError(
        TrainerErrorCode.StorageUnavailable,
        `object storage unavailable: ${err.message}`,
        { cause: err },
      );
    }
    if (err.code === 'NotFound')
      return new TrainerError(TrainerErrorCode.DatasetUnreadable, err.message, { cause: err });
    return new TrainerError(TrainerErrorCode.StorageDenied, `object storage: ${err.message}`, { cause: err });
  }
  if (isArtifactError(err, 'AlreadyExists')) {
    return new TrainerError(TrainerErrorCode.AlreadyExists, err.message, { cause: err });
  }
  if (isArtifactError(err))
    return new TrainerError(TrainerErrorCode.InvalidModel, err.message, { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new TrainerError(TrainerErrorCode.Internal, `unexpected error: ${message}`, { cause: err });
}
