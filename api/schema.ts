// Small TypeBox builders that keep schemas structural (as Kubernetes requires for CRDs) while
// still giving precise static types. Everything in api/ is built from these and plain
// TypeBox; api/generate.ts turns the result into crds/*.yaml.
import Type, { type Static, type TObject, type TSchema } from 'typebox';

/** A string restricted to the given values: `{type: string, enum: [...]}` (structural, unlike a union of literals). */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: Record<string, unknown> = {},
) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** A map from string keys to values of one schema: `{type: object, additionalProperties: ...}`. */
export function StringMap<T extends TSchema>(value: T, options: Record<string, unknown> = {}) {
  return Type.Unsafe<Record<string, Static<T>>>({ type: 'object', additionalProperties: value, ...options });
}

/** A Kubernetes resource quantity such as `500m`, `2` or `4Gi`. */
export function Quantity(options: Record<string, unknown> = {}) {
  return Type.Unsafe<string | number>({
    'x-kubernetes-int-or-string': true,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    pattern:
      '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
    ...options,
  });
}

/** Free-form JSON kept as is by the API server (for example a Keras model topology). */
export function FreeForm(options: Record<string, unknown> = {}) {
  return Type.Unsafe<Record<string, unknown>>({
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
    ...options,
  });
}

/** A CEL validation rule attached to a schema (`x-kubernetes-validations`). */
export interface ValidationRule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

export function rules(...r: ValidationRule[]) {
  return { 'x-kubernetes-validations': r };
}

/** An object or a URI (`s3://` or `file://`). */
export const ObjectURI = (description: string) =>
  Type.String({
    description,
    pattern: '^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?|file:///.*)$',
    maxLength: 2048,
  });

/** A DNS-1123 subdomain: the names of Kubernetes objects. */
export const ObjectName = (description: string) =>
  Type.String({
    description,
    pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
    maxLength: 253,
  });

/**
 * A copy of an object schema with more options; x-kubernetes-validations are appended, not
 * replaced. (Spreading a TypeBox schema into a new literal loses what Value.Default needs.)
 */
export function extendObject<T extends TObject>(schema: T, options: Record<string, unknown>): T {
  const {
    type: _t,
    properties,
    required: _r,
    '~kind': _k,
    ...current
  } = schema as unknown as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...current, ...options };
  const validations = [
    ...((current['x-kubernetes-validations'] as unknown[]) ?? []),
    ...((options['x-kubernetes-validations'] as unknown[]) ?? []),
  ];
  if (validations.length > 0) merged['x-kubernetes-validations'] = validations;
  return Type.Object(properties as T['properties'], merged) as unknown as T;
}
