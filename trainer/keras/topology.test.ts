import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelFromTopology } from './topology.ts';

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

const shapes = (m: tf.LayersModel) => ({ input: m.inputs[0]!.shape, output: m.outputs[0]!.shape });

describe('modelFromTopology', () => {
  it.each([
    ['a Keras 2 Sequential model.to_json()', 'keras2-iris-mlp.json', [null, 4], [null, 3]],
    ['a Keras 2.15 Functional model.to_json()', 'keras215-functional-regression.json', [null, 3], [null, 1]],
  ])('builds %s', async (_name, file, input, output) => {
    const json = JSON.parse(readFileSync(new URL(`../testdata/${file}`, import.meta.url), 'utf8'));
    expect(shapes(await modelFromTopology(json, file))).toEqual({ input, output });
  });

  it.each([
    ['an array', [], /must be a JSON object/],
    ['an object without class_name', { layers: [] }, /not a Keras topology/],
    [
      'an unknown layer class, naming the layer and the class',
      { class_name: 'Sequential', config: { layers: [{ class_name: 'Nope', config: { name: 'n' } }] } },
      /topology: layer "n" \(class Nope\) is not a layer TensorFlow\.js 4\.22 has/,
    ],
    [
      'a layer config TensorFlow.js cannot build',
      {
        class_name: 'Sequential',
        config: {
          layers: [
            {
              class_name: 'Dense',
              config: { name: 'd', units: 2, batch_input_shape: [null, 2], activation: 'nope' },
            },
          ],
        },
      },
      /cannot build the Keras topology/,
    ],
  ])('refuses %s', async (_name, json, message) => {
    await expect(modelFromTopology(json, 'topology')).rejects.toThrow(message);
  });
});
