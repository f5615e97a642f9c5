// What a run writes: where (the model's name and version under output.uri) and what — the
// model, preprocessing.json, profile.json, metrics.json, then the manifest — read back to prove
// that it verifies.
import * as tf from '@tensorflow/tfjs';
import type { DatasetRead } from '../api/lineage.ts';
import type { TrainerConfig } from '../api/trainer.ts';
import {
  type EpochMetrics as ArtifactEpochMetrics,
  ArtifactWriter,
  artifactURI,
  type DataProfile,
  type Manifest,
  type MetricsFile,
  type Preprocessing,
  readArtifact,
  saveModelHandler,
} from '../lib/artifact/index.ts';
import type { ObjectStore } from '../lib/storage/index.ts';
import type { ContinuedFrom } from './checkpoints.ts';
import type { PreparedDataset } from './datasets/index.ts';
import { TrainerError, TrainerErrorCode } from './errors.ts';
import type { Logger } from './log.ts';
import { optimizerFiles } from './optimizer-state.ts';
import type { EpochMetrics, LoopResult } from './train.ts';

export interface ArtifactTarget {
  modelName: string;
  uri: string;
  writer: ArtifactWriter;
}

/** The artifact's name (model.name, else the TrainingJob's), its URI and a writer for it. */
export function artifactTarget(config: TrainerConfig, store: ObjectStore): ArtifactTarget {
  const modelName = config.model.name ?? config.trainingJob?.name;
  if (!modelName) {
    throw new TrainerError(
      TrainerErrorCode.InvalidConfig,
      'invalid config: /model/name is required when trainingJob is not set',
    );
  }
  const uri = artifactURI(config.output.uri, modelName, config.output.version);
  return { modelName, uri, writer: new ArtifactWriter(store, uri) };
}

/** What the model server must do to an input before the model sees it. */
export function preprocessingOf(data: PreparedDataset): Preprocessing {
  return {
    input: data.input,
    output: data.classNames ? { classNames: data.classNames } : {},
  };
}

export interface ArtifactContents {
  config: TrainerConfig;
  model: tf.LayersModel;
  data: PreparedDataset;
  preprocessing: Preprocessing;
  profile: DataProfile;
  result: LoopResult;
  final: Record<string, number | null>;
  backend: string;
  /** The dataset objects it was trained on (lineage in the manifest). */
  dataset: DatasetRead;
  /** spec.resumeFrom: the artifact this run continued (lineage in the manifest). */
  continuedFrom?: ContinuedFrom;
}

/** Writes and commits the artifact (manifest last); returns the manifest's sha256. */
export async function writeArtifact(
  { modelName, uri, writer }: ArtifactTarget,
  c: ArtifactContents,
  store: ObjectStore,
  log: Logger,
): Promise<string> {
  const { config, model, data, result } = c;
  const metrics: MetricsFile = {
    history: result.history.map(nullNaN) as ArtifactEpochMetrics[],
    final: c.final,
    stoppedEarly: result.stoppedEarly,
    epochs: result.history.length,
    samples: {
      train: data.train.n,
      validation: data.validation.n,
      ...(data.test ? { test: data.test.n } : {}),
    },
  };

  await model.save(saveModelHandler(writer));
  await writer.addJSON('preprocessing.json', c.preprocessing);
  await writer.addJSON('profile.json', c.profile);
  await writer.addJSON('metrics.json', metrics);
  // With the artifact rather than only in a checkpoint: verified by the manifest's digest like the
  // weights, and kept, so any finished run can be continued (ADR 0033).
  for (const [path, bytes] of await optimizerFiles(model.optimizer, config.hyperparameters.optimizer))
    await writer.add(path, bytes);
  const meta = {
    model: modelName,
    version: config.output.version,
    task: config.model.task,
    framework: { name: 'tensorflow.js', version: tf.version.tfjs, backend: c.backend },
    inputs: [inputSpec(data)],
    outputs: [
      {
        // The model server answers an autoencoder with anomaly_score and is_anomaly beside it.
        name: config.model.task === 'anomaly' ? 'reconstruction' : 'output',
        shape: [-1, ...model.outputs[0]!.shape.slice(1).map((d) => d ?? -1)],
        datatype: 'FP32' as const,
      },
    ],
    ...(config.trainingJob ? { trainingJob: config.trainingJob } : {}),
    dataset: c.dataset,
    ...(c.continuedFrom ? { continuedFrom: c.continuedFrom } : {}),
  } satisfies Omit<Manifest, 'files' | 'apiVersion' | 'kind' | 'formatVersion' | 'createdAt'>;
  await writer.commit(meta);
  // Read back what readers will read: proves the artifact verifies and yields its identity.
  const written = await readArtifact(store, uri);
  log.info('artifact committed', {
    uri,
    manifestSha256: written.manifestSha256,
    files: written.manifest.files.length,
  });
  return written.manifestSha256;
}

function inputSpec(data: PreparedDataset): Manifest['inputs'][number] {
  if (data.kind === 'text') return { name: 'text', shape: [-1], datatype: 'BYTES' };
  return { name: 'input', shape: [-1, ...data.sampleShape], datatype: 'FP32' };
}

function nullNaN(h: EpochMetrics): Record<string, number | null> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Number.isFinite(v) ? v : null]));
}
