// What every dataset format produces: training and validation (and, for MNIST, test) splits
// plus everything the artifact must remember about preprocessing. The order is fixed: parse,
// seeded shuffle, split, then statistics (normalisation, vocabulary, profile) from the training
// split only.

import type { Preprocessing } from '../../api/artifact.ts';
import type { DATASET_FORMATS, DatasetSpec } from '../../api/training.ts';
import { TrainerError, TrainerErrorCode } from '../errors.ts';
import type { ProfileColumn } from '../profile.ts';
import type { AugmentOptions } from './augment.ts';

export type DatasetFormatName = (typeof DATASET_FORMATS)[number];

/** One entry of the registry in index.ts: the format's name and how to read and prepare it. */
export interface DatasetFormat<F extends DatasetFormatName = DatasetFormatName> {
  name: F;
  load(store: Reader, spec: DatasetSpec, opts: LoadOptions): Promise<PreparedDataset>;
}

export type Task = 'classification' | 'regression' | 'anomaly';

/** One split: model-ready inputs plus the targets in their raw form. */
export interface Part {
  n: number;
  /** Model inputs, row-major, `sampleShape` per row (preprocessed exactly as the server will). */
  x: Float32Array;
  /** classification: class indices. */
  classes?: Int32Array;
  /** regression: one numeric target per row. */
  targets?: Float32Array;
}

export interface PreparedDataset {
  kind: 'tabular' | 'image' | 'text';
  /** Per-sample shape of the model input. */
  sampleShape: number[];
  train: Part;
  validation: Part;
  /** MNIST's t10k files, when present: never trained on, evaluated at the end. */
  test?: Part;
  classNames?: string[];
  input: Preprocessing['input'];
  /** Raw per-row values of the drift profile's features, on the training split. */
  profileColumns: ProfileColumn[];
  augmentation?: AugmentOptions;
}

export interface LoadOptions {
  task: Task;
  validationSplit: number;
  seed: number;
}

/** Reads bytes from storage; the caller maps storage errors (the dataset URI is in the message). */
export type Reader = {
  get(uri: string): Promise<Buffer>;
  list(prefixUri: string): Promise<string[]>;
};

export const invalid = (message: string) => new TrainerError(TrainerErrorCode.InvalidDataset, message);
