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
    // Kubernetes' quantity syntax without a sign: no resource of a pod can be negative.
    pattern:
      '^\\+?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
    ...options,
    ...rules({
      rule: "type(self) == int ? self > 0 : isQuantity(self) && quantity(self).isGreaterThan(quantity('0'))",
      message: 'must be a positive quantity (for example 500m, 2 or 4Gi)',
    }),
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

/**
 * Directories no file:// URI may name: the pod's own secrets (the storage credentials mount and
 * the service-account token live under /var/run/secrets), kernel and device files, and system
 * configuration. The CRDs reject them and lib/storage refuses them again at read time.
 */
export const PROTECTED_PATHS = ['/var/run/secrets', '/run/secrets', '/proc', '/sys', '/dev', '/etc'] as const;

// Repeated slashes name the same directory, so each separator matches one or more.
const protectedFileURI = `^file:///+(${PROTECTED_PATHS.map((p) => p.slice(1).replaceAll('/', '/+')).join('|')})(/|$)`;

/**
 * Admission rules of every object URI. A file URI is taken literally here (no percent-encoding,
 * no backslash: URL parsing would turn either into another path than the one these rules read).
 */
export const objectURIRules = rules(
  {
    rule: "!self.matches('[[:space:][:cntrl:]]')",
    message: 'must not contain whitespace or control characters',
  },
  {
    rule: String.raw`!self.matches('^[a-z0-9]+://.*//') && !self.matches('/\\.\\.?(/|$)')`,
    message: 'path segments must not be empty, "." or ".."',
  },
  {
    rule: String.raw`!self.startsWith('file:') || !self.matches('[%\\\\]')`,
    message: 'file:// URIs must not contain percent-encoding or backslashes',
  },
  {
    rule: `!self.matches('${protectedFileURI}')`,
    message: `file:// URIs must not name ${PROTECTED_PATHS.join(', ')} (the pod's credentials and system files)`,
  },
);

/** An object or a URI (`s3://` or `file://`). */
export const ObjectURI = (description: string) =>
  Type.String({
    description,
    pattern: '^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?|file:///.*)$',
    maxLength: 2048,
    ...objectURIRules,
  });

/** A DNS-1123 subdomain: the names of Kubernetes objects. */
export const ObjectName = (description: string) =>
  Type.String({
    description,
    pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
    maxLength: 253,
  });

/** A DNS-1035 label: what a Service name must be (starts with a letter, at most 63 characters). */
export const DNS1035_LABEL = '^[a-z]([-a-z0-9]*[a-z0-9])?$';

/** A label value (at most 63 characters). */
export const LabelValue = (description: string) =>
  Type.String({
    description,
    pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$',
    maxLength: 63,
  });

/** A label or taint key: an optional DNS-subdomain prefix and "/", then a name of at most 63 characters. */
export const QUALIFIED_NAME =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';

/** A CEL rule for a string map: every key is a label key (QUALIFIED_NAME). */
export const labelKeysRule = () =>
  rules({
    rule: `self.all(k, k.size() <= 316 && k.matches('${QUALIFIED_NAME.replaceAll('\\', '\\\\')}'))`,
    message:
      'keys must be label keys: an optional DNS-subdomain prefix and "/", then a name of at most 63 characters',
  });

/** A container image reference: one word (Kubernetes refuses surrounding whitespace). */
export const Image = (description: string) =>
  Type.String({ description, minLength: 1, maxLength: 512, pattern: '^[^\\s]+$' });

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
