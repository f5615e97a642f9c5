// spec.resumeFrom: this run goes on from another run's final artifact — its weights, its optimizer
// state and its epoch count — as if that run had been given more epochs (ADR 0033). Everything is
// verified before anything trains; a source that cannot be continued by this spec is invalid
// input (exit 65) naming the field to fix.
import type * as tf from '@tensorflow/tfjs';
import { FILES, type OptimizerStateFile, type Preprocessing } from '../api/artifact.ts';
import type { TrainerConfig } from '../api/trainer.ts';
import { isArtifactError, type LoadedArtifact, readArtifact } from '../lib/artifact/index.ts';
import { validateFile } from '../lib/artifact/validate.ts';
import { isStorageError, type ObjectStore } from '../lib/storage/index.ts';
import { decodeSavedWeights, disposeWeights, type Resumed, restoreWeights } from './checkpoints.ts';
import { TrainerError, TrainerErrorCode } from './errors.ts';
import type { Logger } from './log.ts';
import { decodeOptimizerState, disposeOptimizerState, optimizerStateProblem } from './optimizer-state.ts';
import type { EpochMetrics } from './train.ts';

const invalid = (message: string, cause?: unknown) =>
  new TrainerError(TrainerErrorCode.InvalidModel, message, cause === undefined ? undefined : { cause });

/** JSON with sorted keys: two preprocessing files are the same whatever order their keys were written in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

async function readSource(store: ObjectStore, resumeFrom: NonNullable<TrainerConfig['resumeFrom']>) {
  let source: LoadedArtifact;
  try {
    source = await readArtifact(store, resumeFrom.artifactURI);
  } catch (err) {
    if (isArtifactError(err) || isStorageError(err, 'NotFound'))
      throw invalid(`/resumeFrom/artifactURI: ${(err as Error).message}`, err);
    throw err; // unreachable or refused storage: the caller's error handling decides
  }
  if (resumeFrom.manifestSha256 && resumeFrom.manifestSha256 !== source.manifestSha256) {
    throw invalid(
      `/resumeFrom/manifestSha256: the artifact at ${source.uri} has manifest sha256 ${source.manifestSha256}, not ${resumeFrom.manifestSha256} (it is another artifact than the one pinned)`,
    );
  }
  return source;
}

/**
 * Puts the source artifact's weights into `model` and returns its epochs and optimizer state, or
 * throws InvalidModel naming the field that makes it impossible: the URI or digest, the number of
 * epochs (nothing left to train), the optimizer, the model or the data.
 */
export async function continueFrom(
  store: ObjectStore,
  config: TrainerConfig,
  model: tf.LayersModel,
  preprocessing: Preprocessing,
  log: Logger,
): Promise<Resumed> {
  const resumeFrom = config.resumeFrom!;
  const { epochs, optimizer } = config.hyperparameters;
  const source = await readSource(store, resumeFrom);
  const where = `the run at /resumeFrom/artifactURI (${source.uri})`;

  const trained = source.metrics?.history.length ?? 0;
  if (trained === 0)
    throw invalid(`/resumeFrom/artifactURI: ${where} has no per-epoch history in metrics.json to continue`);
  if (epochs <= trained) {
    throw invalid(
      `/hyperparameters/epochs = ${epochs}: ${where} already trained ${trained} epochs; epochs is the total to train to, so it must be more than ${trained}`,
    );
  }
  // What the model was trained to take and give: the input transform and the class names (an
  // anomaly model's output threshold is computed again at the end of every run).
  const trainedOn = (p: Preprocessing) => canonical([p.input, p.output.classNames ?? null]);
  if (trainedOn(source.preprocessing) !== trainedOn(preprocessing)) {
    throw invalid(
      `/dataset: ${where} was trained on other data or dataset settings (its preprocessing.json differs from this run's); continue on the same dataset, or use model.baseArtifact to fine-tune on new data`,
    );
  }

  const saved = decodeSavedWeights(
    JSON.parse(source.files.get(FILES.model)!.toString('utf8')) as tf.io.ModelJSON,
    source.files.get(FILES.weights) ?? new Uint8Array(0),
  );
  const problem = restoreWeights(model, saved, 'the artifact');
  disposeWeights(saved);
  if (problem)
    throw invalid(`/model: ${where} has another model (${problem}); give the model it was trained with`);

  const resumed: Resumed = {
    history: source.metrics!.history.map(
      (h) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v ?? Number.NaN])) as EpochMetrics,
    ),
    continuedFrom: { uri: source.uri, manifestSha256: source.manifestSha256, epoch: trained },
  };
  const json = source.files.get(FILES.optimizer);
  const bin = source.files.get(FILES.optimizerWeights);
  if (json && bin) {
    const file = validateFile<OptimizerStateFile>(
      source.uri,
      FILES.optimizer,
      JSON.parse(json.toString('utf8')),
    );
    const state = decodeOptimizerState(file, bin);
    const mismatch = optimizerStateProblem(state, model, optimizer);
    if (mismatch) {
      disposeOptimizerState(state);
      throw invalid(`/hyperparameters/optimizer = ${optimizer}: ${where} does not fit: ${mismatch}`);
    }
    resumed.optimizer = state;
  } else {
    // Artifacts written before optimizer state was kept: their weights still save the epochs.
    log.warn('the artifact continued from has no optimizer state; the optimizer starts fresh', {
      uri: source.uri,
    });
  }
  log.info(`continuing ${source.uri} from epoch ${trained}`, {
    uri: source.uri,
    manifestSha256: source.manifestSha256,
    epoch: trained,
    epochs,
  });
  return resumed;
}
