// One training run, from a validated config to a committed artifact:
//   backend → refuse a complete version → dataset → model (+ base weights) → resume from the
//   newest checkpoint, else continue spec.resumeFrom's run → compile (+ optimizer state) → train
//   → evaluate → artifact (manifest last) → verify → drop checkpoints.
// Each phase is a function in the module named for it; this file only says in which order they run.
import { hostname } from 'node:os';
import type * as tf from '@tensorflow/tfjs';
import type { DatasetRead } from '../api/lineage.ts';
import type { TrainerConfig } from '../api/trainer.ts';
import type { ObjectStore } from '../lib/storage/index.ts';
import { artifactTarget, preprocessingOf, writeArtifact } from './artifact.ts';
import { selectBackend } from './backend.ts';
import { deleteCheckpoints, type Resumed, replaceCheckpoint, resumeFromCheckpoint } from './checkpoints.ts';
import { continueFrom } from './continuation.ts';
import { readDataset } from './datasets/index.ts';
import { anomalyThreshold, finalMetrics, profileOf } from './evaluation.ts';
import { finishedRun } from './finished.ts';
import type { Logger } from './log.ts';
import { buildTrainableModel } from './model.ts';
import { restoreOptimizer } from './optimizer-state.ts';
import { type ProgressReporter, progressOf, type ReportingRun } from './progress.ts';
import { compileModel, trainLoop } from './train.ts';

export interface RunDeps {
  store: ObjectStore;
  log: Logger;
  reporter?: ProgressReporter;
}

export interface RunResult {
  artifact: { uri: string; version: string; manifestSha256: string };
  metrics: Record<string, number | null>;
  backend: string;
  /** How the training steps ran: `graph`, or `eager (why not)` (trainer/graph/engine.ts); absent when an earlier attempt had finished. */
  stepEngine?: string;
  /** The dataset objects it trained on (absent: an earlier artifact of this TrainingJob without a record). */
  dataset?: DatasetRead;
  /** The trained model, still in memory (the caller disposes it). */
  model: tf.LayersModel;
}

export async function run(config: TrainerConfig, { store, log, reporter }: RunDeps): Promise<RunResult> {
  const hp = config.hyperparameters;
  const task = config.model.task;
  const selected = await selectBackend(config.backend, log);
  log.info('backend selected', {
    backend: selected.name,
    source: selected.source,
    requested: config.backend,
  });

  const target = artifactTarget(config, store);
  const { modelName, uri } = target;
  // Before any work, and the first storage contact: a complete version is immutable, unless an
  // earlier attempt of this TrainingJob committed it, and then this run is already done.
  const finished = await finishedRun(uri, config, { store, log, ...(reporter ? { reporter } : {}) });
  if (finished) return finished;

  const { data, dataset } = await readDataset(store, config, log);
  const { model, backend, loss, targets } = await buildTrainableModel(config, data, selected, store, log);
  const preprocessing = preprocessingOf(data);
  // This run's own newest checkpoint first: it already holds a continued run's earlier epochs.
  const start: Resumed =
    (await resumeFromCheckpoint(store, uri, model, hp, log)) ??
    (config.resumeFrom ? await continueFrom(store, config, model, preprocessing, log) : { history: [] });
  const { history, fromEpoch, continuedFrom } = start;
  const reporting: ReportingRun = {
    pod: hostname(),
    ...(fromEpoch !== undefined ? { resumedFromEpoch: fromEpoch } : {}),
    ...(continuedFrom ? { continuedFromEpoch: continuedFrom.epoch } : {}),
  };
  // Said at once, before the next epoch ends: the status shows the resume as it happens.
  if (history.length > 0) reporter?.report(progressOf(history, hp.epochs, backend.name, { run: reporting }));

  compileModel(model, hp, task, loss);
  if (start.optimizer) await restoreOptimizer(model, start.optimizer);
  log.info('training', {
    model: modelName,
    version: config.output.version,
    parameters: model.countParams(),
    loss,
    optimizer: hp.optimizer,
    learningRate: hp.learningRate,
    epochs: hp.epochs,
    startEpoch: history.length + 1,
  });
  const every = config.output.checkpointEvery;
  const result = await trainLoop({
    model,
    data,
    targets,
    hp,
    history,
    loss,
    log,
    afterEpoch: async (epoch, h, stepEngine) => {
      if (every > 0 && epoch % every === 0)
        await replaceCheckpoint(
          store,
          uri,
          epoch,
          model,
          { history: h, preprocessing, optimizer: hp.optimizer, ...(continuedFrom ? { continuedFrom } : {}) },
          log,
        );
      reporter?.report(progressOf(h, hp.epochs, backend.name, { run: { ...reporting, stepEngine } }));
    },
  });

  const final = await finalMetrics(model, data, targets, result.history, task);
  const profile = await profileOf(model, data, task);
  const anomaly =
    task === 'anomaly' ? await anomalyThreshold(model, data, config.model.anomalyPercentile) : undefined;
  const manifestSha256 = await writeArtifact(
    target,
    {
      config,
      model,
      data,
      preprocessing: anomaly
        ? { ...preprocessing, output: { ...preprocessing.output, anomaly } }
        : preprocessing,
      profile,
      result,
      final,
      backend: backend.name,
      dataset,
      ...(continuedFrom ? { continuedFrom } : {}),
    },
    store,
    log,
  );
  await deleteCheckpoints(store, uri);

  reporter?.report(
    progressOf(result.history, hp.epochs, backend.name, {
      run: { ...reporting, stepEngine: result.stepEngine },
    }),
  );
  await reporter?.flush();
  return {
    artifact: { uri, version: config.output.version, manifestSha256 },
    metrics: final,
    backend: backend.name,
    stepEngine: result.stepEngine,
    dataset,
    model,
  };
}
