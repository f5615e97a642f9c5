// Keras writes its model config in three dialects — Keras 3 (`model.to_json()`, a .keras file's
// config.json), Keras 2 (tf.keras, tf_keras, an .h5 file's model_config) and TensorFlow.js's own
// — and TensorFlow.js 4.22 reads only the last two (tfjs#8328, #8494). normalizeTopology rewrites
// any of them into the Keras 2 form TensorFlow.js builds, and refuses what TensorFlow.js cannot
// compute with an error naming the layer and its class, before TensorFlow.js fails less clearly.
import * as tf from '@tensorflow/tfjs';
import { TrainerError, TrainerErrorCode } from '../errors.ts';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isSerialized = (v: unknown): v is Json & { class_name: string } =>
  isObject(v) && typeof v.class_name === 'string';

const MODEL_CLASSES = new Set(['Sequential', 'Functional', 'Model']);
/** Keras 3 bookkeeping TensorFlow.js has no use for (and some of its constructors refuse). */
const DROPPED_KEYS = ['module', 'registered_name', 'build_config', 'compile_config', 'shared_object_id'];
/** Keys whose value is a nested layer (wrappers, RNN cells). */
const NESTED_LAYER_KEYS = ['layer', 'forward_layer', 'backward_layer', 'cell'];
/** DTypePolicy names → the dtype TensorFlow.js computes in. Mixed policies keep float32 variables. */
const POLICY_DTYPES: Record<string, string> = {
  float32: 'float32',
  mixed_float16: 'float32',
  mixed_bfloat16: 'float32',
  int32: 'int32',
  bool: 'bool',
  string: 'string',
};
/** Keras regularizers TensorFlow.js knows only as L1L2. */
const REGULARIZERS: Record<string, (c: Json) => Json> = {
  L1: (c) => ({ l1: c.l1 ?? 0, l2: 0 }),
  L2: (c) => ({ l1: 0, l2: c.l2 ?? 0 }),
};

export class UnsupportedLayerError extends TrainerError {
  constructor(
    readonly layer: string,
    readonly className: string,
    why: string,
  ) {
    super(TrainerErrorCode.InvalidModel, `layer "${layer}" (class ${className}) ${why}`);
  }
}

/**
 * The model config TensorFlow.js's `models.modelFromJSON` builds, from a Keras 3, Keras 2 or
 * TensorFlow.js topology (a model.json's `modelTopology` or `model_config` is unwrapped).
 */
export function normalizeTopology(topology: unknown, where: string): Json {
  if (!isObject(topology)) {
    throw new TrainerError(TrainerErrorCode.InvalidModel, `${where}: a Keras topology must be a JSON object`);
  }
  const outer = (isObject(topology.modelTopology) ? topology.modelTopology : topology) as Json;
  const model = isObject(outer.model_config) ? outer.model_config : outer;
  if (!isSerialized(model) || !isObject(model.config)) {
    throw new TrainerError(
      TrainerErrorCode.InvalidModel,
      `${where}: not a Keras topology (expected "class_name" and "config", as model.to_json() writes)`,
    );
  }
  if (!MODEL_CLASSES.has(model.class_name)) {
    throw new TrainerError(
      TrainerErrorCode.InvalidModel,
      `${where}: the model is a ${describe(model)}, not a Sequential or Functional model; a subclassed Keras model has no topology to rebuild`,
    );
  }
  try {
    return normalizeModel(model);
  } catch (err) {
    if (err instanceof TrainerError) err.message = `${where}: ${err.message}`;
    throw err;
  }
}

function normalizeModel(model: Json & { class_name: string }): Json {
  const { layers, ...rest } = model.config as Json;
  const config = normalizeValue(rest, String(rest.name ?? model.class_name)) as Json;
  config.layers = (Array.isArray(layers) ? layers : []).map((l, i) => normalizeLayer(l, `layers[${i}]`));
  if (model.class_name === 'Sequential') {
    giveSequentialAnInputShape(config);
  } else {
    const all = config.layers as Json[];
    const keras3 = all.some((l) => ((l.inbound_nodes ?? []) as unknown[]).some((n) => isObject(n)));
    // A nested model's node 0 links its own inputs to its outputs in Keras 2 and TensorFlow.js,
    // so its first call is node 1; Keras 3 numbers calls from 0.
    const models = new Set(all.filter((l) => MODEL_CLASSES.has(String(l.class_name))).map((l) => l.name));
    const ref = (r: unknown[]) => (keras3 && models.has(r[0]) ? [r[0], Number(r[1]) + 1, ...r.slice(2)] : r);
    config.layers = all.map((l) => ({
      ...l,
      inbound_nodes: ((l.inbound_nodes ?? []) as unknown[]).map((n) =>
        isObject(n) ? keras3Node(n).map(ref) : n,
      ),
    }));
    for (const key of ['input_layers', 'output_layers']) {
      let refs = config[key];
      // Keras 3 writes a model with one input or output as a bare [name, node, tensor].
      if (Array.isArray(refs) && typeof refs[0] === 'string') refs = [refs];
      if (Array.isArray(refs)) config[key] = (refs as unknown[][]).map(ref);
    }
  }
  delete config.build_input_shape;
  return { class_name: model.class_name, config };
}

function normalizeLayer(layer: unknown, where: string): Json {
  if (!isSerialized(layer) || !isObject(layer.config)) {
    throw new TrainerError(
      TrainerErrorCode.InvalidModel,
      `${where} is not a Keras layer config (expected "class_name" and "config")`,
    );
  }
  const name = String(layer.config.name ?? layer.name ?? where);
  if (MODEL_CLASSES.has(layer.class_name)) return { ...normalizeModel(layer), ...keep(layer) };
  checkSupported(layer, name);
  const config = normalizeValue(layer.config, name) as Json;
  if ('batch_shape' in config) {
    config.batch_input_shape = config.batch_shape;
    delete config.batch_shape;
  }
  if (layer.class_name === 'InputLayer') delete config.optional;
  for (const key of NESTED_LAYER_KEYS)
    if (isSerialized(config[key])) config[key] = normalizeLayer(config[key], `layer "${name}"'s ${key}`);
  return { class_name: layer.class_name, config, ...keep(layer) };
}

/** The functional-graph fields of a layer entry. */
function keep(layer: Json): Json {
  const out: Json = {};
  if ('name' in layer) out.name = layer.name;
  if ('inbound_nodes' in layer) out.inbound_nodes = layer.inbound_nodes;
  return out;
}

/** Layer configs TensorFlow.js has the class for but cannot compute. */
const UNSUPPORTED_CONFIGS: Array<{ classes: string[]; when: (c: Json) => boolean; why: string }> = [
  {
    classes: ['GRU', 'GRUCell'],
    when: (c) => c.reset_after === true,
    why: "has reset_after=True (Keras's default), which TensorFlow.js's GRU does not implement; build the GRU with reset_after=False",
  },
  {
    classes: ['Conv1D', 'Conv2D', 'Conv3D'],
    when: (c) => typeof c.groups === 'number' && c.groups !== 1,
    why: 'is a grouped convolution (groups > 1), which TensorFlow.js does not implement',
  },
  {
    classes: ['Dense', 'EinsumDense', 'Embedding'],
    when: (c) =>
      isObject(c.quantization_config) || (isObject(c.dtype) && /quant/i.test(String(c.dtype.class_name))),
    why: 'is quantized, which TensorFlow.js does not implement; save the float model',
  },
];

function checkSupported(layer: Json & { class_name: string }, name: string): void {
  const cls = layer.class_name;
  const registered = typeof layer.registered_name === 'string' ? layer.registered_name : undefined;
  const module = typeof layer.module === 'string' ? layer.module : '';
  if (registered && registered !== cls && !registered.startsWith('keras')) {
    throw new UnsupportedLayerError(
      name,
      cls,
      `is a custom layer (registered as "${registered}"): its code lives in Python, and TensorFlow.js cannot run it`,
    );
  }
  if (!tf.serialization.SerializationMap.getMap().classNameMap[cls]) {
    const what = /(^|\.)ops(\.|$)/.test(module)
      ? `is a Keras operation (from ${module}) applied in a functional model, which TensorFlow.js has no layer for; use a Keras layer instead`
      : `is not a layer TensorFlow.js 4.22 has${module ? ` (Keras module ${module})` : ''}`;
    throw new UnsupportedLayerError(name, cls, what);
  }
  const config = layer.config as Json;
  for (const u of UNSUPPORTED_CONFIGS) {
    if (u.classes.includes(cls) && u.when(config)) throw new UnsupportedLayerError(name, cls, u.why);
  }
}

/** Recursively: DTypePolicy objects → dtype strings, Keras 3 bookkeeping dropped, L1/L2 → L1L2. */
function normalizeValue(value: unknown, layer: string): unknown {
  if (Array.isArray(value)) return value.map((v) => normalizeValue(v, layer));
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    if (DROPPED_KEYS.includes(k)) continue;
    out[k] = k === 'dtype' && isObject(v) ? policyDtype(v, layer) : normalizeValue(v, layer);
  }
  if (isSerialized(out) && out.class_name in REGULARIZERS) {
    return { class_name: 'L1L2', config: REGULARIZERS[out.class_name]!((out.config ?? {}) as Json) };
  }
  return out;
}

function policyDtype(policy: Json, layer: string): string {
  const name = String((policy.config as Json | undefined)?.name ?? '');
  const dtype = POLICY_DTYPES[name];
  if (!dtype) {
    throw new TrainerError(
      TrainerErrorCode.InvalidModel,
      `layer "${layer}" computes in ${name || 'an unknown dtype'} (${String(policy.class_name)}); TensorFlow.js computes in float32, int32 or bool`,
    );
  }
  return dtype;
}

/**
 * Keras 3 has no input_shape in a Sequential model's layers: the shape is in an InputLayer (the
 * usual case, and Keras 2's), or else only in build_input_shape / the first layer's
 * build_config, which TensorFlow.js does not read. Either way it moves onto the first layer.
 */
function giveSequentialAnInputShape(config: Json): void {
  const layers = config.layers as Json[];
  // TensorFlow.js lists a Sequential model's InputLayer among its layers, Keras does not: without
  // it here, freezeLayers counts layers as Keras's model.layers does.
  if (layers[0]?.class_name === 'InputLayer' && layers.length > 1) {
    const input = layers.shift()!.config as Json;
    const firstConfig = layers[0]!.config as Json;
    if (!('batch_input_shape' in firstConfig)) firstConfig.batch_input_shape = input.batch_input_shape;
    return;
  }
  const first = layers[0];
  if (!first || first.class_name === 'InputLayer') return;
  const firstConfig = first.config as Json;
  if ('batch_input_shape' in firstConfig || 'input_shape' in firstConfig) return;
  const shape =
    config.build_input_shape ?? (isObject(first.build_config) ? first.build_config.input_shape : undefined);
  if (Array.isArray(shape)) firstConfig.batch_input_shape = shape;
}

/**
 * A Keras 3 inbound node ({args, kwargs} with __keras_tensor__ objects naming their history) as
 * Keras 2's list of [layer, node index, tensor index, kwargs].
 */
function keras3Node(node: Json): unknown[][] {
  const tensors: unknown[][] = [];
  const collect = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(collect);
    else if (isObject(v) && v.class_name === '__keras_tensor__') {
      tensors.push([...(((v.config as Json).keras_history as unknown[]) ?? [])]);
    } else if (isObject(v)) Object.values(v).forEach(collect);
  };
  collect(node.args);
  const kwargs: Json = {};
  for (const [k, v] of Object.entries(isObject(node.kwargs) ? node.kwargs : {})) {
    if (v !== null && !JSON.stringify(v).includes('__keras_tensor__')) kwargs[k] = v;
  }
  return tensors.map((t) => [...t.slice(0, 3), kwargs]);
}

function describe(o: Json & { class_name: string }): string {
  const registered = typeof o.registered_name === 'string' ? ` registered as "${o.registered_name}"` : '';
  return `${o.class_name}${registered}`;
}
