// Reads and validates the TrainerConfig with the schema the CRD is generated from. The API
// server enforces the CEL rules and prunes unknown fields for TrainingJobs, but the trainer is
// also run by hand (--config) and by sweeps, so it repeats both checks itself: an unknown or
// out-of-range hyperparameter must fail here with the field's path, never be silently ignored.
import { Value } from 'typebox/value';
import { TrainerConfig } from '../api/trainer.ts';
import { TrainerError, TrainerErrorCode } from './errors.ts';

export type { TrainerConfig };

const invalid = (message: string) =>
  new TrainerError(TrainerErrorCode.InvalidConfig, `invalid config: ${message}`);

/** Parses, defaults and validates a config given as JSON text. */
export function parseConfig(text: string): TrainerConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalid(`not valid JSON (${(err as Error).message})`);
  }
  return validateConfig(raw);
}

/** Defaults and validates a config object; throws a TrainerError naming every offending field. */
export function validateConfig(raw: unknown): TrainerConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid('expected a JSON object');
  // Every hyperparameter has a default, so an absent block means "all defaults".
  const input = { hyperparameters: {}, ...structuredClone(raw) };
  const value = Value.Default(TrainerConfig, input);
  const unknown = [...unknownFields(TrainerConfig as unknown as Schema, value, '')];
  const problems = unknown.map((u) => `${u.path}: unknown field (known fields: ${u.known})`);
  const unknownPaths = new Set(unknown.map((u) => u.path));
  for (const e of Value.Errors(TrainerConfig, value)) {
    if (unknownPaths.has(e.instancePath) || e.keyword === 'additionalProperties') continue;
    problems.push(describe(e, value));
  }
  if (problems.length === 0) problems.push(...crossFieldProblems(value as TrainerConfig));
  if (problems.length > 0) throw invalid([...new Set(problems)].join('; '));
  return value as TrainerConfig;
}

// JSON schema as TypeBox 1.x builds it: plain objects.
interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  allOf?: Schema[];
  anyOf?: Schema[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

/** Yields every property the schema does not declare. */
function* unknownFields(
  schema: Schema,
  value: unknown,
  path: string,
): Generator<{ path: string; known: string }> {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    if (schema.items)
      for (const [i, v] of value.entries()) yield* unknownFields(schema.items, v, `${path}/${i}`);
    return;
  }
  if (schema['x-kubernetes-preserve-unknown-fields']) return;
  const members = [schema, ...(schema.allOf ?? [])];
  const properties: Record<string, Schema[]> = {};
  let open = false;
  for (const m of members) {
    if (typeof m.additionalProperties === 'object') open = true;
    for (const [k, s] of Object.entries(m.properties ?? {})) {
      properties[k] ??= [];
      properties[k].push(s);
    }
  }
  if (!members.some((m) => m.properties) || open) return;
  for (const [k, v] of Object.entries(value)) {
    const declared = properties[k];
    if (!declared) {
      yield { path: `${path}/${k}`, known: Object.keys(properties).sort().join(', ') };
      continue;
    }
    for (const s of declared) yield* unknownFields(s, v, `${path}/${k}`);
  }
}

/** The CEL rules of the CRD (x-kubernetes-validations) plus combinations the trainer cannot train. */
function crossFieldProblems(c: TrainerConfig): string[] {
  const problems: string[] = [];
  const { model, dataset } = c;
  const modelSources = [model.architecture, model.topology, model.topologyURI, model.kerasURI].filter(
    (x) => x !== undefined,
  );
  if (modelSources.length !== 1)
    problems.push('/model: exactly one of architecture, topology, topologyURI and kerasURI must be set');
  if (model.freezeLayers !== undefined && model.kerasURI === undefined) {
    problems.push(
      '/model/freezeLayers: applies to kerasURI (a base artifact has its own baseArtifact.freezeLayers)',
    );
  }
  if (model.kerasURI !== undefined && model.baseArtifact !== undefined) {
    problems.push(
      '/model/baseArtifact: kerasURI brings its own weights: it cannot be combined with baseArtifact',
    );
  }
  if (model.anomalyPercentile !== undefined && model.task !== 'anomaly') {
    problems.push('/model/anomalyPercentile: applies to task anomaly');
  }
  if (dataset.augmentation && dataset.format !== 'mnist-idx') {
    problems.push(`/dataset/augmentation: applies to image datasets (mnist-idx) only, not ${dataset.format}`);
  }
  if (model.task !== 'anomaly' && dataset.format !== 'mnist-idx' && dataset.label === undefined) {
    problems.push(`/dataset/label: required for ${dataset.format} datasets unless model.task is anomaly`);
  }
  const wants = model.architecture ? architectureNeeds[model.architecture] : undefined;
  if (wants && model.architecture) {
    if (!wants.formats.includes(dataset.format)) {
      problems.push(
        `/model/architecture = "${model.architecture}": needs a ${wants.formats.join(' or ')} dataset, not ${dataset.format}`,
      );
    }
    if (wants.task !== model.task) {
      problems.push(
        `/model/task = "${model.task}": architecture ${model.architecture} trains ${wants.task} models`,
      );
    }
  }
  if (model.task !== 'classification' && dataset.format === 'jsonl') {
    problems.push(`/model/task = "${model.task}": jsonl text datasets train classification models only`);
  }
  return problems;
}

const architectureNeeds: Record<string, { formats: string[]; task: string }> = {
  'mnist-mlp': { formats: ['mnist-idx', 'csv'], task: 'classification' },
  cnn: { formats: ['mnist-idx'], task: 'classification' },
  'lstm-text': { formats: ['jsonl'], task: 'classification' },
  autoencoder: { formats: ['csv', 'mnist-idx'], task: 'anomaly' },
  'regression-mlp': { formats: ['csv'], task: 'regression' },
};

interface ValidationError {
  keyword: string;
  instancePath: string;
  message: string;
  params: Record<string, unknown>;
}

function describe(e: ValidationError, value: unknown): string {
  const path = e.instancePath || '/';
  if (e.keyword === 'required') {
    const missing = (e.params.requiredProperties as string[] | undefined)?.join(', ') ?? e.message;
    return `${path}: missing required field ${missing}`;
  }
  const shown = `${path} = ${show(pointer(value, e.instancePath))}`;
  if (e.keyword === 'enum')
    return `${shown}: must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`;
  return `${shown}: ${e.message}`;
}

function pointer(value: unknown, path: string): unknown {
  let v = value;
  for (const part of path.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return v;
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? 'undefined';
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
