// Turns the TypeBox schemas of api/ into CustomResourceDefinitions. TypeBox emits JSON
// Schema (draft 2020-12); a CRD wants a structural OpenAPI v3.0 schema, so a few keywords are
// translated (exclusive bounds) or dropped (additionalProperties: false — the API server prunes
// unknown fields instead).
import type { TSchema } from 'typebox';
import { GROUP, VERSION } from './common.ts';
import {
  MODELDEPLOYMENT_KIND,
  MODELDEPLOYMENT_PLURAL,
  ModelDeploymentSpec,
  ModelDeploymentStatus,
  modelDeploymentNameRules,
} from './modeldeployment.ts';
import type { ValidationRule } from './schema.ts';
import { HyperparameterSweepSpec, HyperparameterSweepStatus, SWEEP_KIND, SWEEP_PLURAL } from './sweep.ts';
import {
  TRAININGJOB_KIND,
  TRAININGJOB_PLURAL,
  TrainingJobSpec,
  TrainingJobStatus,
  trainingJobNameRules,
} from './trainingjob.ts';

type JSONSchema = Record<string, unknown>;

/** Converts one TypeBox/JSON Schema node (recursively) to a CRD's OpenAPI v3 schema. */
export function toOpenAPI(schema: TSchema | JSONSchema): JSONSchema {
  const out: JSONSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    switch (key) {
      case '$id':
      case '$schema':
        break;
      case 'additionalProperties':
        if (value !== false) out[key] = typeof value === 'object' ? toOpenAPI(value as JSONSchema) : value;
        break;
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        if (typeof value === 'number') {
          out[key === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = value;
          out[key] = true;
        } else out[key] = value;
        break;
      case 'properties':
        out[key] = Object.fromEntries(
          Object.entries(value as Record<string, JSONSchema>).map(([k, v]) => [k, toOpenAPI(v)]),
        );
        break;
      case 'items':
        out[key] = toOpenAPI(value as JSONSchema);
        break;
      case 'anyOf':
      case 'allOf':
      case 'oneOf':
        out[key] = (value as JSONSchema[]).map(toOpenAPI);
        break;
      default:
        out[key] = value;
    }
  }
  // A field the API server defaults is not required of the user (and a default of {} on the
  // parent must validate).
  if (Array.isArray(out.required) && out.properties) {
    const props = out.properties as Record<string, JSONSchema>;
    const required = (out.required as string[]).filter((name) => props[name]?.default === undefined);
    if (required.length > 0) out.required = required;
    else delete out.required;
  }
  // A CRD schema node with x-kubernetes-int-or-string must not also carry "type".
  if (out['x-kubernetes-int-or-string']) delete out.type;
  return out;
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface KindDefinition {
  kind: string;
  plural: string;
  shortNames: string[];
  spec: TSchema;
  status: TSchema;
  description: string;
  printerColumns: PrinterColumn[];
  /** Rules on the whole object; the only place CEL can read metadata.name. */
  rules?: ValidationRule[];
}

/** A printer column that reads the named condition's field, never "the last condition". */
export const conditionColumn = (
  type: string,
  field: 'status' | 'reason' | 'message',
  name = type,
): PrinterColumn => ({
  name,
  type: 'string',
  jsonPath: `.status.conditions[?(@.type=="${type}")].${field}`,
  description: `The ${field} of the ${type} condition.`,
});

export function customResourceDefinition(def: KindDefinition): JSONSchema {
  const singular = def.kind.toLowerCase();
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular,
        shortNames: def.shortNames,
        categories: ['k2k'],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            ...def.printerColumns,
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: def.description,
              required: ['spec'],
              ...(def.rules ? { 'x-kubernetes-validations': def.rules } : {}),
              properties: {
                apiVersion: {
                  type: 'string',
                  description: 'APIVersion defines the versioned schema of this representation of an object.',
                },
                kind: {
                  type: 'string',
                  description: 'Kind is a string value representing the REST resource.',
                },
                metadata: { type: 'object' },
                spec: toOpenAPI(def.spec),
                status: toOpenAPI(def.status),
              },
            },
          },
        },
      ],
    },
  };
}

export const KINDS: KindDefinition[] = [
  {
    kind: TRAININGJOB_KIND,
    plural: TRAININGJOB_PLURAL,
    shortNames: ['tj'],
    spec: TrainingJobSpec,
    status: TrainingJobStatus,
    rules: trainingJobNameRules,
    description:
      'A TrainingJob trains a TensorFlow.js model in a pod (with GPUs when asked) and writes a versioned, verifiable model artifact to object storage.',
    printerColumns: [
      conditionColumn('Ready', 'status'),
      conditionColumn('Ready', 'reason', 'Status'),
      {
        name: 'Epoch',
        type: 'integer',
        jsonPath: '.status.progress.epoch',
        description: 'Epochs completed.',
      },
      {
        name: 'Epochs',
        type: 'integer',
        jsonPath: '.status.progress.epochs',
        description: 'Epochs planned.',
      },
      {
        name: 'Loss',
        type: 'number',
        jsonPath: '.status.progress.metrics.loss',
        description: 'Loss of the last epoch.',
      },
      {
        name: 'Artifact',
        type: 'string',
        jsonPath: '.status.artifact.uri',
        description: 'The artifact written.',
        priority: 1,
      },
      { ...conditionColumn('Ready', 'message', 'Message'), priority: 1 },
    ],
  },
  {
    kind: SWEEP_KIND,
    plural: SWEEP_PLURAL,
    shortNames: ['hps', 'sweep'],
    spec: HyperparameterSweepSpec,
    status: HyperparameterSweepStatus,
    description:
      'A HyperparameterSweep runs TrainingJobs over a search space, stops bad trials early and reports the best.',
    printerColumns: [
      conditionColumn('Ready', 'status'),
      conditionColumn('Ready', 'reason', 'Status'),
      { name: 'Trials', type: 'string', jsonPath: '.status.progress', description: 'Finished/total trials.' },
      {
        name: 'Running',
        type: 'integer',
        jsonPath: '.status.trialsRunning',
        description: 'Trials training now.',
      },
      {
        name: 'Best',
        type: 'number',
        jsonPath: '.status.bestObjective',
        description: 'The best objective so far (4 significant digits).',
      },
      {
        name: 'Trial',
        type: 'string',
        jsonPath: '.status.bestTrial.name',
        description: 'The best trial.',
        priority: 1,
      },
      { ...conditionColumn('Ready', 'message', 'Message'), priority: 1 },
    ],
  },
  {
    kind: MODELDEPLOYMENT_KIND,
    plural: MODELDEPLOYMENT_PLURAL,
    shortNames: ['md'],
    spec: ModelDeploymentSpec,
    status: ModelDeploymentStatus,
    rules: modelDeploymentNameRules,
    description:
      'A ModelDeployment serves a k2k artifact with the k2k model server as an autoscaled Deployment and Service, with Prometheus metrics and data-drift monitoring.',
    printerColumns: [
      conditionColumn('Ready', 'status'),
      conditionColumn('Ready', 'reason', 'Status'),
      {
        name: 'Replicas',
        type: 'integer',
        jsonPath: '.status.readyReplicas',
        description: 'Ready replicas.',
      },
      conditionColumn('Drifting', 'status', 'Drifting'),
      { name: 'URL', type: 'string', jsonPath: '.status.url', description: 'In-cluster URL.', priority: 1 },
    ],
  },
];
