// A saved Keras model, as Keras writes it: the topology and the weights of each layer, in Keras's
// order, from either file kind a Keras user has —
//   .keras  Keras 3: a ZIP of config.json and model.weights.h5, whose groups are layers/<attr>/vars/<i>
//           (and layers/<attr>/cell/vars/<i> for an RNN's cell), each vars group naming its layer;
//   .h5     Keras 2 and Keras 3's legacy writer: a model_config attribute and model_weights/<layer>
//           groups whose weight_names attribute lists the layer's datasets in order.
import { parseJSON } from '../../lib/json.ts';
import { TrainerError, TrainerErrorCode } from '../errors.ts';
import { attribute, type Dataset, type Group, HDF5_SIGNATURE, isDataset, isGroup, withHdf5 } from './hdf5.ts';
import { readZip, ZipError } from './zip.ts';

export interface Weight {
  /** Where it is in the file, for messages. */
  path: string;
  shape: number[];
  values: Float32Array;
}

export interface KerasFile {
  kind: '.keras' | '.h5';
  /** The model config as Keras wrote it (normalizeTopology makes TensorFlow.js read it). */
  topology: unknown;
  /** Weights by layer name ("outer/inner" inside a nested model), each list in Keras's order. */
  weights: Map<string, Weight[]>;
}

const ZIP_SIGNATURE = Buffer.from('PK\x03\x04', 'latin1');

/** Reads a .keras or .h5 file; anything else, or a damaged one, is an InvalidModel error. */
export async function readKerasFile(bytes: Buffer, where: string): Promise<KerasFile> {
  const invalid = (why: string, cause?: unknown) =>
    new TrainerError(TrainerErrorCode.InvalidModel, `${where}: ${why}`, { cause });
  if (bytes.subarray(0, 4).equals(ZIP_SIGNATURE)) {
    let entries: Map<string, Buffer>;
    try {
      entries = readZip(bytes);
    } catch (err) {
      if (err instanceof ZipError) throw invalid(`not a readable .keras file: ${err.message}`, err);
      throw err;
    }
    const config = entries.get('config.json');
    const weights = entries.get('model.weights.h5');
    if (!config || !weights) {
      throw invalid(
        `a .keras file holds config.json and model.weights.h5; this one has ${[...entries.keys()].join(', ') || 'nothing'}`,
      );
    }
    let topology: unknown;
    try {
      topology = parseJSON(config.toString('utf8'));
    } catch (err) {
      throw invalid(`config.json: ${(err as Error).message}`, err);
    }
    return { kind: '.keras', topology, weights: await hdf5(weights, (root) => keras3Weights(root), invalid) };
  }
  if (bytes.subarray(0, 8).equals(HDF5_SIGNATURE)) {
    return hdf5(
      bytes,
      (root) => {
        const config = attribute(root, 'model_config');
        if (typeof config !== 'string') {
          throw invalid(
            'this .h5 file has no model_config: it holds weights only (model.save_weights); save the whole model with model.save()',
          );
        }
        let topology: unknown;
        try {
          topology = parseJSON(config);
        } catch (err) {
          throw invalid(`model_config: ${(err as Error).message}`, err);
        }
        const group = root.get('model_weights');
        return { kind: '.h5' as const, topology, weights: h5Weights(isGroup(group) ? group : root) };
      },
      invalid,
    );
  }
  throw invalid('neither a .keras file (a ZIP archive) nor an .h5 file (HDF5)');
}

async function hdf5<T>(
  bytes: Uint8Array,
  f: (root: Group) => T,
  invalid: (why: string, cause?: unknown) => Error,
): Promise<T> {
  try {
    return await withHdf5(bytes, f);
  } catch (err) {
    if (err instanceof TrainerError) throw err;
    throw invalid(`cannot read the HDF5 weights: ${(err as Error).message}`, err);
  }
}

/** A group's children, with digit names in numeric order (vars/10 after vars/9). */
function children(group: Group): string[] {
  return group.keys().sort((a, b) => (/^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) - Number(b) : 0));
}

function readWeight(d: Dataset, path: string): Weight {
  const value = d.value;
  if (!(value instanceof Float32Array || value instanceof Float64Array)) {
    throw new TrainerError(
      TrainerErrorCode.InvalidModel,
      `weight ${path} has dtype ${JSON.stringify(d.dtype)}; TensorFlow.js weights are float32`,
    );
  }
  return {
    path,
    shape: d.shape ?? [],
    values: value instanceof Float32Array ? value : Float32Array.from(value),
  };
}

/** Sub-objects whose variables follow the layer's own, in the order TensorFlow.js lists weights. */
const NESTED_ORDER = ['cell', 'forward_layer', 'backward_layer', 'layer'];

function keras3Weights(root: Group): Map<string, Weight[]> {
  const out = new Map<string, Weight[]>();
  const walkLayers = (layers: Group, prefix: string) => {
    for (const key of layers.keys()) {
      const layer = layers.get(key);
      if (!isGroup(layer)) continue;
      const vars = layer.get('vars');
      const name = (isGroup(vars) ? attribute(vars, 'name') : undefined) ?? key;
      const nested = layer.get('layers');
      if (isGroup(nested)) walkLayers(nested, `${prefix}${String(name)}/`);
      else out.set(`${prefix}${String(name)}`, variables(layer, `layers/${key}`));
    }
  };
  const layers = root.get('layers');
  if (isGroup(layers)) walkLayers(layers, '');
  return out;
}

function variables(group: Group, path: string): Weight[] {
  const own: Weight[] = [];
  const vars = group.get('vars');
  if (isGroup(vars)) {
    for (const i of children(vars)) {
      const d = vars.get(i);
      if (isDataset(d)) own.push(readWeight(d, `${path}/vars/${i}`));
    }
  }
  const rest = group
    .keys()
    .filter((k) => k !== 'vars')
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  for (const key of rest) {
    const child = group.get(key);
    if (isGroup(child)) own.push(...variables(child, `${path}/${key}`));
  }
  return own;
}

const rank = (key: string) => {
  const i = NESTED_ORDER.indexOf(key);
  return i < 0 ? NESTED_ORDER.length : i;
};

/** An attribute Keras may have split into name0, name1, ... when it outgrew HDF5's 64 KiB. */
function chunkedStrings(group: Group, name: string): string[] {
  const whole = attribute(group, name);
  if (whole !== undefined) return toStrings(whole);
  const out: string[] = [];
  for (let i = 0; attribute(group, `${name}${i}`) !== undefined; i++) {
    out.push(...toStrings(attribute(group, `${name}${i}`)));
  }
  return out;
}

const toStrings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === '' ? [] : [String(v)]);

function h5Weights(root: Group): Map<string, Weight[]> {
  const out = new Map<string, Weight[]>();
  for (const layerName of chunkedStrings(root, 'layer_names')) {
    const group = root.get(layerName);
    if (!isGroup(group)) continue;
    out.set(
      layerName,
      chunkedStrings(group, 'weight_names').map((w) => {
        const d = group.get(w);
        if (!isDataset(d)) {
          throw new TrainerError(
            TrainerErrorCode.InvalidModel,
            `layer "${layerName}" lists weight ${w}, which the file does not hold`,
          );
        }
        return readWeight(d, `model_weights/${layerName}/${w}`);
      }),
    );
  }
  return out;
}
