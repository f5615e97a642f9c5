import { describe, expect, it } from 'vitest';
import { type DerivationInputs, derivation, selectOutputs } from './served-outputs.ts';

const tabular = { name: 'input', shape: [-1, 4], datatype: 'FP32' };
const threshold = { score: 'mse', percentile: 99, threshold: 0.5, split: 'validation', count: 10 } as const;
const reconstruction = { name: 'reconstruction', shape: [-1, 4], datatype: 'FP32' };
const probabilities = (units: number) => ({ name: 'output', shape: [-1, units], datatype: 'FP32' });

describe('derivation', () => {
  it.each<[string, DerivationInputs, string[]]>([
    [
      'adds a score and a flag to an autoencoder with a threshold',
      { task: 'anomaly', input: tabular, modelOutputs: [reconstruction], anomaly: threshold },
      ['anomaly_score', 'is_anomaly', 'reconstruction'],
    ],
    [
      'adds only the score to an autoencoder without a threshold',
      { task: 'anomaly', input: tabular, modelOutputs: [reconstruction] },
      ['anomaly_score', 'reconstruction'],
    ],
    [
      'adds nothing to an anomaly model whose output does not reconstruct its input',
      { task: 'anomaly', input: tabular, modelOutputs: [probabilities(2)], anomaly: threshold },
      ['output'],
    ],
    [
      'adds a label to a classifier with one class name per probability',
      {
        task: 'classification',
        input: tabular,
        modelOutputs: [probabilities(3)],
        classNames: ['a', 'b', 'c'],
      },
      ['output', 'label'],
    ],
    [
      'adds a label to a sigmoid classifier with two class names',
      { task: 'classification', input: tabular, modelOutputs: [probabilities(1)], classNames: ['no', 'yes'] },
      ['output', 'label'],
    ],
    [
      'adds no label when the class names do not fit the output',
      { task: 'classification', input: tabular, modelOutputs: [probabilities(3)], classNames: ['a', 'b'] },
      ['output'],
    ],
    [
      'adds no label to a classifier without class names',
      { task: 'classification', input: tabular, modelOutputs: [probabilities(3)] },
      ['output'],
    ],
    [
      'adds nothing to a regression model',
      { task: 'regression', input: tabular, modelOutputs: [probabilities(1)] },
      ['output'],
    ],
  ])('%s', (_name, inputs, names) => {
    expect(derivation(inputs).outputs.map((o) => o.name)).toEqual(names);
  });

  it('flags a score strictly above the threshold', () => {
    const d = derivation({
      task: 'anomaly',
      input: tabular,
      modelOutputs: [reconstruction],
      anomaly: threshold,
    });
    const values = d.derive(Float64Array.from([0.1, 0.5, 0.7]), 3);
    expect(values.get('is_anomaly')).toEqual([false, false, true]);
    expect(Array.from(values.get('anomaly_score') as Float32Array)).toEqual([0.1, 0.5, 0.7].map(Math.fround));
  });

  it('names the predicted class, the second of two for a sigmoid at class index 1', () => {
    const d = derivation({
      task: 'classification',
      input: tabular,
      modelOutputs: [probabilities(1)],
      classNames: ['no', 'yes'],
    });
    expect(d.derive(Float64Array.from([1, 0]), 2).get('label')).toEqual(['yes', 'no']);
  });
});

describe('selectOutputs', () => {
  const outputs = derivation({
    task: 'classification',
    input: tabular,
    modelOutputs: [probabilities(3)],
    classNames: ['a', 'b', 'c'],
  }).outputs;

  it('answers every output not kept for those who ask, when none is named', () => {
    expect([...selectOutputs(outputs, undefined, 'm', 'outputs')]).toEqual(['output']);
    expect([...selectOutputs(outputs, [], 'm', 'output_filter')]).toEqual(['output']);
  });

  it('answers the outputs named, those kept for asking included', () => {
    expect([...selectOutputs(outputs, ['label'], 'm', 'outputs')]).toEqual(['label']);
  });

  it('names the request field and the outputs there are for an unknown one', () => {
    expect(() => selectOutputs(outputs, ['probs'], 'm', 'output_filter')).toThrow(
      'output_filter: unknown output "probs"; model "m" has outputs: output, label',
    );
  });
});
