// The training specification embedded in TrainingJob.spec (and in a HyperparameterSweep's trial
// template). The trainer validates its config (api/trainer.ts) with the same schemas, so the CRD,
// the TypeScript types and the trainer's checks cannot drift apart.
import Type, { type Static } from 'typebox';
import { Resources, Scheduling } from './common.ts';
import { extendObject, FreeForm, ObjectURI, rules, StringEnum, StringMap } from './schema.ts';
import { Storage } from './storage.ts';

export const ARCHITECTURES = ['mnist-mlp', 'cnn', 'lstm-text', 'autoencoder', 'regression-mlp'] as const;
export const TASKS = ['classification', 'regression', 'anomaly'] as const;
export const DATASET_FORMATS = ['mnist-idx', 'csv', 'jsonl'] as const;
export const OPTIMIZERS = ['sgd', 'momentum', 'adam', 'adamax', 'rmsprop', 'adagrad', 'adadelta'] as const;
export const LOSSES = [
  'categoricalCrossentropy',
  'sparseCategoricalCrossentropy',
  'binaryCrossentropy',
  'meanSquaredError',
  'meanAbsoluteError',
  'huber',
] as const;
export const METRICS = ['accuracy', 'mse', 'mae', 'precision', 'recall'] as const;
export const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;

export const BaseArtifact = Type.Object(
  {
    uri: ObjectURI(
      'URI of a complete k2k artifact version (…/<model>/<version>/) whose weights initialise the model.',
    ),
    freezeLayers: Type.Integer({
      description:
        'Number of leading layers whose weights are frozen (not trained). 0 fine-tunes every layer.',
      minimum: 0,
      maximum: 1000,
      default: 0,
    }),
  },
  { description: 'Transfer learning: start from an existing artifact.' },
);

/** An artifact's <model> path segment (ModelSpec.name, the manifest's model). */
export const MODEL_NAME_PATTERN = '^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$';
export const MODEL_NAME_MAX_LENGTH = 128;

export const ModelSpec = Type.Object(
  {
    name: Type.Optional(
      Type.String({
        description: 'Artifact name: the path segment under output.uri. Default: the TrainingJob name.',
        pattern: MODEL_NAME_PATTERN,
        maxLength: MODEL_NAME_MAX_LENGTH,
      }),
    ),
    task: StringEnum(TASKS, {
      description:
        'What the model predicts: classification (class probabilities), regression (numbers) or anomaly (an autoencoder whose reconstruction error scores inputs).',
      default: 'classification',
    }),
    architecture: Type.Optional(
      StringEnum(ARCHITECTURES, {
        description:
          'A built-in architecture from the classic Keras examples: mnist-mlp (flatten, dense 512 relu, dense softmax), cnn (conv 32 3x3 relu, max-pool, flatten, dense softmax), lstm-text (embedding + LSTM, binary sentiment), autoencoder (dense encoder/decoder for anomaly detection), regression-mlp.',
      }),
    ),
    topology: Type.Optional(
      FreeForm({
        description:
          'A Keras model topology, trained from fresh weights: the JSON of model.to_json() from Keras 3 or Keras 2 (tf.keras), or of TensorFlow.js model.toJSON(). Exactly one of architecture, topology, topologyURI and kerasURI.',
      }),
    ),
    topologyURI: Type.Optional(ObjectURI('URI of a Keras model topology JSON file (as topology).')),
    kerasURI: Type.Optional(
      ObjectURI(
        'URI of a saved Keras model whose topology and weights training starts from (fine-tuning): a .keras file (Keras 3 model.save) or an .h5 file (Keras 2, or Keras 3 saving to .h5). Its compile settings are ignored; hyperparameters apply.',
      ),
    ),
    freezeLayers: Type.Optional(
      Type.Integer({
        description:
          'With kerasURI: number of leading layers (model.layers, counting the Input layer of a functional model) whose weights are frozen.',
        minimum: 0,
        maximum: 1000,
      }),
    ),
    units: Type.Optional(
      Type.Array(Type.Integer({ minimum: 1, maximum: 65536 }), {
        description:
          'Hidden layer sizes for built-in dense architectures (mnist-mlp, autoencoder, regression-mlp).',
        maxItems: 16,
      }),
    ),
    baseArtifact: Type.Optional(BaseArtifact),
    anomalyPercentile: Type.Optional(
      Type.Number({
        description:
          "task anomaly: the percentile of the validation rows' reconstruction errors that becomes the anomaly threshold the model server flags against (default 99).",
        minimum: 50,
        maximum: 100,
      }),
    ),
  },
  {
    description: 'The model to train.',
    ...rules(
      {
        rule: '[has(self.architecture), has(self.topology), has(self.topologyURI), has(self.kerasURI)].filter(x, x).size() == 1',
        message: 'exactly one of architecture, topology, topologyURI and kerasURI must be set',
      },
      {
        rule: '!has(self.freezeLayers) || has(self.kerasURI)',
        message: 'freezeLayers applies to kerasURI (a base artifact has its own baseArtifact.freezeLayers)',
        fieldPath: '.freezeLayers',
      },
      {
        rule: "!has(self.anomalyPercentile) || self.task == 'anomaly'",
        message: 'anomalyPercentile applies to task anomaly',
        fieldPath: '.anomalyPercentile',
      },
      {
        rule: '!has(self.kerasURI) || !has(self.baseArtifact)',
        message: 'kerasURI brings its own weights: it cannot be combined with baseArtifact',
        fieldPath: '.baseArtifact',
      },
    ),
  },
);
export type ModelSpec = Static<typeof ModelSpec>;

export const Augmentation = Type.Object(
  {
    shift: Type.Number({
      description: 'Maximum random shift as a fraction of width/height.',
      minimum: 0,
      maximum: 0.5,
      default: 0,
    }),
    rotate: Type.Number({
      description: 'Maximum random rotation in degrees.',
      minimum: 0,
      maximum: 180,
      default: 0,
    }),
    flip: Type.Boolean({ description: 'Randomly flip images horizontally.', default: false }),
  },
  { description: 'Random image augmentation applied to training batches (images only).' },
);

export const DatasetSpec = Type.Object(
  {
    format: StringEnum(DATASET_FORMATS, {
      description:
        'mnist-idx: the four MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-…, optionally .gz) under uri; csv: a CSV file with a header row; jsonl: one JSON object per line with a text and a label field.',
    }),
    uri: ObjectURI('URI of the dataset: a file, or for mnist-idx a prefix holding the IDX files.'),
    features: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
        description: 'csv: the feature columns, in order. Default: every column but the label.',
        maxItems: 4096,
      }),
    ),
    label: Type.Optional(
      Type.String({
        description: 'csv: the label column (one-hot encoded for classification). jsonl: the label field.',
        minLength: 1,
        maxLength: 256,
      }),
    ),
    textField: Type.String({
      description: 'jsonl: the field holding the text.',
      default: 'text',
      minLength: 1,
    }),
    vocabularySize: Type.Integer({
      description: 'jsonl: the tokenizer keeps this many most frequent words (saved with the model).',
      minimum: 10,
      maximum: 1000000,
      default: 10000,
    }),
    maxLength: Type.Integer({
      description: 'jsonl: texts are cut or padded to this many tokens.',
      minimum: 1,
      maximum: 10000,
      default: 100,
    }),
    normalize: Type.Boolean({
      description:
        'Standardise numeric features with mean and standard deviation computed on the training split only (saved with the model and applied by the server).',
      default: true,
    }),
    augmentation: Type.Optional(Augmentation),
  },
  {
    description: 'The training data.',
    ...rules({
      rule: "self.format == 'mnist-idx' || !has(self.augmentation)",
      message: 'augmentation applies to image datasets (mnist-idx) only',
      fieldPath: '.augmentation',
    }),
  },
);
export type DatasetSpec = Static<typeof DatasetSpec>;

export const Hyperparameters = Type.Object(
  {
    epochs: Type.Integer({
      description: 'Passes over the training data.',
      minimum: 1,
      maximum: 10000,
      default: 10,
    }),
    batchSize: Type.Integer({
      description: 'Samples per gradient update.',
      minimum: 1,
      maximum: 65536,
      default: 32,
    }),
    learningRate: Type.Number({
      description: 'Optimizer learning rate.',
      exclusiveMinimum: 0,
      maximum: 10,
      default: 0.001,
    }),
    optimizer: StringEnum(OPTIMIZERS, { description: 'Optimizer.', default: 'adam' }),
    loss: Type.Optional(
      StringEnum(LOSSES, {
        description:
          'Loss function. Default: categoricalCrossentropy for classification (binaryCrossentropy for lstm-text), meanSquaredError otherwise.',
      }),
    ),
    metrics: Type.Array(StringEnum(METRICS), {
      description: 'Metrics reported per epoch besides the loss.',
      maxItems: 8,
      default: ['accuracy'],
    }),
    validationSplit: Type.Number({
      description:
        'Fraction of the rows held out for validation, taken after a seeded shuffle (unlike Keras, which takes the last rows).',
      minimum: 0,
      exclusiveMaximum: 1,
      default: 0.2,
    }),
    earlyStoppingPatience: Type.Integer({
      description: 'Stop after this many epochs without improvement of val_loss. 0 disables early stopping.',
      minimum: 0,
      maximum: 1000,
      default: 0,
    }),
    seed: Type.Integer({
      description: 'Seed for shuffling, the validation split and weight initialisation.',
      minimum: 0,
      maximum: 2147483647,
      default: 42,
    }),
  },
  { description: 'Training hyperparameters. Unknown or out-of-range values are rejected.', default: {} },
);
export type Hyperparameters = Static<typeof Hyperparameters>;

export const OutputSpec = Type.Object(
  {
    uri: ObjectURI('Prefix under which the artifact is written, as <uri>/<model name>/<version>/.'),
    version: Type.Optional(
      Type.String({
        description:
          'Artifact version (a positive integer, as TensorFlow Serving uses). Default: the TrainingJob creation time in Unix seconds. An existing complete version is never overwritten.',
        pattern: '^[1-9][0-9]{0,18}$',
      }),
    ),
    checkpointEvery: Type.Integer({
      description:
        'Write a checkpoint every this many epochs; a restarted trainer resumes from the newest one. 0 disables checkpoints.',
      minimum: 0,
      maximum: 10000,
      default: 1,
    }),
  },
  { description: 'Where the artifact goes.' },
);
export type OutputSpec = Static<typeof OutputSpec>;

export const ResumeFrom = Type.Object(
  {
    artifactURI: ObjectURI(
      'URI of the complete k2k artifact version (…/<model>/<version>/) of the run to continue: its weights, its optimizer state and its epoch count. The model, dataset and optimizer must be the ones it was trained with, and hyperparameters.epochs is the total to train to, the run’s epochs included.',
    ),
    manifestSha256: Type.Optional(
      Type.String({
        description:
          'sha256 of that artifact’s manifest.json (its TrainingJob’s status.artifact.manifestSha256): the trainer refuses any other artifact at artifactURI.',
        pattern: '^[0-9a-f]{64}$',
      }),
    ),
  },
  {
    description:
      'Continue another run instead of starting from fresh weights: training goes on at the epoch after the last one that run trained, from its weights and optimizer state, to hyperparameters.epochs (ADR 0033). The artifact written records where it continued from (manifest.json continuedFrom).',
  },
);
export type ResumeFrom = Static<typeof ResumeFrom>;

/** Everything the trainer needs to know about what to train. */
export const TrainingSpecProperties = {
  model: ModelSpec,
  dataset: DatasetSpec,
  hyperparameters: Hyperparameters,
  output: OutputSpec,
  backend: StringEnum(BACKENDS, {
    description:
      'TensorFlow.js backend: auto picks tensorflow (native, GPU when the pod has one) when installed, else wasm, else cpu.',
    default: 'auto',
  }),
};

/**
 * A TrainingJob spec that another resource starts TrainingJobs from: a sweep's trial template, a
 * ModelDeployment's retraining template.
 */
export const TrainingTemplateProperties = {
  ...TrainingSpecProperties,
  storage: Type.Optional(Storage),
  resources: extendObject(Resources, { default: {} }),
  ...Scheduling,
};

/** Cross-field rules of a training spec (they need both model and dataset in scope). */
export const trainingSpecRules = rules({
  rule: "self.model.task == 'anomaly' || self.dataset.format == 'mnist-idx' || has(self.dataset.label)",
  message: 'dataset.label is required for csv and jsonl datasets unless model.task is anomaly',
  fieldPath: '.dataset.label',
  reason: 'FieldValueRequired',
});

/** Per-epoch training progress, reported by the trainer (field manager k2k-trainer). */
export const TrainingProgress = Type.Object(
  {
    epoch: Type.Integer({ description: 'Epochs completed.', minimum: 0 }),
    epochs: Type.Integer({ description: 'Epochs planned.', minimum: 0 }),
    metrics: StringMap(Type.Number(), {
      description:
        "Metrics of the last completed epoch (loss, val_loss, …), to 4 significant digits for kubectl get; history and the artifact's metrics.json keep full precision.",
    }),
    history: Type.Optional(
      Type.Array(
        Type.Object(
          {
            epoch: Type.Integer({ description: 'Epoch number, from 1.', minimum: 1 }),
            metrics: StringMap(Type.Number(), { description: 'Metrics of this epoch.' }),
          },
          { description: 'One epoch.' },
        ),
        { description: 'Metrics of every completed epoch (the newest 500).', maxItems: 500 },
      ),
    ),
    backend: Type.Optional(Type.String({ description: 'TensorFlow.js backend the trainer runs on.' })),
    stepEngine: Type.Optional(
      Type.String({
        description:
          'How the training steps run: graph (each step one TensorFlow graph, on the native backend) or eager (<why not>), tfjs running op by op.',
      }),
    ),
    resumedFromEpoch: Type.Optional(
      Type.Integer({
        description:
          'The checkpoint epoch the reporting trainer pod resumed from (an earlier pod stopped after writing it); absent when it trained from the first epoch.',
        minimum: 1,
      }),
    ),
    continuedFromEpoch: Type.Optional(
      Type.Integer({
        description:
          'With spec.resumeFrom: the epochs the continued run had trained. history keeps its epochs (1 to this one), and this run trains the epochs after it.',
        minimum: 1,
      }),
    ),
    pod: Type.Optional(Type.String({ description: 'The trainer pod that reported.', maxLength: 253 })),
    updateTime: Type.Optional(
      Type.String({ description: 'When the trainer last reported.', format: 'date-time' }),
    ),
  },
  { description: 'Training progress reported by the trainer while it runs.' },
);
export type TrainingProgress = Static<typeof TrainingProgress>;
