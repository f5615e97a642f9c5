// The artifact's JSON files as TypeBox schemas: the single definition of docs/artifact.md's
// format that the trainer (writer, through lib/artifact) and the model server and drift monitor
// (readers) share.
// Objects allow unknown properties so an additive change does not break older readers; a
// breaking change bumps FORMAT_VERSION.
import Type, { type Static } from 'typebox';
import { DatasetRead } from './lineage.ts';
import { StringEnum } from './schema.ts';
import { MODEL_NAME_MAX_LENGTH, MODEL_NAME_PATTERN, OPTIMIZERS, TASKS } from './training.ts';

/**
 * The manifest's apiVersion and kind: the artifact format's own version, which only looks like a
 * CRD's apiVersion (API_VERSION in common.ts); the two change independently.
 */
export const ARTIFACT_API_VERSION = 'k2k.dev/v1alpha1';
export const ARTIFACT_KIND = 'ModelArtifact';
export const FORMAT_VERSION = 1;

/** File names of the artifact layout (docs/artifact.md). */
export const FILES = {
  manifest: 'manifest.json',
  model: 'model.json',
  weights: 'weights.bin',
  preprocessing: 'preprocessing.json',
  profile: 'profile.json',
  metrics: 'metrics.json',
  /** The optimizer's state (iterations, slot variables) and its weight specs; optional. */
  optimizer: 'optimizer.json',
  optimizerWeights: 'optimizer.bin',
} as const;
/** Transient files live here; they are never listed in the manifest. */
export const CHECKPOINTS_DIR = 'checkpoints/';

/** KServe v2 / Triton tensor data types. */
export const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;

const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$' });
/** A relative path inside the artifact: no leading "/", no "." or ".." segments, no backslashes. */
export const RelativePath = Type.String({
  pattern: '^(?!/)(?!.*(^|/)\\.{1,2}(/|$))(?!.*//)[^\\\\]+$',
  maxLength: 1024,
});

export const TensorSpec = Type.Object({
  name: Type.String({ minLength: 1 }),
  /** Raw shape clients send; -1 for the batch (and any other free) dimension. */
  shape: Type.Array(Type.Integer({ minimum: -1 })),
  datatype: StringEnum(DATATYPES),
});
export type TensorSpec = Static<typeof TensorSpec>;

export const ManifestFile = Type.Object({
  path: RelativePath,
  size: Type.Integer({ minimum: 0 }),
  sha256: Sha256,
});
export type ManifestFile = Static<typeof ManifestFile>;

export const Manifest = Type.Object({
  apiVersion: Type.Literal(ARTIFACT_API_VERSION),
  kind: Type.Literal(ARTIFACT_KIND),
  formatVersion: Type.Literal(FORMAT_VERSION),
  model: Type.String({ pattern: MODEL_NAME_PATTERN, maxLength: MODEL_NAME_MAX_LENGTH }),
  /** A positive decimal integer (TensorFlow Serving's convention), as a string. */
  version: Type.String({ pattern: '^[1-9][0-9]{0,18}$' }),
  createdAt: Type.String({ format: 'date-time' }),
  task: StringEnum(TASKS),
  framework: Type.Object({
    name: Type.String({ minLength: 1 }),
    version: Type.String({ minLength: 1 }),
    backend: Type.String({ minLength: 1 }),
  }),
  inputs: Type.Array(TensorSpec, { minItems: 1 }),
  outputs: Type.Array(TensorSpec, { minItems: 1 }),
  files: Type.Array(ManifestFile),
  trainingJob: Type.Optional(
    Type.Object({
      namespace: Type.String({ minLength: 1 }),
      name: Type.String({ minLength: 1 }),
      uid: Type.Optional(Type.String()),
    }),
  ),
  /** What it was trained on: every dataset object the trainer read, with sizes and sha256. */
  dataset: Type.Optional(DatasetRead),
  /** Lineage of a continued run (TrainingJob spec.resumeFrom): the artifact it continued. */
  continuedFrom: Type.Optional(
    Type.Object({
      uri: Type.String({ minLength: 1 }),
      manifestSha256: Sha256,
      /** The epochs that artifact's run had trained; this run trained the ones after. */
      epoch: Type.Integer({ minimum: 1 }),
    }),
  ),
});
export type Manifest = Static<typeof Manifest>;

export const Normalization = Type.Object({
  mean: Type.Array(Type.Number()),
  std: Type.Array(Type.Number()),
});
export type Normalization = Static<typeof Normalization>;

export const TabularInput = Type.Object({
  kind: Type.Literal('tabular'),
  /** Column names, in the order the model takes them. */
  features: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  /** z-score parameters computed on the training split only; null when the model takes raw values. */
  normalization: Type.Optional(Type.Union([Normalization, Type.Null()])),
});
export const ImageInput = Type.Object({
  kind: Type.Literal('image'),
  /** Raw pixels are divided by this (255 for 8-bit images). */
  imageScale: Type.Number({ exclusiveMinimum: 0 }),
});
export const TextInput = Type.Object({
  kind: Type.Literal('text'),
  /** Index = token id; conventionally 0 is "<pad>" and 1 is "<unk>". */
  vocabulary: Type.Array(Type.String(), { minItems: 1 }),
  maxLength: Type.Integer({ minimum: 1 }),
  lowercase: Type.Optional(Type.Boolean()),
});
export type TabularInput = Static<typeof TabularInput>;
export type ImageInput = Static<typeof ImageInput>;
export type TextInput = Static<typeof TextInput>;

/** The anomaly threshold an autoencoder learned in training (docs/artifact.md, ADR 0035). */
export const AnomalyThreshold = Type.Object({
  /** The score: mean squared reconstruction error per row, on the preprocessed input. */
  score: Type.Literal('mse'),
  /** The percentile of the scores on `split` that the threshold is (linear interpolation, as numpy's). */
  percentile: Type.Number({ minimum: 0, maximum: 100 }),
  /** A row whose score is above this is anomalous. */
  threshold: Type.Number({ minimum: 0 }),
  /** The rows the percentile was taken over: the validation split, or training when it is empty. */
  split: StringEnum(['validation', 'train'] as const),
  count: Type.Integer({ minimum: 1 }),
});
export type AnomalyThreshold = Static<typeof AnomalyThreshold>;

export const Preprocessing = Type.Object({
  input: Type.Union([TabularInput, ImageInput, TextInput]),
  output: Type.Object({
    /** Classification: index -> label. */
    classNames: Type.Optional(Type.Array(Type.String(), { minItems: 1 })),
    /** Anomaly (autoencoder): absent in artifacts written before it, which are served without a flag. */
    anomaly: Type.Optional(AnomalyThreshold),
  }),
});
export type Preprocessing = Static<typeof Preprocessing>;

/** Bin edges: K+1 ascending numbers, with -Infinity/Infinity written as null at the ends (JSON has no infinities). */
const Edges = Type.Array(Type.Union([Type.Number(), Type.Null()]), { minItems: 2 });
const Count = Type.Integer({ minimum: 0 });

export const FeatureProfile = Type.Object({
  name: Type.String({ minLength: 1 }),
  edges: Edges,
  counts: Type.Array(Count, { minItems: 1 }),
  count: Count,
  quantiles: Type.Optional(Type.Array(Type.Number())),
  /** Up to 1,000 training values: the reference sample for the Kolmogorov-Smirnov test. */
  sample: Type.Optional(Type.Array(Type.Number(), { maxItems: 100_000 })),
});
export type FeatureProfile = Static<typeof FeatureProfile>;

export const ClassificationPredictions = Type.Object({
  kind: Type.Literal('classification'),
  classNames: Type.Array(Type.String(), { minItems: 1 }),
  counts: Type.Array(Count),
  count: Count,
});
export const RegressionPredictions = Type.Object({
  kind: Type.Literal('regression'),
  edges: Edges,
  counts: Type.Array(Count, { minItems: 1 }),
  count: Count,
});
export type ClassificationPredictions = Static<typeof ClassificationPredictions>;
export type RegressionPredictions = Static<typeof RegressionPredictions>;

export const DataProfile = Type.Object({
  features: Type.Array(FeatureProfile),
  predictions: Type.Optional(Type.Union([ClassificationPredictions, RegressionPredictions])),
});
export type DataProfile = Static<typeof DataProfile>;

/** A metric value; null where training produced NaN (JSON has no NaN). */
const MetricValue = Type.Union([Type.Number(), Type.Null()]);

export const EpochMetrics = Type.Object(
  { epoch: Type.Integer({ minimum: 0 }) },
  { additionalProperties: MetricValue },
);
export type EpochMetrics = Static<typeof EpochMetrics> & Record<string, number | null>;

export const MetricsFile = Type.Object({
  history: Type.Array(EpochMetrics),
  final: Type.Record(Type.String(), MetricValue),
  stoppedEarly: Type.Boolean(),
  epochs: Type.Integer({ minimum: 0 }),
  samples: Type.Object({
    train: Count,
    validation: Count,
    test: Type.Optional(Count),
  }),
});
/**
 * optimizer.json: which optimizer the run trained with and the specs of its state in optimizer.bin
 * (tf.io weight specs, in the optimizer's own order: the iteration count, then its slot variables),
 * so a continued run takes the step the first run would have taken next.
 */
export const OptimizerStateFile = Type.Object({
  optimizer: StringEnum(OPTIMIZERS),
  weights: Type.Array(
    Type.Object({
      name: Type.String({ minLength: 1 }),
      shape: Type.Array(Type.Integer({ minimum: 0 })),
      dtype: StringEnum(['float32', 'int32'] as const),
    }),
  ),
});
export type OptimizerStateFile = Static<typeof OptimizerStateFile>;

export type MetricsFile = Omit<Static<typeof MetricsFile>, 'history'> & { history: EpochMetrics[] };

/**
 * Splits a model URI into its kind (lib/artifact's artifactURI's inverse; in api/ because the operator reads it too): a version URI ends in a numeric
 * segment (<out>/<model>/<version>/), a model URI in the model's name (<out>/<model>/).
 */
export function classifyModelURI(uri: string): {
  kind: 'version' | 'model';
  model: string;
  version?: string;
} {
  const segments = uri.replace(/\/+$/, '').split('/');
  const last = segments[segments.length - 1] ?? '';
  if (/^[1-9][0-9]{0,18}$/.test(last)) {
    return { kind: 'version', model: decodeURIComponent(segments[segments.length - 2] ?? ''), version: last };
  }
  return { kind: 'model', model: decodeURIComponent(last) };
}
