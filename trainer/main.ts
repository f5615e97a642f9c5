// The trainer's entry point: config from K2K_TRAINER_CONFIG (or --config <file>), one run,
// the termination message, and an exit code the Job's podFailurePolicy understands.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { TrainerEnv, TrainerExitCode } from '../api/trainer.ts';
import { openStore, storageOptionsFromEnv } from '../lib/storage/index.ts';
import { parseConfig } from './config.ts';
import { TrainerError, TrainerErrorCode } from './errors.ts';
import { toTrainerError } from './failure.ts';
import { createLogger, type Logger } from './log.ts';
import { createProgressReporter, kubeConfigFromEnv } from './progress.ts';
import { type RunResult, run } from './run.ts';
import { writeTermination } from './termination.ts';

const USAGE = `usage: trainer [--config <file>]   (default: the JSON in ${TrainerEnv.Config})`;

function readConfigText(argv: string[], env: NodeJS.ProcessEnv): string {
  const i = argv.indexOf('--config');
  if (i >= 0) {
    const file = argv[i + 1];
    if (!file) throw new TrainerError(TrainerErrorCode.InvalidConfig, `--config needs a file name; ${USAGE}`);
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new TrainerError(
        TrainerErrorCode.InvalidConfig,
        `cannot read --config ${file}: ${(err as Error).message}`,
      );
    }
  }
  const unknown = argv.find((a) => a.startsWith('-'));
  if (unknown) throw new TrainerError(TrainerErrorCode.InvalidConfig, `unknown option ${unknown}; ${USAGE}`);
  const text = env[TrainerEnv.Config];
  if (!text)
    throw new TrainerError(TrainerErrorCode.InvalidConfig, `${TrainerEnv.Config} is not set; ${USAGE}`);
  return text;
}

export interface MainOptions {
  /** Receives the successful run's result (tests inspect the in-memory model); main disposes the model afterwards. */
  onResult?: (result: RunResult) => void | Promise<void>;
}

export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv,
  log: Logger,
  opts: MainOptions = {},
): Promise<number> {
  try {
    const config = parseConfig(readConfigText(argv, env));
    const store = openStore(storageOptionsFromEnv(env));
    const kc = config.trainingJob ? kubeConfigFromEnv(env) : undefined;
    const reporter =
      config.trainingJob && kc ? createProgressReporter(config.trainingJob, kc, log) : undefined;
    const result = await run(config, { store, log, ...(reporter ? { reporter } : {}) });
    const { artifact, metrics, backend, stepEngine, dataset } = result;
    writeTermination(
      { artifact, metrics, backend, ...(dataset ? { dataset } : {}) },
      env[TrainerEnv.TerminationLog] || undefined,
    );
    log.info('training succeeded', { artifact, metrics, backend, ...(stepEngine ? { stepEngine } : {}) });
    try {
      await opts.onResult?.(result);
    } finally {
      result.model.dispose();
    }
    return TrainerExitCode.Success;
  } catch (err) {
    const failure = toTrainerError(err);
    const fields: Record<string, unknown> = { code: failure.code, exitCode: failure.exitCode };
    if (failure.code === TrainerErrorCode.Internal && err instanceof Error) fields.stack = err.stack;
    log.error(failure.message, fields);
    writeTermination(
      { error: { code: failure.code, message: failure.message } },
      env[TrainerEnv.TerminationLog] || undefined,
    );
    return failure.exitCode;
  }
}

// Run only as a program, not when imported by tests.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const log = createLogger();
  const exitWith = (failure: TrainerError) => {
    writeTermination(
      { error: { code: failure.code, message: failure.message } },
      process.env[TrainerEnv.TerminationLog] || undefined,
    );
    process.exit(failure.exitCode);
  };
  // A failure outside main's promise chain still ends as one error line, a termination message
  // and a retryable exit code, never as a bare stack trace.
  const crash = (err: unknown) => {
    const failure = toTrainerError(err);
    log.error(failure.message, {
      code: failure.code,
      exitCode: failure.exitCode,
      stack: (err as Error)?.stack,
    });
    exitWith(failure);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  // Deleted, evicted, preempted or drained. As its container's PID 1 the trainer would ignore
  // SIGTERM and wait for the SIGKILL at the end of the grace period, whose exit code (137) reads
  // like an out-of-memory kill; stopping now with its own code lets the Job replace it without
  // counting a failure, and the replacement resumes from the newest checkpoint (checkpoints and
  // the artifact are written manifest last, so stopping mid-write leaves nothing half-read).
  process.once('SIGTERM', () => {
    const stopped = new TrainerError(
      TrainerErrorCode.Stopped,
      'stopped by SIGTERM (the pod was deleted, evicted or preempted); a replacement resumes from the newest checkpoint',
    );
    log.warn(stopped.message, { code: stopped.code, exitCode: stopped.exitCode });
    exitWith(stopped);
  });
  const code = await main(process.argv.slice(2), process.env, log);
  // Exit explicitly: tfjs and the HTTP agents can keep the event loop alive after the work is done.
  process.stdout.write('', () => process.exit(code));
}
