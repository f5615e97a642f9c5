import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.ts';
import { TrainerError } from './errors.ts';

const valid = {
  model: { architecture: 'mnist-mlp' },
  dataset: { format: 'mnist-idx', uri: 's3://datasets/mnist/' },
  output: { uri: 's3://models', version: '1764037200' },
};

type Editable = {
  model: Record<string, unknown>;
  dataset: Record<string, unknown>;
  output: Record<string, unknown>;
  [field: string]: unknown;
};

const withPatch = (patch: (c: Editable) => void) => {
  const c: Editable = structuredClone(valid);
  patch(c);
  return JSON.stringify(c);
};

describe('parseConfig', () => {
  it('fills in every default of the schema', () => {
    const c = parseConfig(JSON.stringify(valid));
    expect(c.hyperparameters).toEqual({
      epochs: 10,
      batchSize: 32,
      learningRate: 0.001,
      optimizer: 'adam',
      metrics: ['accuracy'],
      validationSplit: 0.2,
      earlyStoppingPatience: 0,
      seed: 42,
    });
    expect(c.model.task).toBe('classification');
    expect(c.output.checkpointEvery).toBe(1);
    expect(c.backend).toBe('auto');
  });

  it('accepts a saved Keras model with frozen layers as the model', () => {
    const c = parseConfig(withPatch((c) => (c.model = { kerasURI: 's3://models/m.keras', freezeLayers: 2 })));
    expect(c.model).toMatchObject({ kerasURI: 's3://models/m.keras', freezeLayers: 2 });
  });

  it.each([
    ['rejects text that is not JSON', '{model:', /not valid JSON/],
    ['rejects a JSON array', '[]', /expected a JSON object/],
    [
      'names an unknown hyperparameter',
      withPatch((c) => (c.hyperparameters = { learningrate: 0.1 })),
      /\/hyperparameters\/learningrate: unknown field/,
    ],
    ['names an unknown top-level field', withPatch((c) => (c.extra = 1)), /\/extra: unknown field/],
    [
      'names an out-of-range value with the value',
      withPatch((c) => (c.hyperparameters = { epochs: 0 })),
      /\/hyperparameters\/epochs = 0: must be >= 1/,
    ],
    [
      'rejects a learning rate of 0 (exclusive minimum)',
      withPatch((c) => (c.hyperparameters = { learningRate: 0 })),
      /\/hyperparameters\/learningRate = 0/,
    ],
    [
      'lists the allowed optimizers',
      withPatch((c) => (c.hyperparameters = { optimizer: 'adamw' })),
      /\/hyperparameters\/optimizer = "adamw": must be one of sgd, momentum, adam/,
    ],
    [
      'requires an output version',
      withPatch((c) => delete c.output.version),
      /\/output: missing required field version/,
    ],
    [
      'refuses a version that is not a positive integer',
      withPatch((c) => (c.output.version = '01')),
      /\/output\/version = "01"/,
    ],
    [
      'refuses a URI with an unsupported scheme',
      withPatch((c) => (c.dataset.uri = 'http://x/y')),
      /\/dataset\/uri = "http:\/\/x\/y"/,
    ],
    [
      'requires exactly one model source',
      withPatch((c) => (c.model.topology = { class_name: 'Sequential' })),
      /exactly one of architecture, topology, topologyURI and kerasURI/,
    ],
    [
      'refuses freezeLayers without a Keras file',
      withPatch((c) => (c.model.freezeLayers = 1)),
      /\/model\/freezeLayers: applies to kerasURI/,
    ],
    [
      'refuses an anomaly percentile for a classifier',
      withPatch((c) => (c.model.anomalyPercentile = 95)),
      /\/model\/anomalyPercentile: applies to task anomaly/,
    ],
    [
      'refuses a Keras file together with a base artifact',
      withPatch(
        (c) => (c.model = { kerasURI: 's3://models/a.keras', baseArtifact: { uri: 's3://models/x/1/' } }),
      ),
      /\/model\/baseArtifact: kerasURI brings its own weights/,
    ],
    [
      'requires a label for csv classification',
      withPatch((c) => (c.dataset = { format: 'csv', uri: 's3://datasets/a.csv' })),
      /\/dataset\/label: required for csv/,
    ],
    [
      'refuses augmentation of tabular data',
      withPatch(
        (c) => (c.dataset = { format: 'csv', uri: 's3://datasets/a.csv', label: 'y', augmentation: {} }),
      ),
      /augmentation: applies to image datasets/,
    ],
    [
      'refuses an architecture for the wrong data',
      withPatch((c) => (c.model.architecture = 'lstm-text')),
      /needs a jsonl dataset, not mnist-idx/,
    ],
    [
      'refuses an architecture for the wrong task',
      withPatch((c) => (c.model.task = 'regression')),
      /architecture mnist-mlp trains classification models/,
    ],
    [
      'keeps unknown fields inside a free-form topology',
      withPatch((c) => {
        delete c.model.architecture;
        c.model.topology = { class_name: 'Sequential', config: {}, anything: true };
      }),
      null,
    ],
  ])('%s', (_name, text, error) => {
    if (error === null) {
      expect(() => parseConfig(text)).not.toThrow();
      return;
    }
    let thrown: unknown;
    try {
      parseConfig(text);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(TrainerError);
    expect((thrown as TrainerError).code).toBe('InvalidConfig');
    expect((thrown as TrainerError).exitCode).toBe(65);
    expect((thrown as Error).message).toMatch(error);
  });
});
