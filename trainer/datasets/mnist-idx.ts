// MNIST-style images: train-{images,labels} (and optionally t10k-*) IDX files under the dataset
// URI, gzip optional. Pixels are divided by 255.
import type { DatasetSpec } from '../../api/training.ts';
import { TrainerError, TrainerErrorCode } from '../errors.ts';
import { imageSummaries } from '../profile.ts';
import {
  type DatasetFormat,
  invalid,
  type LoadOptions,
  type Part,
  type PreparedDataset,
  type Reader,
} from './format.ts';
import { parseIdx } from './idx.ts';
import { splitIndices, take, takeRows } from './split.ts';

export const mnistIdx: DatasetFormat<'mnist-idx'> = {
  name: 'mnist-idx',
  load: async (store, spec, opts) => prepareImages(await readMnist(store, spec.uri), spec, opts),
};

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
