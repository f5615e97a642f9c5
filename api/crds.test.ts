import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { customResourceDefinition, KINDS, toOpenAPI } from './crds.ts';
import { generatedFiles } from './generate.ts';

type Node = Record<string, unknown>;

/** Every property path in a schema whose node lacks a description. */
function undocumented(node: Node, path: string, out: string[] = []): string[] {
  const properties = (node.properties ?? {}) as Record<string, Node>;
  for (const [name, child] of Object.entries(properties)) {
    const childPath = `${path}.${name}`;
    if (!child.description) out.push(childPath);
    undocumented(child, childPath, out);
  }
  if (node.items) undocumented(node.items as Node, `${path}[]`, out);
  if (typeof node.additionalProperties === 'object')
    undocumented(node.additionalProperties as Node, `${path}{}`, out);
  return out;
}

function findKeys(node: unknown, key: string, out: unknown[] = []): unknown[] {
  if (Array.isArray(node)) for (const n of node) findKeys(n, key, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === key) out.push(v);
      findKeys(v, key, out);
    }
  }
  return out;
}

describe.each(KINDS.map((k) => [k.kind, k] as const))('the %s CRD', (_kind, def) => {
  // biome-ignore lint/suspicious/noExplicitAny: a generated CRD is free-form JSON
  const crd = customResourceDefinition(def) as { spec: { versions: Array<Record<string, any>> } };
  const version = crd.spec.versions[0]!;
  const schema = version.schema.openAPIV3Schema as Node;

  it('documents every field of spec and status, so kubectl explain teaches users', () => {
    const props = schema.properties as Record<string, Node>;
    expect(undocumented(props.spec!, 'spec')).toEqual([]);
    expect(undocumented(props.status!, 'status')).toEqual([]);
  });

  it('has a status subresource and printer columns that read named conditions', () => {
    expect(version.subresources).toEqual({ status: {} });
    const conditionPaths = (version.additionalPrinterColumns as Array<{ jsonPath: string }>)
      .map((c) => c.jsonPath)
      .filter((p) => p.includes('conditions'));
    expect(conditionPaths.length).toBeGreaterThan(0);
    for (const p of conditionPaths) expect(p).toMatch(/conditions\[\?\(@\.type=="[A-Za-z]+"\)\]/);
  });

  it('uses only OpenAPI v3.0 keywords a structural CRD schema allows', () => {
    expect(findKeys(schema, '$id')).toEqual([]);
    expect(findKeys(schema, 'additionalProperties').every((v) => v !== false)).toBe(true);
    for (const v of [...findKeys(schema, 'exclusiveMinimum'), ...findKeys(schema, 'exclusiveMaximum')]) {
      expect(typeof v).toBe('boolean');
    }
  });
});

describe('toOpenAPI', () => {
  it.each([
    [
      'turns a numeric exclusiveMaximum into maximum + true',
      { type: 'number', exclusiveMaximum: 1 },
      { type: 'number', maximum: 1, exclusiveMaximum: true },
    ],
    [
      'drops additionalProperties: false (the API server prunes instead)',
      { type: 'object', additionalProperties: false },
      { type: 'object' },
    ],
    [
      'does not require what the API server defaults',
      {
        type: 'object',
        required: ['a', 'b'],
        properties: { a: { type: 'integer', default: 1 }, b: { type: 'string' } },
      },
      {
        type: 'object',
        required: ['b'],
        properties: { a: { type: 'integer', default: 1 }, b: { type: 'string' } },
      },
    ],
  ])('%s', (_name, input, output) => {
    expect(toOpenAPI(input)).toEqual(output);
  });
});

describe('the generated files (crds/, config/rbac roles)', () => {
  it('are what their sources generate (run npm run generate after changing a schema or an rbac.ts)', async () => {
    for (const [path, content] of generatedFiles()) {
      expect(await readFile(new URL(`../${path}`, import.meta.url), 'utf8'), path).toBe(content);
    }
  });
});
