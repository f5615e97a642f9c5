// Schema checks plus the cross-field rules JSON Schema cannot express (bin edges vs. counts,
// normalization vs. feature count), reported as one line naming the file and the field.
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import {
  DataProfile,
  FILES,
  Manifest,
  MetricsFile,
  OptimizerStateFile,
  Preprocessing,
} from '../../api/artifact.ts';
import { parseJSON } from '../json.ts';
import { decodeEdges } from './binning.ts';
import { ArtifactError } from './errors.ts';

const MAX_PROBLEMS = 5;

interface SchemaError {
  keyword: string;
  schemaPath: string;
  instancePath: string;
  params: { requiredProperties?: string[]; allowedValue?: unknown };
  message: string;
}

/** Keeps only the errors of the union branch the value's `kind` selects (all unions here are tagged by kind). */
function narrowUnions(errors: SchemaError[], value: unknown): string[] {
  const branchOf = (e: SchemaError) => /^(.*)\/anyOf\/(\d+)(\/|$)/.exec(e.schemaPath);
  const unions = new Map<string, SchemaError[]>();
  const plain: SchemaError[] = [];
  for (const e of errors) {
    const m = branchOf(e);
    if (m) unions.set(m[1]!, [...(unions.get(m[1]!) ?? []), e]);
    else if (
      !(e.keyword === 'anyOf' && errors.some((o) => o.schemaPath.startsWith(`${e.schemaPath}/anyOf/`)))
    )
      plain.push(e);
  }
  const out = plain.flatMap(render);
  for (const group of unions.values()) {
    const kindErrors = group.filter((e) => e.keyword === 'const' && e.instancePath.endsWith('/kind'));
    const failedBranches = new Set(kindErrors.map((e) => branchOf(e)![2]));
    const branches = new Set(group.map((e) => branchOf(e)![2]));
    const chosen = [...branches].filter((b) => !failedBranches.has(b));
    if (kindErrors.length > 0 && chosen.length === 0) {
      const at = kindErrors[0]!.instancePath;
      const allowed = [...new Set(kindErrors.map((e) => String(e.params.allowedValue)))].join(', ');
      out.push(`${at}: must be one of ${allowed} (got ${JSON.stringify(pointer(value, at))})`);
    } else {
      out.push(...group.filter((e) => chosen.includes(branchOf(e)![2]!)).flatMap(render));
    }
  }
  return out;
}

function render(e: SchemaError): string[] {
  if (e.keyword === 'required' && e.params.requiredProperties) {
    return e.params.requiredProperties.map((p) => `${e.instancePath}/${p}: is required`);
  }
  return [`${e.instancePath || '/'}: ${e.message}`];
}

function pointer(value: unknown, at: string): unknown {
  let v = value;
  for (const seg of at.split('/').slice(1)) v = (v as Record<string, unknown> | undefined)?.[seg];
  return v;
}

function schemaProblems(schema: TSchema, value: unknown): string[] {
  if (Value.Check(schema, value)) return [];
  const out = narrowUnions([...Value.Errors(schema, value)] as SchemaError[], value);
  return out.length > 0 ? out.slice(0, MAX_PROBLEMS) : ['does not match the schema'];
}

function edgeProblems(where: string, edges: (number | null)[], counts: number[], count: number): string[] {
  const out: string[] = [];
  if (edges.length !== counts.length + 1) {
    out.push(`${where}: ${edges.length} edges for ${counts.length} bins (need bins + 1)`);
  }
  edges.forEach((e, i) => {
    if (e === null && i !== 0 && i !== edges.length - 1)
      out.push(`${where}/edges/${i}: null is only allowed at the ends`);
  });
  const numeric = decodeEdges(edges);
  for (let i = 1; i < numeric.length; i++) {
    if (numeric[i]! < numeric[i - 1]!) {
      out.push(`${where}/edges/${i}: edges must be ascending`);
      break;
    }
  }
  const sum = counts.reduce((a, b) => a + b, 0);
  if (sum !== count) out.push(`${where}: counts sum to ${sum}, count is ${count}`);
  return out;
}

function semanticProblems(file: string, value: unknown): string[] {
  switch (file) {
    case FILES.preprocessing: {
      const p = value as Preprocessing;
      if (p.input.kind === 'tabular' && p.input.normalization) {
        const n = p.input.features.length;
        const { mean, std } = p.input.normalization;
        const out: string[] = [];
        if (mean.length !== n) out.push(`/input/normalization/mean: ${mean.length} values for ${n} features`);
        if (std.length !== n) out.push(`/input/normalization/std: ${std.length} values for ${n} features`);
        std.forEach((s, i) => {
          if (!(s > 0)) out.push(`/input/normalization/std/${i}: ${s} is not positive`);
        });
        return out;
      }
      return [];
    }
    case FILES.profile: {
      const p = value as DataProfile;
      const out = p.features.flatMap((f, i) => edgeProblems(`/features/${i}`, f.edges, f.counts, f.count));
      const pred = p.predictions;
      if (pred?.kind === 'regression')
        out.push(...edgeProblems('/predictions', pred.edges, pred.counts, pred.count));
      if (pred?.kind === 'classification') {
        if (pred.counts.length !== pred.classNames.length) {
          out.push(`/predictions: ${pred.counts.length} counts for ${pred.classNames.length} classes`);
        }
        const sum = pred.counts.reduce((a, b) => a + b, 0);
        if (sum !== pred.count) out.push(`/predictions: counts sum to ${sum}, count is ${pred.count}`);
      }
      return out;
    }
    default:
      return [];
  }
}

const SCHEMAS: Record<string, TSchema> = {
  [FILES.manifest]: Manifest,
  [FILES.preprocessing]: Preprocessing,
  [FILES.profile]: DataProfile,
  [FILES.metrics]: MetricsFile,
  [FILES.optimizer]: OptimizerStateFile,
};

/** Throws ArtifactError Invalid naming the file and the first offending fields. */
export function validateFile<T>(uri: string, file: string, value: unknown): T {
  const schema = SCHEMAS[file];
  if (!schema) return value as T;
  let problems = schemaProblems(schema, value);
  if (problems.length === 0) problems = semanticProblems(file, value);
  if (problems.length > 0) {
    throw new ArtifactError('Invalid', uri, `invalid: ${problems.slice(0, MAX_PROBLEMS).join('; ')}`, {
      file,
    });
  }
  return value as T;
}

/** Parses a JSON file of the artifact; Invalid naming the file when it is not JSON. */
export function parseJSONFile(uri: string, file: string, bytes: Uint8Array): unknown {
  try {
    return parseJSON(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (err) {
    throw new ArtifactError('Invalid', uri, (err as Error).message, { file, cause: err });
  }
}
