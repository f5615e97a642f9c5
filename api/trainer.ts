// The trainer's process contract: what the operator puts in the trainer container's environment,
// the config it passes there, and the exit codes the Job's podFailurePolicy tells apart. The
// termination message the trainer leaves behind is in termination.ts; storage access in storage.ts.
import Type, { type Static } from 'typebox';
import { OutputSpec, ResumeFrom, TrainingSpecProperties } from './training.ts';

/** Exit codes of the trainer: the TrainingJob's podFailurePolicy does not retry InvalidInput. */
export const TrainerExitCode = {
  Success: 0,
  /** The spec, the dataset or the model cannot work; retrying cannot help (sysexits EX_DATAERR). */
  InvalidInput: 65,
  /** A transient failure (storage unreachable, ...); the Job retries it (sysexits EX_TEMPFAIL). */
  Transient: 75,
  /**
   * Stopped by SIGTERM (128 + 15): the pod was deleted, evicted, preempted or drained, not a
   * failure of training. The Job ignores it and its replacement resumes from the newest checkpoint.
   */
  Stopped: 143,
} as const;

/** Environment variables of the trainer container besides storage (StorageEnv in storage.ts). */
export const TrainerEnv = {
  /** JSON of TrainerConfig (locally: --config <file> instead). */
  Config: 'K2K_TRAINER_CONFIG',
  /** Where the termination message goes; the pod's terminationMessagePath. */
  TerminationLog: 'K2K_TERMINATION_LOG',
  /** A kubeconfig for progress reports outside a pod (in a pod: the service-account token). */
  Kubeconfig: 'K2K_KUBECONFIG',
} as const;

/** What the trainer reads from TrainerEnv.Config: the training spec with the name and version resolved. */
export const TrainerConfig = Type.Object(
  {
    ...TrainingSpecProperties,
    output: Type.Intersect([
      OutputSpec,
      Type.Object({ version: Type.String({ pattern: '^[1-9][0-9]{0,18}$' }) }),
    ]),
    resumeFrom: Type.Optional(ResumeFrom),
    trainingJob: Type.Optional(
      Type.Object({
        namespace: Type.String(),
        name: Type.String(),
        uid: Type.Optional(Type.String()),
      }),
    ),
  },
  { additionalProperties: false },
);
export type TrainerConfig = Static<typeof TrainerConfig>;
