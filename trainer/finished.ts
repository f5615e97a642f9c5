// Finishing is idempotent: a trainer retried after an earlier attempt of the same TrainingJob
// committed this version (killed after writing manifest.json but before exiting, or run again
// because its Job was recreated) ends as that attempt would have — exit 0 with the same
// termination message — instead of failing on an artifact that is its own. Only an artifact whose
// manifest names this TrainingJob's uid counts; anything else at the output path stays an error
// and is never overwritten.
import * as tf from '@tensorflow/tfjs';
import type { TrainerConfig } from '../api/trainer.ts';
import {
  isArtifactError,
  type LoadedArtifact,
  loadModelHandler,
  readArtifact,
} from '../lib/artifact/index.ts';
import { deleteCheckpoints } from './checkpoints.ts';
import { TrainerError, TrainerErrorCode } from './errors.ts';
import { progressOf } from './progress.ts';
import type { RunDeps, RunResult } from './run.ts';
import type { EpochMetrics } from './train.ts';

/**
 * The result of this TrainingJob's earlier attempt when the artifact at `uri` is complete, verifies
 * and was written by it; undefined when there is no manifest yet (train). Throws AlreadyExists for
 * a manifest that does not verify or that another writer made.
 */
export async function finishedRun(
  uri: string,
  config: TrainerConfig,
  { store, log, reporter }: RunDeps,
): Promise<RunResult | undefined> {
  let artifact: LoadedArtifact;
  try {
    artifact = await readArtifact(store, uri);
  } catch (err) {
    if (isArtifactError(err, 'Incomplete')) return undefined;
    if (isArtifactError(err)) {
      throw new TrainerError(
        TrainerErrorCode.AlreadyExists,
        `${uri} has a manifest.json but does not verify (${err.message}); it is never overwritten: remove it or write a new version`,
        { cause: err },
      );
    }
    throw err; // storage errors keep their own retry semantics (trainer/failure.ts)
  }

  const uid = config.trainingJob?.uid;
  if (!uid || artifact.manifest.trainingJob?.uid !== uid) {
    // Who wrote it is not echoed: the message ends up in a status other users can read.
    throw new TrainerError(
      TrainerErrorCode.AlreadyExists,
      `${uri}: a complete artifact that ${uid ? 'this TrainingJob did not write' : 'this run cannot claim (no trainingJob uid)'} already exists here and is immutable; write a new version`,
    );
  }

  const backend = artifact.manifest.framework.backend;
  const history = (artifact.metrics?.history ?? []) as EpochMetrics[];
  // What the killed attempt may not have got to: its final progress report and dropping checkpoints.
  reporter?.report(progressOf(history, config.hyperparameters.epochs, backend));
  await deleteCheckpoints(store, uri);
  await reporter?.flush();
  log.info('artifact already committed by an earlier attempt of this TrainingJob; nothing to train', {
    uri,
    manifestSha256: artifact.manifestSha256,
  });
  return {
    artifact: { uri, version: config.output.version, manifestSha256: artifact.manifestSha256 },
    metrics: artifact.metrics?.final ?? {},
    backend,
    ...(artifact.manifest.dataset ? { dataset: artifact.manifest.dataset } : {}),
    // The verified model, so a caller sees what it would have after training.
    model: await tf.loadLayersModel(loadModelHandler(artifact)),
  };
}
