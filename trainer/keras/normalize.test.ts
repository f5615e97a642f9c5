import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TrainerExitCode } from '../../api/trainer.ts';
import { TrainerError } from '../errors.ts';
import { normalizeTopology } from './normalize.ts';

type Json = Record<string, unknown>;

const policy = (name: string) => ({
  module: 'keras',
  class_name: 'DTypePolicy',
  config: { name },
  registered_name: null,
});
const layer = (class_name: string, config: Json, extra: Json = {}) => ({
  module: 'keras.layers',
  class_name,
  config: { name: class_name.toLowerCase(), dtype: policy('float32'), ...config },
  registered_name: null,
  ...extra,
});
const sequential = (...layers: Json[]) => ({
  module: 'keras',
  class_name: 'Sequential',
  config: { name: 'm', dtype: policy('float32'), layers },
  registered_name: null,
  build_config: { input_shape: [null, 4] },
  compile_config: { loss: 'mse' },
});
const input = (batch_shape: unknown[], dtype = 'float32') => ({
  module: 'keras.layers',
  class_name: 'InputLayer',
  config: { batch_shape, dtype, sparse: false, ragged: false, name: 'input_layer', optional: false },
  registered_name: null,
});
const tensor = (layer: string, node = 0, index = 0) => ({
  class_name: '__keras_tensor__',
  config: { shape: [null, 4], dtype: 'float32', keras_history: [layer, node, index] },
});
const layersOf = (m: Json) => (m.config as Json).layers as Json[];
const configOf = (m: Json, i: number) => layersOf(m)[i]!.config as Json;
const testdata = (file: string) =>
  JSON.parse(readFileSync(new URL(`../testdata/${file}`, import.meta.url), 'utf8')) as Json;

describe('normalizeTopology', () => {
  it.each<[string, unknown, (m: Json) => unknown, unknown]>([
    [
      "moves a Keras 3 InputLayer's batch_shape onto a Sequential model's first layer, as Keras counts layers",
      sequential(input([null, 4]), layer('Dense', { units: 2 })),
      (m) => [layersOf(m).map((l) => l.class_name), configOf(m, 0).batch_input_shape],
      [['Dense'], [null, 4]],
    ],
    [
      "renames a Keras 3 InputLayer's batch_shape to batch_input_shape in a functional model and drops optional",
      {
        class_name: 'Functional',
        config: {
          name: 'f',
          layers: [{ ...input([null, 4]), name: 'input_layer', inbound_nodes: [] }],
          input_layers: [['input_layer', 0, 0]],
          output_layers: [['input_layer', 0, 0]],
        },
      },
      (m) => configOf(m, 0),
      { batch_input_shape: [null, 4], dtype: 'float32', sparse: false, ragged: false, name: 'input_layer' },
    ],
    [
      'replaces a DTypePolicy object by the dtype it names, in layers and in the model',
      sequential(input([null, 4]), layer('Dense', { units: 2 })),
      (m) => [configOf(m, 0).dtype, (m.config as Json).dtype],
      ['float32', 'float32'],
    ],
    [
      'computes a mixed_float16 layer in float32, the dtype of its variables',
      sequential(input([null, 4]), layer('Dense', { units: 2, dtype: policy('mixed_float16') })),
      (m) => configOf(m, 0).dtype,
      'float32',
    ],
    [
      'drops module, registered_name, build_config and compile_config at every depth',
      sequential(
        input([null, 4]),
        layer(
          'Dense',
          {
            units: 2,
            kernel_initializer: {
              module: 'keras.initializers',
              class_name: 'GlorotUniform',
              config: { seed: null },
              registered_name: null,
            },
          },
          { build_config: { input_shape: [null, 4] } },
        ),
      ),
      (m) => /module|registered_name|build_config|compile_config/.test(JSON.stringify(m)),
      false,
    ],
    [
      'gives a Sequential model without an InputLayer the input shape Keras 3 kept in build_input_shape',
      {
        class_name: 'Sequential',
        config: { name: 'm', layers: [layer('Dense', { units: 2 })], build_input_shape: [null, 7] },
      },
      (m) => [configOf(m, 0).batch_input_shape, 'build_input_shape' in (m.config as Json)],
      [[null, 7], false],
    ],
    [
      'rewrites L1 and L2 regularizers as the L1L2 TensorFlow.js knows',
      sequential(
        input([null, 4]),
        layer('Dense', {
          units: 2,
          kernel_regularizer: { module: 'keras.regularizers', class_name: 'L2', config: { l2: 0.01 } },
          bias_regularizer: { class_name: 'L1', config: { l1: 0.5 } },
        }),
      ),
      (m) => [configOf(m, 0).kernel_regularizer, configOf(m, 0).bias_regularizer],
      [
        { class_name: 'L1L2', config: { l1: 0, l2: 0.01 } },
        { class_name: 'L1L2', config: { l1: 0.5, l2: 0 } },
      ],
    ],
    [
      "turns Keras 3 inbound nodes ({args, kwargs} of keras tensors) into Keras 2's [layer, node, tensor, kwargs] lists",
      {
        class_name: 'Functional',
        config: {
          name: 'f',
          layers: [
            { ...input([null, 4]), name: 'input_layer', inbound_nodes: [] },
            {
              ...layer('Dense', { units: 2, name: 'a' }),
              name: 'a',
              inbound_nodes: [{ args: [tensor('input_layer')], kwargs: {} }],
            },
            {
              ...layer('Dense', { units: 2, name: 'b' }),
              name: 'b',
              inbound_nodes: [{ args: [tensor('input_layer')], kwargs: { training: null } }],
            },
            {
              ...layer('Concatenate', { axis: -1, name: 'c' }),
              name: 'c',
              inbound_nodes: [{ args: [[tensor('a'), tensor('b')]], kwargs: { mask: null } }],
            },
          ],
          input_layers: ['input_layer', 0, 0],
          output_layers: [['c', 0, 0]],
        },
      },
      (m) => [layersOf(m).map((l) => l.inbound_nodes), (m.config as Json).input_layers],
      [
        [
          [],
          [[['input_layer', 0, 0, {}]]],
          [[['input_layer', 0, 0, {}]]],
          [
            [
              ['a', 0, 0, {}],
              ['b', 0, 0, {}],
            ],
          ],
        ],
        [['input_layer', 0, 0]],
      ],
    ],
    [
      "numbers a nested model's calls from 1, after the node that links its own inputs, as TensorFlow.js does",
      {
        class_name: 'Functional',
        config: {
          name: 'outer',
          layers: [
            { ...input([null, 4]), name: 'input_layer', inbound_nodes: [] },
            {
              ...sequential(input([null, 4]), layer('Dense', { units: 3 })),
              name: 'inner',
              inbound_nodes: [{ args: [tensor('input_layer')], kwargs: { mask: null } }],
            },
            {
              ...layer('Dense', { units: 2, name: 'head' }),
              name: 'head',
              inbound_nodes: [{ args: [tensor('inner')], kwargs: {} }],
            },
          ],
          input_layers: [['input_layer', 0, 0]],
          output_layers: [['inner', 0, 0]],
        },
      },
      (m) => [layersOf(m)[2]!.inbound_nodes, (m.config as Json).output_layers],
      [[[['inner', 1, 0, {}]]], [['inner', 1, 0]]],
    ],
    [
      'unwraps the model of a TensorFlow.js model.json',
      { modelTopology: { model_config: sequential(input([null, 4]), layer('Dense', { units: 2 })) } },
      (m) => [m.class_name, layersOf(m).length],
      ['Sequential', 1],
    ],
    [
      'leaves the layers of a Keras 2 model.to_json() as Keras wrote them, without the InputLayer',
      testdata('keras2-iris-mlp.json'),
      (m) => layersOf(m),
      ((testdata('keras2-iris-mlp.json').config as Json).layers as Json[]).slice(1),
    ],
  ])('%s', (_name, topology, pick, expected) => {
    expect(pick(normalizeTopology(topology, 'topology'))).toEqual(expected);
  });

  it.each<[string, unknown, RegExp]>([
    ['an array', [], /topology: a Keras topology must be a JSON object/],
    ['an object without class_name', { layers: [] }, /not a Keras topology/],
    [
      'a layer that is not a layer config, by its position',
      sequential(input([null, 4]), { units: 2 } as Json),
      /topology: layers\[1\] is not a Keras layer config/,
    ],
    [
      'a subclassed model',
      { class_name: 'MyModel', registered_name: 'app>MyModel', config: {} },
      /the model is a MyModel registered as "app>MyModel", not a Sequential or Functional model/,
    ],
    [
      'a layer TensorFlow.js does not have, naming the layer, its class and Keras module',
      sequential(input([null, 4]), layer('UnitNormalization', { name: 'unit' })),
      /layer "unit" \(class UnitNormalization\) is not a layer TensorFlow\.js 4\.22 has \(Keras module keras\.layers\)/,
    ],
    [
      'a custom layer, naming what it is registered as',
      sequential(input([null, 4]), {
        ...layer('Scale', { name: 'scale' }),
        module: null,
        registered_name: 'app>Scale',
      }),
      /layer "scale" \(class Scale\) is a custom layer \(registered as "app>Scale"\)/,
    ],
    [
      'a Keras operation used in a functional model',
      sequential(input([null, 4]), {
        ...layer('Sin', { name: 'sin' }),
        module: 'keras.src.ops.numpy',
        registered_name: 'Sin',
      }),
      /layer "sin" \(class Sin\) is a Keras operation \(from keras\.src\.ops\.numpy\)/,
    ],
    [
      "a GRU with Keras's default reset_after=True",
      sequential(input([null, 3, 2]), layer('GRU', { name: 'gru', units: 2, reset_after: true })),
      /layer "gru" \(class GRU\) has reset_after=True .* build the GRU with reset_after=False/,
    ],
    [
      'a grouped convolution',
      sequential(
        input([null, 8, 8, 4]),
        layer('Conv2D', { name: 'conv', filters: 4, kernel_size: [3, 3], groups: 2 }),
      ),
      /layer "conv" \(class Conv2D\) is a grouped convolution/,
    ],
    [
      'a layer computing in float64',
      sequential(input([null, 4]), layer('Dense', { name: 'd', units: 2, dtype: policy('float64') })),
      /layer "d" computes in float64 \(DTypePolicy\)/,
    ],
  ])('refuses %s with the exit code of invalid input', (_name, topology, message) => {
    let err: unknown;
    try {
      normalizeTopology(topology, 'topology');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TrainerError);
    expect((err as TrainerError).code).toBe('InvalidModel');
    expect((err as TrainerError).exitCode).toBe(TrainerExitCode.InvalidInput);
    expect((err as Error).message).toMatch(message);
  });
});
