// Every way the trainer can fail, as coded constants. The exit code is what the Job's
// podFailurePolicy sees: InvalidInput (65) is never retried, Transient (75) is, Stopped (143) is
// replaced without counting as a failure.
import { TrainerExitCode } from '../api/trainer.ts';

export const TrainerErrorCode = {
  /** K2K_TRAINER_CONFIG is missing, not JSON, or fails the schema. */
  InvalidConfig: 'InvalidConfig',
  /** The dataset cannot be read (missing object, no permission). */
  DatasetUnreadable: 'DatasetUnreadable',
  /** The dataset was read but its content is malformed. */
  InvalidDataset: 'InvalidDataset',
  /** The model topology or base artifact cannot be used. */
  InvalidModel: 'InvalidModel',
  /** The data and the model disagree about shapes. */
  ShapeMismatch: 'ShapeMismatch',
  /** Training diverged. */
  LossNaN: 'LossNaN',
  /** The requested backend is not available in this image. */
  BackendUnavailable: 'BackendUnavailable',
  /** A complete artifact version already exists at the output URI. */
  AlreadyExists: 'AlreadyExists',
  /** Object storage refused us (credentials, permissions, bad URI). */
  StorageDenied: 'StorageDenied',
  /** Object storage could not be reached or failed transiently. */
  StorageUnavailable: 'StorageUnavailable',
  /** A bug or an unexpected failure: treated as transient so the Job retries it. */
  Internal: 'Internal',
  /** SIGTERM: the pod was deleted, evicted or preempted; its replacement resumes from a checkpoint. */
  Stopped: 'Stopped',
} as const;
export type TrainerErrorCode = (typeof TrainerErrorCode)[keyof typeof TrainerErrorCode];

const exitCodes: Record<TrainerErrorCode, number> = {
  InvalidConfig: TrainerExitCode.InvalidInput,
  DatasetUnreadable: TrainerExitCode.InvalidInput,
  InvalidDataset: TrainerExitCode.InvalidInput,
  InvalidModel: TrainerExitCode.InvalidInput,
  ShapeMismatch: TrainerExitCode.InvalidInput,
  LossNaN: TrainerExitCode.InvalidInput,
  BackendUnavailable: TrainerExitCode.InvalidInput,
  AlreadyExists: TrainerExitCode.InvalidInput,
  StorageDenied: TrainerExitCode.InvalidInput,
  StorageUnavailable: TrainerExitCode.Transient,
  Internal: TrainerExitCode.Transient,
  Stopped: TrainerExitCode.Stopped,
};

export class TrainerError extends Error {
  override readonly name = 'TrainerError';
  constructor(
    readonly code: TrainerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get exitCode(): number {
    return exitCodes[this.code];
  }
}

export function exitCodeOf(code: TrainerErrorCode): number {
  return exitCodes[code];
}
