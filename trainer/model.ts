// The model a run trains: a built-in architecture or a Keras topology (inline or by URI),
// optionally started from a base artifact's weights, on a backend that can train it.
import type * as tf from '@tensorflow/tfjs';
import type { TrainerConfig } from '../api/trainer.ts';
import { parseJSON } from '../lib/json.ts';
import { isStorageError, type ObjectStore } from '../lib/storage/index.ts';
import { buildArchitecture } from './architectures/index.ts';
import { fallBackToCpu, missingTrainingKernel, type SelectedBackend } from './backend.ts';
import type { PreparedDataset } from './datasets/index.ts';
import { TrainerError, TrainerErrorCode } from './errors.ts';
import { modelFromKerasFile } from './keras/load.ts';
import { modelFromTopology } from './keras/topology.ts';
import type { Logger } from './log.ts';
import { defaultLoss, encodeTargets, type LossName, type Targets } from './train.ts';
import { freezeLeadingLayers, transferWeights } from './transfer.ts';

export interface TrainableModel {
  model: tf.LayersModel;
  /** The selected backend, or cpu when that one cannot train the model. */
  backend: SelectedBackend;
  loss: LossName;
  targets: Targets;
}

/**
 * Builds the model, checks it against the data (the targets it must learn) and, when "auto"
 * selected a backend without a kernel the model needs for training, rebuilds it on the CPU.
 */
export async function buildTrainableModel(
  config: TrainerConfig,
  data: PreparedDataset,
  backend: SelectedBackend,
  store: ObjectStore,
  log: Logger,
): Promise<TrainableModel> {
  const model = await buildModel(config, data, store, log);
  const outputWidth = model.outputs[0]!.shape[model.outputs[0]!.shape.length - 1] ?? 1;
  const loss = config.hyperparameters.loss ?? defaultLoss(config.model.task, outputWidth);
  const targets = encodeTargets(model, data, config.model.task, loss);
  // After the shape checks, which report a mismatched model better than a failed probe would.
  const missing = missingTrainingKernel(model, data.sampleShape);
  if (!missing) return { model, backend, loss, targets };
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
  const cpu = await fallBackToCpu();
  // Rebuilt rather than moved: the same seed gives the same initial weights on the new backend.
  return { model: await buildModel(config, data, store, log), backend: cpu, loss, targets };
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
  } else if (spec.topologyURI) {
    const where = spec.topologyURI;
    model = await modelFromTopology(
      parseTopology(await readModelFile(store, where, 'topologyURI'), where),
      where,
    );
  } else {
    const where = spec.kerasURI!;
    const keras = await modelFromKerasFile(await readModelFile(store, where, 'kerasURI'), where);
    model = keras.model;
    const frozen = spec.freezeLayers ?? 0;
    freezeLeadingLayers(model, frozen, keras.initialised, '/model/freezeLayers', 'the Keras file');
    log.info('initialised from Keras file', {
      uri: where,
      kind: keras.kind,
      layers: keras.initialised.length,
      frozenLayers: frozen,
    });
  }
  if (spec.baseArtifact) await transferWeights(model, spec.baseArtifact, store, log);
  return model;
}

async function readModelFile(store: ObjectStore, where: string, field: string): Promise<Buffer> {
  try {
    return await store.get(where);
  } catch (err) {
    if (isStorageError(err, 'NotFound')) {
      throw new TrainerError(TrainerErrorCode.InvalidModel, `cannot read /model/${field}: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
}

function parseTopology(bytes: Buffer, where: string): unknown {
  try {
    return parseJSON(bytes.toString('utf8'));
  } catch (err) {
    throw new TrainerError(TrainerErrorCode.InvalidModel, `${where}: ${(err as Error).message}`);
  }
}
