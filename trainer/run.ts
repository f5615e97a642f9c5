// One training run, from a validated config to a committed artifact:
//   backend → refuse a complete version → dataset → model (+ base weights) → resume from the
//   newest checkpoint → train → evaluate → artifact (manifest last) → verify → drop checkpoints.
import * as tf from '@tensorflow/tfjs';
import type { TrainerConfig } from '../api/training.ts';
import {
  type EpochMetrics as ArtifactEpochMetrics,
  ArtifactWriter,
  artifactURI,
  type DataProfile,
  isArtifactError,
  loadModelHandler,
  type Manifest,
  type MetricsFile,
  type Preprocessing,
  readArtifact,
  saveModelHandler,
} from '../lib/artifact/index.ts';
import { isStorageError, type ObjectStore } from '../lib/storage/index.ts';
import { buildArchitecture, modelFromTopology } from './architectures.ts';
import { fallBackToCpu, missingTrainingKernel, selectBackend } from './backend.ts';
import {
  deleteCheckpoints,
  disposeCheckpoint,
  loadLatestCheckpoint,
  restoreWeights,
  writeCheckpoint,
} from './checkpoints.ts';
import { loadDataset, type PreparedDataset } from './datasets/index.ts';
import { TrainerError, TrainerErrorCode } from './errors.ts';
import { finishedRun } from './finished.ts';
import type { Logger } from './log.ts';
import { binnedPredictions, classPredictions, featureProfile } from './profile.ts';
import { type ProgressReporter, progressOf } from './progress.ts';
import {
  compileModel,
  defaultLoss,
  type EpochMetrics,
  encodeTargets,
  evaluate,
  predictRows,
  type Targets,
  trainLoop,
} from './train.ts';

export interface RunDeps {
  store: ObjectStore;
  log: Logger;
  reporter?: ProgressReporter;
}

export interface RunResult {
  artifact: { uri: string; version: string; manifestSha256: string };
  metrics: Record<string, number | null>;
  backend: string;
  /** The trained model, still in memory (the caller disposes it). */
  model: tf.LayersModel;
}

export async function run(config: TrainerConfig, { store, log, reporter }: RunDeps): Promise<RunResult> {
  const hp = config.hyperparameters;
  const task = config.model.task;
  let backend = await selectBackend(config.backend, log);
  log.info('backend selected', { backend: backend.name, source: backend.source, requested: config.backend });

  const modelName = config.model.name ?? config.trainingJob?.name;
  if (!modelName) {
    throw new TrainerError(
      TrainerErrorCode.InvalidConfig,
      'invalid config: /model/name is required when trainingJob is not set',
    );
  }
  const uri = artifactURI(config.output.uri, modelName, config.output.version);
  // Before any work, and the first storage contact: a complete version is immutable, unless an
  // earlier attempt of this TrainingJob committed it, and then this run is already done.
  const finished = await finishedRun(uri, config, { store, log, ...(reporter ? { reporter } : {}) });
  if (finished) return finished;
  const writer = new ArtifactWriter(store, uri);

  const data = await readDataset(store, config);
  log.info('dataset loaded', {
    uri: config.dataset.uri,
    format: config.dataset.format,
    train: data.train.n,
    validation: data.validation.n,
    ...(data.test ? { test: data.test.n } : {}),
    sampleShape: data.sampleShape,
    ...(data.classNames ? { classes: data.classNames.length } : {}),
  });

  let model = await buildModel(config, data, store, log);
  const outputWidth = model.outputs[0]!.shape[model.outputs[0]!.shape.length - 1] ?? 1;
  const loss = hp.loss ?? defaultLoss(task, outputWidth);
  const targets = encodeTargets(model, data, task, loss);
  // After the shape checks, which report a mismatched model better than a failed probe would.
  const missing = missingTrainingKernel(model, data.sampleShape);
  if (missing) {
    if (config.backend !== 'auto') {
      throw new TrainerError(
        TrainerErrorCode.BackendUnavailable,
        `backend "${backend.name}" cannot train this model: it has no ${missing} kernel; use backend "auto" or "cpu"`,
      );
    }
    log.warn(`backend ${backend.name} cannot train this model (no ${missing} kernel); using cpu`, {
      kernel: missing,
    });
    model.dispose();
    backend = await fallBackToCpu();
    // Rebuilt rather than moved: the same seed gives the same initial weights on the new backend.
    model = await buildModel(config, data, store, log);
  }
  const preprocessing: Preprocessing = {
    input: data.input,
    output: data.classNames ? { classNames: data.classNames } : {},
  };

  let history: EpochMetrics[] = [];
  const checkpoint = await loadLatestCheckpoint(store, uri, log);
  if (checkpoint) {
    const problem = restoreWeights(model, checkpoint);
    if (problem) {
      log.warn('checkpoint does not fit the model; starting over', { epoch: checkpoint.epoch, problem });
    } else {
      history = checkpoint.history.slice(0, checkpoint.epoch);
      log.info(`resumed from epoch ${checkpoint.epoch}`, { epoch: checkpoint.epoch, epochs: hp.epochs });
    }
    disposeCheckpoint(checkpoint);
  }

  compileModel(model, hp, task, loss);
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
    log,
    afterEpoch: async (epoch, h) => {
      if (every > 0 && epoch % every === 0) {
        await writeCheckpoint(store, uri, epoch, model, { history: h, preprocessing });
        // Older checkpoints are superseded; the newest one is complete before they go.
        await deleteCheckpoints(store, uri, epoch);
        log.info('checkpoint written', { epoch });
      }
      reporter?.report(progressOf(h, hp.epochs, backend.name));
    },
  });

  const final = await finalMetrics(model, data, targets, result.history, task);
  const profile = await profileOf(model, data, task);
  const metrics: MetricsFile = {
    history: result.history.map(nullNaN) as ArtifactEpochMetrics[],
    final,
    stoppedEarly: result.stoppedEarly,
    epochs: result.history.length,
    samples: {
      train: data.train.n,
      validation: data.validation.n,
      ...(data.test ? { test: data.test.n } : {}),
    },
  };

  await model.save(saveModelHandler(writer));
  await writer.addJSON('preprocessing.json', preprocessing);
  await writer.addJSON('profile.json', profile);
  await writer.addJSON('metrics.json', metrics);
  const meta = {
    model: modelName,
    version: config.output.version,
    task,
    framework: { name: 'tensorflow.js', version: tf.version.tfjs, backend: backend.name },
    inputs: [inputSpec(data)],
    outputs: [
      {
        name: 'output',
        shape: [-1, ...model.outputs[0]!.shape.slice(1).map((d) => d ?? -1)],
        datatype: 'FP32' as const,
      },
    ],
    ...(config.trainingJob ? { trainingJob: config.trainingJob } : {}),
  } satisfies Omit<Manifest, 'files' | 'apiVersion' | 'kind' | 'formatVersion' | 'createdAt'>;
  await writer.commit(meta);
  // Read back what readers will read: proves the artifact verifies and yields its identity.
  const written = await readArtifact(store, uri);
  log.info('artifact committed', {
    uri,
    manifestSha256: written.manifestSha256,
    files: written.manifest.files.length,
  });
  await deleteCheckpoints(store, uri);

  reporter?.report(progressOf(result.history, hp.epochs, backend.name));
  await reporter?.flush();
  return {
    artifact: { uri, version: config.output.version, manifestSha256: written.manifestSha256 },
    metrics: final,
    backend: backend.name,
    model,
  };
}

async function readDataset(store: ObjectStore, config: TrainerConfig): Promise<PreparedDataset> {
  try {
    return await loadDataset(store, config.dataset, {
      task: config.model.task,
      validationSplit: config.hyperparameters.validationSplit,
      seed: config.hyperparameters.seed,
    });
  } catch (err) {
    if (isStorageError(err, 'NotFound') || isStorageError(err, 'AccessDenied')) {
      throw new TrainerError(TrainerErrorCode.DatasetUnreadable, `cannot read the dataset: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
}

async function buildModel(
  config: TrainerConfig,
  data: PreparedDataset,
  store: ObjectStore,
  log: Logger,
): Promise<tf.LayersModel> {
  const spec = config.model;
  let model: tf.LayersModel;
  if (spec.architecture) {
    model = buildArchitecture(spec.architecture, {
      inputShape: data.sampleShape,
      numClasses: data.classNames?.length ?? 0,
      ...(spec.units ? { units: spec.units } : {}),
      ...(data.input.kind === 'text' ? { vocabularySize: data.input.vocabulary.length } : {}),
      seed: config.hyperparameters.seed,
    });
  } else if (spec.topology) {
    model = await modelFromTopology(spec.topology, '/model/topology');
  } else {
    const where = spec.topologyURI!;
    let text: string;
    try {
      text = (await store.get(where)).toString('utf8');
    } catch (err) {
      if (isStorageError(err, 'NotFound')) {
        throw new TrainerError(
          TrainerErrorCode.InvalidModel,
          `cannot read /model/topologyURI: ${err.message}`,
          { cause: err },
        );
      }
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new TrainerError(
        TrainerErrorCode.InvalidModel,
        `${where}: not valid JSON (${(err as Error).message})`,
      );
    }
    model = await modelFromTopology(json, where);
  }
  if (spec.baseArtifact) await transferWeights(model, spec.baseArtifact, store, log);
  return model;
}

/**
 * Transfer learning: copies the base artifact's weights layer by layer (by position) wherever
 * the shapes agree — typically everything but a new classification head — and freezes the first
 * freezeLayers layers, which must all have received base weights.
 */
async function transferWeights(
  model: tf.LayersModel,
  base: NonNullable<TrainerConfig['model']['baseArtifact']>,
  store: ObjectStore,
  log: Logger,
): Promise<void> {
  let baseModel: tf.LayersModel;
  try {
    baseModel = await tf.loadLayersModel(loadModelHandler(await readArtifact(store, base.uri)));
  } catch (err) {
    if (isArtifactError(err) || isStorageError(err, 'NotFound')) {
      throw new TrainerError(
        TrainerErrorCode.InvalidModel,
        `/model/baseArtifact: ${(err as Error).message}`,
        { cause: err },
      );
    }
    throw err;
  }
  const copied: string[] = [];
  const layers = model.layers;
  for (const [i, layer] of layers.entries()) {
    const from = baseModel.layers[i];
    const w = from?.getWeights() ?? [];
    const fits =
      w.length > 0 &&
      w.length === layer.weights.length &&
      w.every((t, j) => t.shape.join('x') === layer.weights[j]!.shape.join('x'));
    if (fits) {
      layer.setWeights(w);
      copied.push(layer.name);
    }
  }
  if (base.freezeLayers > layers.length) {
    throw new TrainerError(
      TrainerErrorCode.InvalidModel,
      `/model/baseArtifact/freezeLayers = ${base.freezeLayers}: the model has only ${layers.length} layers`,
    );
  }
  for (const layer of layers.slice(0, base.freezeLayers)) {
    if (layer.weights.length > 0 && !copied.includes(layer.name)) {
      throw new TrainerError(
        TrainerErrorCode.InvalidModel,
        `/model/baseArtifact/freezeLayers = ${base.freezeLayers}: layer ${layer.name} would be frozen but its weights do not match the base artifact's`,
      );
    }
    layer.trainable = false;
  }
  baseModel.dispose();
  log.info('initialised from base artifact', {
    uri: base.uri,
    copiedLayers: copied,
    frozenLayers: base.freezeLayers,
  });
}

async function finalMetrics(
  model: tf.LayersModel,
  data: PreparedDataset,
  targets: Targets,
  history: EpochMetrics[],
  task: string,
): Promise<Record<string, number | null>> {
  const last = history[history.length - 1];
  const final: Record<string, number | null> = {};
  if (last)
    for (const [k, v] of Object.entries(last)) if (k !== 'epoch') final[k] = Number.isFinite(v) ? v : null;
  if (data.test && targets.test && data.test.n > 0) {
    Object.assign(
      final,
      await evaluate(model, data.test.x, targets.test, data.test.n, data.sampleShape, targets.shape),
    );
  }
  if (task === 'anomaly') {
    // The server needs a threshold to call an input anomalous: quantiles of the training error.
    const errors = (await reconstructionErrors(model, data.train.x, data.train.n, data.sampleShape)).sort();
    const q = (p: number) => errors[Math.min(errors.length - 1, Math.floor(p * errors.length))] ?? null;
    final.reconstruction_error_p50 = q(0.5);
    final.reconstruction_error_p95 = q(0.95);
    final.reconstruction_error_p99 = q(0.99);
  }
  return final;
}

/** Mean squared reconstruction error per row: an autoencoder's anomaly score. */
async function reconstructionErrors(
  model: tf.LayersModel,
  x: Float32Array,
  n: number,
  shape: number[],
): Promise<Float64Array> {
  const out = await predictRows(model, x, n, shape);
  const size = shape.reduce((a, b) => a * b, 1);
  const errors = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let sum = 0;
    for (let i = r * size; i < (r + 1) * size; i++) sum += (out[i]! - x[i]!) ** 2;
    errors[r] = sum / size;
  }
  return errors;
}

async function profileOf(model: tf.LayersModel, data: PreparedDataset, task: string): Promise<DataProfile> {
  const profile: DataProfile = { features: data.profileColumns.map((c) => featureProfile(c)) };
  const v = data.validation;
  if (v.n === 0) return profile;
  if (task === 'anomaly') {
    profile.predictions = binnedPredictions(await reconstructionErrors(model, v.x, v.n, data.sampleShape));
    return profile;
  }
  const out = await predictRows(model, v.x, v.n, data.sampleShape);
  if (task === 'classification' && data.classNames) {
    profile.predictions = classPredictions(out, out.length / v.n, data.classNames);
  } else {
    profile.predictions = binnedPredictions(Float64Array.from(out));
  }
  return profile;
}

function inputSpec(data: PreparedDataset): Manifest['inputs'][number] {
  if (data.kind === 'text') return { name: 'text', shape: [-1], datatype: 'BYTES' };
  return { name: 'input', shape: [-1, ...data.sampleShape], datatype: 'FP32' };
}

function nullNaN(h: EpochMetrics): Record<string, number | null> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Number.isFinite(v) ? v : null]));
}
