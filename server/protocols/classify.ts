// TensorFlow Serving's Classify API (REST :classify and gRPC PredictionService/Classify) for a k2k
// classifier: examples in, each class's label and score out. An example is tf.Example-shaped, a
// map from feature name to value(s): a tabular model takes its columns by name (as the CSV header
// named them), any model takes its whole input under the input's name. Labels are the class names
// the trainer recorded in the artifact.
import { ServeError } from '../errors.ts';
import { LABEL } from '../model/served-outputs.ts';
import type { ServingModel } from '../model/serving-model.ts';
import { decodeTensor, defaultClientDatatype, elementCount } from '../model/tensor.ts';

/** One example: feature name → a value or a list of values (tf.Example's lists). */
export type Example = Record<string, unknown>;

/** TensorFlow Serving's Class: a label and its score. */
export interface ClassScore {
  label: string;
  score: number;
}

function flatten(value: unknown, out: unknown[]): void {
  if (Array.isArray(value)) for (const v of value) flatten(v, out);
  else out.push(value);
}

/** The example's values for the model's input, row-major; `path` names the example in errors. */
function rowOf(model: ServingModel, example: Example, path: string): unknown[] {
  const input = model.input.name;
  const keys = Object.keys(example);
  const out: unknown[] = [];
  if (input in example) {
    const other = keys.find((k) => k !== input);
    if (other !== undefined) {
      throw new ServeError(
        'InvalidInput',
        `${path}: feature "${other}" beside "${input}"; give the whole input as "${input}" or, for a tabular model, each column by name`,
      );
    }
    flatten(example[input], out);
    return out;
  }
  const features = model.features;
  if (!features) {
    throw new ServeError('InvalidInput', `${path}: missing feature "${input}" (the model's input)`);
  }
  const unknown = keys.find((k) => !features.includes(k));
  if (unknown !== undefined) {
    throw new ServeError(
      'InvalidInput',
      `${path}: unknown feature "${unknown}"; the model takes ${features.join(', ')} (or "${input}")`,
    );
  }
  for (const f of features) {
    if (!(f in example)) throw new ServeError('InvalidInput', `${path}: missing feature "${f}"`);
    const values: unknown[] = [];
    flatten(example[f], values);
    if (values.length !== 1) {
      throw new ServeError('InvalidShape', `${path}.${f}: a column takes one value, got ${values.length}`);
    }
    out.push(values[0]);
  }
  return out;
}

/** Throws unless the model is a classifier with class names (it then serves a label output). */
export function requireClassifier(model: ServingModel): void {
  if (model.outputs.some((o) => o.name === LABEL)) return;
  const why =
    model.task === 'classification'
      ? 'its artifact records no class names for its output'
      : `its task is ${model.task}, not classification`;
  throw new ServeError(
    'InvalidRequest',
    `model "${model.name}" cannot classify: ${why}; use predict (TF Serving) or infer (Open Inference Protocol)`,
  );
}

/**
 * Each example's classes in the model's class order. `context` features (TF Serving's
 * ExampleListWithContext) are shared by every example; an example's own value wins.
 */
export async function classify(
  model: ServingModel,
  examples: readonly Example[],
  context: Example | undefined,
  path: string,
): Promise<ClassScore[][]> {
  requireClassifier(model);
  if (examples.length === 0) throw new ServeError('InvalidRequest', `${path}: no examples to classify`);
  const spec = model.input;
  const values = examples.flatMap((e, i) => rowOf(model, { ...context, ...e }, `${path}[${i}]`));
  const rows = examples.length;
  // A free row dimension (-1) takes what the examples hold; the batch check stays decodeTensor's.
  const fixed = elementCount(spec.shape.slice(1).filter((d) => d >= 0));
  const rowShape = spec.shape.slice(1).map((d) => (d >= 0 ? d : values.length / rows / fixed));
  const t = decodeTensor(spec, values, defaultClientDatatype(spec), path, [rows, ...rowShape]);
  const [probabilities] = await model.predict(t.values, rows);
  const p = probabilities!.values as Float32Array;
  const names = model.classNames as string[];
  const units = p.length / rows;
  return Array.from({ length: rows }, (_, r) =>
    units === 1
      ? // One sigmoid unit: the score of the second class; the first's is its complement.
        [
          { label: names[0]!, score: 1 - p[r]! },
          { label: names[1]!, score: p[r]! },
        ]
      : names.map((label, k) => ({ label, score: p[r * units + k]! })),
  );
}
