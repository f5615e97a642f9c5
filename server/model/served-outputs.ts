// The outputs a model version answers with: the model's own (the manifest's) and those the server
// derives from them with what the artifact knows (ADR 0035) — an autoencoder's anomaly_score and
// is_anomaly against the threshold learned in training, a classifier's label from its class names.
// Derived outputs are per-row values computed from the same per-row score the drift monitor bins.
import type { AnomalyThreshold } from '../../api/artifact.ts';
import { ServeError } from '../errors.ts';
import { elementCount, type TensorSpec } from './tensor.ts';

export const ANOMALY_SCORE = 'anomaly_score';
export const IS_ANOMALY = 'is_anomaly';
export const LABEL = 'label';

export interface ServedOutput extends TensorSpec {
  /** Answered only when a request names it (outputs / output_filter); listed in the metadata anyway. */
  onRequest: boolean;
}

/** One row's values: numbers (FP32), flags (BOOL) or strings (BYTES). */
export type OutputValues = Float32Array | boolean[] | string[];

export interface DerivationInputs {
  task: string;
  input: TensorSpec;
  modelOutputs: TensorSpec[];
  classNames?: string[];
  anomaly?: AnomalyThreshold;
}

/** What the server can derive for this artifact; decided once, at load. */
export interface Derivation {
  outputs: ServedOutput[];
  /** The derived outputs' values for `rows` rows from their per-row scores (see ServingModel.scores). */
  derive(scores: Float64Array, rows: number): Map<string, OutputValues>;
}

/** True when the first output reconstructs the input element for element: its score is the MSE. */
function reconstructs(input: TensorSpec, output: TensorSpec | undefined): boolean {
  if (!output || input.datatype === 'BYTES' || output.shape.length !== input.shape.length) return false;
  const size = (s: TensorSpec) => elementCount(s.shape.slice(1));
  return size(input) === size(output) && size(input) > 0;
}

/** A classifier's label per row needs one class name per probability (or two for one sigmoid unit). */
function labelsFit(classNames: string[] | undefined, output: TensorSpec | undefined): classNames is string[] {
  if (!classNames || !output || output.shape.length !== 2) return false;
  const units = output.shape[1] as number;
  return units === classNames.length || (units === 1 && classNames.length === 2);
}

export function derivation(d: DerivationInputs): Derivation {
  const model = d.modelOutputs.map((o) => ({ ...o, onRequest: false }));
  const first = d.modelOutputs[0];
  if (d.task === 'anomaly' && reconstructs(d.input, first)) {
    const threshold = d.anomaly?.threshold;
    // Without a threshold (an artifact from before ADR 0035) the score is served but no flag.
    const outputs: ServedOutput[] = [
      { name: ANOMALY_SCORE, shape: [-1], datatype: 'FP32', onRequest: false },
      ...(threshold === undefined
        ? []
        : [{ name: IS_ANOMALY, shape: [-1], datatype: 'BOOL', onRequest: false }]),
      ...model,
    ];
    return {
      outputs,
      derive: (scores) => {
        const derived = new Map<string, OutputValues>([[ANOMALY_SCORE, Float32Array.from(scores)]]);
        if (threshold !== undefined)
          derived.set(
            IS_ANOMALY,
            Array.from(scores, (s) => s > threshold),
          );
        return derived;
      },
    };
  }
  if (d.task === 'classification' && labelsFit(d.classNames, first)) {
    const names = d.classNames as string[];
    return {
      outputs: [...model, { name: LABEL, shape: [-1], datatype: 'BYTES', onRequest: true }],
      derive: (scores) => new Map([[LABEL, Array.from(scores, (k) => names[k] as string)]]),
    };
  }
  return { outputs: model, derive: () => new Map() };
}

/**
 * The outputs a request gets: those it names (each must exist; `field` names the request field in
 * the error), else every output not marked onRequest.
 */
export function selectOutputs(
  outputs: readonly ServedOutput[],
  requested: readonly string[] | undefined,
  model: string,
  field: string,
): Set<string> {
  if (requested === undefined || requested.length === 0)
    return new Set(outputs.filter((o) => !o.onRequest).map((o) => o.name));
  const unknown = requested.find((n) => !outputs.some((o) => o.name === n));
  if (unknown !== undefined) {
    throw new ServeError(
      'InvalidOutput',
      `${field}: unknown output "${unknown}"; model "${model}" has outputs: ${outputs.map((o) => o.name).join(', ')}`,
    );
  }
  return new Set(requested);
}
