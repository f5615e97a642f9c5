// Checkpoints: <artifact>/checkpoints/epoch-<n>/{model.json, weights.bin, preprocessing.json,
// metrics.json, optimizer.json, optimizer.bin} and checkpoint.json, written last, listing each
// file's size and sha256 — the same "manifest last" rule as the artifact, so a checkpoint cut
// short by a kill is ignored. The optimizer's state is kept too (ADR 0033): a resumed run takes
// the step the stopped one would have taken, instead of restarting Adam's moments at zero.
import * as tf from '@tensorflow/tfjs';
import { FILES, type Manifest, type OptimizerStateFile } from '../api/artifact.ts';
import type { Hyperparameters } from '../api/training.ts';
import { validateFile } from '../lib/artifact/validate.ts';
import { sha256Hex as sha256 } from '../lib/artifact/writer.ts';
import type { ObjectStore } from '../lib/storage/index.ts';
import type { Logger } from './log.ts';
import {
  decodeOptimizerState,
  disposeOptimizerState,
  type OptimizerState,
  optimizerFiles,
  optimizerStateProblem,
} from './optimizer-state.ts';
import type { EpochMetrics } from './train.ts';

/** Where a continued run (spec.resumeFrom) came from: recorded in its artifact's manifest. */
export type ContinuedFrom = NonNullable<Manifest['continuedFrom']>;

export const CHECKPOINT_MANIFEST = 'checkpoint.json';
const DIR = /checkpoints\/epoch-([1-9][0-9]*)\/checkpoint\.json$/;

interface CheckpointFile {
  path: string;
  size: number;
  sha256: string;
}

export interface CheckpointManifest {
  epoch: number;
  createdAt: string;
  files: CheckpointFile[];
}

/** A model's weights as saved (model.json's weightsManifest and weights.bin). */
export interface SavedWeights {
  weights: tf.NamedTensorMap;
  /** Weight names in the order the model had them (names differ between processes; order does not). */
  order: string[];
}

export interface Checkpoint extends SavedWeights {
  epoch: number;
  history: EpochMetrics[];
  /** Absent in checkpoints written before optimizer state was kept. */
  optimizer?: OptimizerState;
  continuedFrom?: ContinuedFrom;
}

/** Decodes the weights a tf.io model.json lists from the bytes of its weight files, concatenated. */
export function decodeSavedWeights(modelJSON: tf.io.ModelJSON, bytes: Uint8Array): SavedWeights {
  const specs = modelJSON.weightsManifest.flatMap((g) => g.weights);
  const weights = tf.io.decodeWeights(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    specs,
  );
  return { weights, order: specs.map((s) => s.name) };
}

export function checkpointsURI(artifactUri: string): string {
  return `${artifactUri.replace(/\/+$/, '')}/checkpoints/`;
}

export function checkpointURI(artifactUri: string, epoch: number): string {
  return `${checkpointsURI(artifactUri)}epoch-${epoch}/`;
}

/** Serialises the model (topology and weights) with tf.io, without touching any storage. */
export async function modelArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return saved!;
}

function weightBytes(a: tf.io.ModelArtifacts): Uint8Array {
  const data = a.weightData;
  if (data === undefined) return new Uint8Array(0);
  return new Uint8Array(Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data);
}

/** What a checkpoint holds besides the model: what a resumed run needs to go on as this one would. */
export interface CheckpointExtra {
  history: EpochMetrics[];
  preprocessing: unknown;
  optimizer: Hyperparameters['optimizer'];
  continuedFrom?: ContinuedFrom;
}

export async function writeCheckpoint(
  store: ObjectStore,
  artifactUri: string,
  epoch: number,
  model: tf.LayersModel,
  extra: CheckpointExtra,
): Promise<void> {
  const base = checkpointURI(artifactUri, epoch);
  const artifacts = await modelArtifacts(model);
  const files: Array<[string, Uint8Array]> = [
    ['weights.bin', weightBytes(artifacts)],
    [
      'model.json',
      Buffer.from(
        JSON.stringify({
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
          format: 'layers-model',
          generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        }),
      ),
    ],
    ['preprocessing.json', Buffer.from(JSON.stringify(extra.preprocessing))],
    [
      'metrics.json',
      Buffer.from(
        JSON.stringify({
          history: extra.history,
          ...(extra.continuedFrom ? { continuedFrom: extra.continuedFrom } : {}),
        }),
      ),
    ],
    ...(await optimizerFiles(model.optimizer, extra.optimizer)),
  ];
  const listed: CheckpointFile[] = [];
  for (const [path, bytes] of files) {
    await store.put(`${base}${path}`, bytes);
    listed.push({ path, size: bytes.byteLength, sha256: sha256(bytes) });
  }
  const manifest: CheckpointManifest = { epoch, createdAt: new Date().toISOString(), files: listed };
  await store.put(`${base}${CHECKPOINT_MANIFEST}`, JSON.stringify(manifest), {
    contentType: 'application/json',
  });
}

/** Epochs of the checkpoints that have a checkpoint.json, newest first. */
export async function listCheckpoints(store: ObjectStore, artifactUri: string): Promise<number[]> {
  const epochs: number[] = [];
  for (const uri of await store.list(checkpointsURI(artifactUri))) {
    const m = DIR.exec(uri);
    if (m) epochs.push(Number(m[1]));
  }
  return epochs.sort((a, b) => b - a);
}

/**
 * The newest checkpoint whose files all verify. A damaged one is logged and skipped in favour
 * of an older one; none at all returns undefined.
 */
export async function loadLatestCheckpoint(
  store: ObjectStore,
  artifactUri: string,
  log: Logger,
): Promise<Checkpoint | undefined> {
  for (const epoch of await listCheckpoints(store, artifactUri)) {
    const base = checkpointURI(artifactUri, epoch);
    try {
      const manifest = JSON.parse(
        (await store.get(`${base}${CHECKPOINT_MANIFEST}`)).toString('utf8'),
      ) as CheckpointManifest;
      const files = new Map<string, Buffer>();
      for (const f of manifest.files) {
        const bytes = await store.get(`${base}${f.path}`);
        if (bytes.byteLength !== f.size || sha256(bytes) !== f.sha256)
          throw new Error(`${f.path} does not match checkpoint.json`);
        files.set(f.path, bytes);
      }
      const modelJSON = JSON.parse(files.get('model.json')!.toString('utf8')) as tf.io.ModelJSON;
      const { history, continuedFrom } = JSON.parse(files.get('metrics.json')!.toString('utf8')) as {
        history: EpochMetrics[];
        continuedFrom?: ContinuedFrom;
      };
      const checkpoint: Checkpoint = {
        epoch,
        history,
        ...decodeSavedWeights(modelJSON, files.get('weights.bin')!),
        ...(continuedFrom ? { continuedFrom } : {}),
      };
      const optimizerJSON = files.get(FILES.optimizer);
      const optimizerBin = files.get(FILES.optimizerWeights);
      if (optimizerJSON && optimizerBin) {
        const file = validateFile<OptimizerStateFile>(
          base,
          FILES.optimizer,
          JSON.parse(optimizerJSON.toString('utf8')),
        );
        checkpoint.optimizer = decodeOptimizerState(file, optimizerBin);
      }
      return checkpoint;
    } catch (err) {
      const code = (err as { code?: string }).code;
      // Storage trouble is not the checkpoint's fault: let the caller's error handling decide.
      if (code && code !== 'NotFound') throw err;
      log.warn('ignoring a damaged checkpoint', { epoch, uri: base, error: (err as Error).message });
    }
  }
  return undefined;
}

/**
 * Puts checkpoint weights into a freshly built model of the same architecture. Returns a reason
 * when they do not fit (the spec changed between runs), in which case the model is untouched.
 */
export function restoreWeights(
  model: tf.LayersModel,
  cp: SavedWeights,
  source = 'the checkpoint',
): string | undefined {
  const current = model.weights;
  if (current.length !== cp.order.length) {
    return `${source} has ${cp.order.length} weight tensors, the model ${current.length}`;
  }
  const values = cp.order.map((name) => cp.weights[name]!);
  for (const [i, v] of values.entries()) {
    const want = current[i]!.shape.join('x');
    if (v.shape.join('x') !== want)
      return `weight ${i} (${current[i]!.name}) is ${v.shape.join('x')} in ${source}, ${want} in the model`;
  }
  model.setWeights(values);
  return undefined;
}

export function disposeWeights(saved: SavedWeights): void {
  for (const t of Object.values(saved.weights)) t.dispose();
}

/** Deletes every checkpoint object (after the artifact committed), or those of older epochs. */
export async function deleteCheckpoints(
  store: ObjectStore,
  artifactUri: string,
  olderThan?: number,
): Promise<void> {
  for (const uri of await store.list(checkpointsURI(artifactUri))) {
    const m = /checkpoints\/epoch-([1-9][0-9]*)\//.exec(uri);
    if (olderThan !== undefined && (!m || Number(m[1]) >= olderThan)) continue;
    // checkpoint.json goes first so a half-deleted checkpoint is never taken for a complete one.
    if (uri.endsWith(CHECKPOINT_MANIFEST)) await store.delete(uri);
  }
  for (const uri of await store.list(checkpointsURI(artifactUri))) {
    const m = /checkpoints\/epoch-([1-9][0-9]*)\//.exec(uri);
    if (olderThan !== undefined && (!m || Number(m[1]) >= olderThan)) continue;
    await store.delete(uri);
  }
}

/** Where training starts: the epochs already trained, and what to go on from. */
export interface Resumed {
  history: EpochMetrics[];
  /** The checkpoint's epoch; undefined when training starts from the first epoch. */
  fromEpoch?: number;
  /** For the optimizer once the model is compiled; undefined starts it fresh. */
  optimizer?: OptimizerState;
  /** The run a continued run (spec.resumeFrom) went on from. */
  continuedFrom?: ContinuedFrom;
}

/**
 * Puts the newest checkpoint's weights into the model and returns the epochs it already trained
 * and the optimizer state to restore; no checkpoint, or one that does not fit the model, starts
 * over with an empty history.
 */
export async function resumeFromCheckpoint(
  store: ObjectStore,
  artifactUri: string,
  model: tf.LayersModel,
  hp: Pick<Hyperparameters, 'epochs' | 'optimizer'>,
  log: Logger,
): Promise<Resumed | undefined> {
  const checkpoint = await loadLatestCheckpoint(store, artifactUri, log);
  if (!checkpoint) return undefined;
  const { epoch, optimizer } = checkpoint;
  const problem = restoreWeights(model, checkpoint);
  disposeWeights(checkpoint);
  if (problem) {
    log.warn('checkpoint does not fit the model; starting over', { epoch, problem });
    disposeOptimizerState(optimizer);
    return undefined;
  }
  const resumed: Resumed = {
    history: checkpoint.history.slice(0, epoch),
    fromEpoch: epoch,
    ...(checkpoint.continuedFrom ? { continuedFrom: checkpoint.continuedFrom } : {}),
  };
  const optimizerProblem = optimizer && optimizerStateProblem(optimizer, model, hp.optimizer);
  if (optimizer && !optimizerProblem) resumed.optimizer = optimizer;
  else {
    disposeOptimizerState(optimizer);
    log.warn('checkpoint has no usable optimizer state; the optimizer starts fresh', {
      epoch,
      problem: optimizerProblem ?? 'none saved',
    });
  }
  log.info(`resumed from epoch ${epoch}`, { epoch, epochs: hp.epochs });
  return resumed;
}

/** Writes the epoch's checkpoint, then drops the older ones, which it supersedes. */
export async function replaceCheckpoint(
  store: ObjectStore,
  artifactUri: string,
  epoch: number,
  model: tf.LayersModel,
  extra: CheckpointExtra,
  log: Logger,
): Promise<void> {
  await writeCheckpoint(store, artifactUri, epoch, model, extra);
  // The newest checkpoint is complete before the older ones go.
  await deleteCheckpoints(store, artifactUri, epoch);
  log.info('checkpoint written', { epoch });
}
