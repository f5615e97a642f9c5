// Loads a dataset from object storage and turns it into training, validation (and, for MNIST,
// test) splits plus everything the artifact must remember about preprocessing. The order is
// fixed: parse, seeded shuffle, split, then statistics (normalisation, vocabulary, profile) from
// the training split only.

import type { DatasetSpec, TrainerConfig } from '../../api/training.ts';
import type { Preprocessing } from '../../lib/artifact/schema.ts';
import { isStorageError } from '../../lib/storage/index.ts';
import { TrainerError, TrainerErrorCode } from '../errors.ts';
import type { Logger } from '../log.ts';
import { imageSummaries, type ProfileColumn } from '../profile.ts';
import type { AugmentOptions } from './augment.ts';
import { parseCsv, parseNumber } from './csv.ts';
import { parseIdx } from './idx.ts';
import { applyNormalization, computeNormalization } from './normalize.ts';
import { splitIndices, take, takeRows } from './split.ts';
import { buildVocabulary, encode, tokenize, vocabularyIndex } from './tokenizer.ts';

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

const invalid = (message: string) => new TrainerError(TrainerErrorCode.InvalidDataset, message);

export async function loadDataset(
  store: Reader,
  spec: DatasetSpec,
  opts: LoadOptions,
): Promise<PreparedDataset> {
  switch (spec.format) {
    case 'mnist-idx':
      return prepareImages(await readMnist(store, spec.uri), spec, opts);
    case 'csv':
      return prepareCsv((await store.get(spec.uri)).toString('utf8'), spec, opts);
    case 'jsonl':
      return prepareJsonl((await store.get(spec.uri)).toString('utf8'), spec, opts);
  }
}

/** The run's dataset, prepared; storage that does not have it or refuses it is the dataset's fault. */
export async function readDataset(
  store: Reader,
  config: TrainerConfig,
  log: Logger,
): Promise<PreparedDataset> {
  let data: PreparedDataset;
  try {
    data = await loadDataset(store, config.dataset, {
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
  log.info('dataset loaded', {
    uri: config.dataset.uri,
    format: config.dataset.format,
    train: data.train.n,
    validation: data.validation.n,
    ...(data.test ? { test: data.test.n } : {}),
    sampleShape: data.sampleShape,
    ...(data.classNames ? { classes: data.classNames.length } : {}),
  });
  return data;
}

// ---------------------------------------------------------------------------------------------
// Images (MNIST IDX)

export interface ImageSet {
  images: Uint8Array;
  labels: Uint8Array;
  shape: [number, number, number];
  test?: { images: Uint8Array; labels: Uint8Array };
}

const MNIST_FILE = /(?:^|\/)(train|t10k)-(images|labels)[-.]idx([13])-ubyte(?:\.gz)?$/;

async function readMnist(store: Reader, prefix: string): Promise<ImageSet> {
  const files = await store.list(prefix);
  const found: Record<string, string> = {};
  for (const uri of files) {
    const m = MNIST_FILE.exec(uri);
    if (m) found[`${m[1]}-${m[2]}`] ??= uri;
  }
  for (const need of ['train-images', 'train-labels']) {
    if (!found[need]) {
      throw new TrainerError(
        TrainerErrorCode.DatasetUnreadable,
        `${prefix}: no ${need}-idx${need.endsWith('images') ? 3 : 1}-ubyte[.gz] file under the dataset URI (found ${files.length} objects)`,
      );
    }
  }
  const load = async (key: string) => {
    const uri = found[key]!;
    return { uri, idx: parseIdx(await store.get(uri), uri) };
  };
  const pair = async (kind: 'train' | 't10k') => {
    const images = await load(`${kind}-images`);
    const labels = await load(`${kind}-labels`);
    return checkImagePair(images, labels);
  };
  const train = await pair('train');
  const set: ImageSet = { images: train.images, labels: train.labels, shape: train.shape };
  if (found['t10k-images'] && found['t10k-labels']) {
    const test = await pair('t10k');
    if (test.shape.join() !== train.shape.join()) {
      throw invalid(`t10k images are ${test.shape.join('x')}, train images are ${train.shape.join('x')}`);
    }
    set.test = { images: test.images, labels: test.labels };
  }
  return set;
}

type Loaded = { uri: string; idx: ReturnType<typeof parseIdx> };

function checkImagePair(images: Loaded, labels: Loaded) {
  const s = images.idx.shape;
  if (!(images.idx.data instanceof Uint8Array) || (s.length !== 3 && s.length !== 4)) {
    throw invalid(
      `${images.uri}: expected unsigned bytes of shape [n, height, width(, channels)], got [${s.join(', ')}]`,
    );
  }
  if (!(labels.idx.data instanceof Uint8Array) || labels.idx.shape.length !== 1) {
    throw invalid(
      `${labels.uri}: expected unsigned bytes of shape [n], got [${labels.idx.shape.join(', ')}]`,
    );
  }
  if (labels.idx.shape[0] !== s[0]) {
    throw invalid(`${labels.uri} has ${labels.idx.shape[0]} labels for ${s[0]} images in ${images.uri}`);
  }
  return {
    images: images.idx.data,
    labels: labels.idx.data,
    shape: [s[1]!, s[2]!, s[3] ?? 1] as [number, number, number],
  };
}

const IMAGE_SCALE = 255;

export function prepareImages(set: ImageSet, spec: DatasetSpec, opts: LoadOptions): PreparedDataset {
  const size = set.shape[0] * set.shape[1] * set.shape[2];
  const n = set.labels.length;
  if (n < 2) throw invalid(`${spec.uri}: ${n} images; need at least 2 (training and validation)`);
  const split = splitIndices(n, opts.validationSplit, opts.seed);
  const maxLabel = Math.max(...set.labels, ...(set.test?.labels ?? []));
  const classNames = Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  const scaled = Float32Array.from(set.images, (p) => p / IMAGE_SCALE);
  const part = (x: Float32Array, labels: Uint8Array, idx: ArrayLike<number>): Part => ({
    n: idx.length,
    x: takeRows(x, size, idx),
    classes: Int32Array.from(take(labels, idx)),
  });
  const all = (len: number) => Uint32Array.from({ length: len }, (_, i) => i);
  const prepared: PreparedDataset = {
    kind: 'image',
    sampleShape: [...set.shape],
    train: part(scaled, set.labels, split.train),
    validation: part(scaled, set.labels, split.validation),
    input: { kind: 'image', imageScale: IMAGE_SCALE },
    profileColumns: imageSummaries(takeRows(scaled, size, split.train), size),
  };
  if (opts.task === 'classification') prepared.classNames = classNames;
  if (set.test) {
    const testScaled = Float32Array.from(set.test.images, (p) => p / IMAGE_SCALE);
    prepared.test = part(testScaled, set.test.labels, all(set.test.labels.length));
  }
  if (spec.augmentation) prepared.augmentation = spec.augmentation;
  return prepared;
}

// ---------------------------------------------------------------------------------------------
// Tables (CSV)

export function prepareCsv(text: string, spec: DatasetSpec, opts: LoadOptions): PreparedDataset {
  const file = spec.uri;
  const table = parseCsv(text, file);
  const has = new Set(table.header);
  const label = spec.label;
  if (label !== undefined && !has.has(label)) {
    throw invalid(`${file}: label column "${label}" is not in the header (${table.header.join(', ')})`);
  }
  const features = spec.features ?? table.header.filter((h) => h !== label);
  for (const f of features) {
    if (!has.has(f))
      throw invalid(`${file}: feature column "${f}" is not in the header (${table.header.join(', ')})`);
    if (f === label) throw invalid(`${file}: column "${f}" is both a feature and the label`);
  }
  if (features.length === 0) throw invalid(`${file}: no feature columns`);
  const n = table.rows.length;
  if (n < 2) throw invalid(`${file}: ${n} data rows; need at least 2 (training and validation)`);
  const col = new Map(table.header.map((h, i) => [h, i]));
  const width = features.length;
  // Float64 for the profile (float32 would turn 0.1 into 0.10000000149 in profile.json).
  const raw64 = new Float64Array(n * width);
  for (let r = 0; r < n; r++) {
    const row = table.rows[r]!;
    for (let c = 0; c < width; c++) {
      const name = features[c]!;
      raw64[r * width + c] = parseNumber(row[col.get(name)!]!, file, table.lines[r]!, name);
    }
  }
  const labelCells = label === undefined ? undefined : table.rows.map((row) => row[col.get(label)!]!.trim());
  const split = splitIndices(n, opts.validationSplit, opts.seed);
  const raw = Float32Array.from(raw64);
  const trainRaw = takeRows(raw, width, split.train);
  const validationRaw = takeRows(raw, width, split.validation);
  const profileColumns = features.map((name, c) => ({
    name,
    values: Float64Array.from(split.train, (r) => raw64[r * width + c]!),
  }));
  const normalization = spec.normalize ? computeNormalization(trainRaw, width) : null;
  if (normalization) {
    applyNormalization(trainRaw, normalization);
    applyNormalization(validationRaw, normalization);
  }
  const train: Part = { n: split.train.length, x: trainRaw };
  const validation: Part = { n: split.validation.length, x: validationRaw };
  const prepared: PreparedDataset = {
    kind: 'tabular',
    sampleShape: [width],
    train,
    validation,
    input: { kind: 'tabular', features, normalization },
    profileColumns,
  };
  if (labelCells && opts.task === 'classification') {
    const { classNames, classes } = encodeClasses(
      labelCells,
      (r) => `${file}: line ${table.lines[r]}`,
      label!,
    );
    prepared.classNames = classNames;
    train.classes = Int32Array.from(take(classes, split.train));
    validation.classes = Int32Array.from(take(classes, split.validation));
  } else if (labelCells && opts.task === 'regression') {
    const targets = Float32Array.from(labelCells, (cell, r) =>
      parseNumber(cell, file, table.lines[r]!, label!),
    );
    train.targets = Float32Array.from(take(targets, split.train));
    validation.targets = Float32Array.from(take(targets, split.validation));
  }
  return prepared;
}

/**
 * Class names in a stable order (numeric when every label is a number, else lexicographic) and
 * each row's class index.
 */
export function encodeClasses(
  labels: readonly string[],
  where: (row: number) => string,
  column: string,
): { classNames: string[]; classes: Int32Array } {
  for (const [r, l] of labels.entries())
    if (l === '') throw invalid(`${where(r)}, column "${column}": the label is empty`);
  const unique = [...new Set(labels)];
  const numeric = unique.every((l) => Number.isFinite(Number(l)));
  unique.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (unique.length < 2)
    throw invalid(`${where(0).split(':')[0]}: column "${column}" has only one class (${unique[0]})`);
  const index = new Map(unique.map((c, i) => [c, i]));
  return { classNames: unique, classes: Int32Array.from(labels, (l) => index.get(l)!) };
}

// ---------------------------------------------------------------------------------------------
// Text (JSONL)

export function prepareJsonl(text: string, spec: DatasetSpec, opts: LoadOptions): PreparedDataset {
  const file = spec.uri;
  const field = spec.textField;
  const label = spec.label!;
  const texts: string[] = [];
  const labels: string[] = [];
  const lineNumbers: number[] = [];
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    if (line.trim() === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (err) {
      throw invalid(`${file}: line ${i + 1}: not valid JSON (${(err as Error).message})`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      throw invalid(`${file}: line ${i + 1}: expected a JSON object`);
    }
    const record = obj as Record<string, unknown>;
    const t = record[field];
    if (typeof t !== 'string')
      throw invalid(`${file}: line ${i + 1}: field "${field}" is ${describe(t)}, expected a string`);
    const l = record[label];
    if (typeof l !== 'string' && typeof l !== 'number' && typeof l !== 'boolean') {
      throw invalid(
        `${file}: line ${i + 1}: label field "${label}" is ${describe(l)}, expected a string, number or boolean`,
      );
    }
    texts.push(t);
    labels.push(String(l));
    lineNumbers.push(i + 1);
  }
  const n = texts.length;
  if (n < 2) throw invalid(`${file}: ${n} records; need at least 2 (training and validation)`);
  const { classNames, classes } = encodeClasses(labels, (r) => `${file}: line ${lineNumbers[r]}`, label);
  const tokens = texts.map((t) => tokenize(t, true));
  const split = splitIndices(n, opts.validationSplit, opts.seed);
  // The vocabulary comes from the training split only, like every other statistic.
  const vocabulary = buildVocabulary(take(tokens, split.train), spec.vocabularySize);
  const index = vocabularyIndex(vocabulary);
  const maxLength = spec.maxLength;
  const part = (idx: Uint32Array): Part => {
    const x = new Float32Array(idx.length * maxLength);
    for (let i = 0; i < idx.length; i++) x.set(encode(tokens[idx[i]!]!, index, maxLength), i * maxLength);
    return { n: idx.length, x, classes: Int32Array.from(take(classes, idx)) };
  };
  return {
    kind: 'text',
    sampleShape: [maxLength],
    train: part(split.train),
    validation: part(split.validation),
    classNames,
    input: { kind: 'text', vocabulary, maxLength, lowercase: true },
    profileColumns: [
      { name: 'token_count', values: Float64Array.from(split.train, (r) => tokens[r]!.length) },
    ],
  };
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  return Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}
