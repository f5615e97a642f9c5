// The operator binary must not load @kubernetes/client-node's code: importing it costs 86 MB of
// resident memory (ADR 0031). Its types are free; a value import anywhere the operator reaches
// would bring the whole generated client back.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const operatorDir = path.resolve(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'testdata' ? [] : sources(p);
    return p.endsWith('.ts') && !/\.test\.ts$|\.testkit\.ts$/.test(p) ? [p] : [];
  });
}

describe('the operator binary', () => {
  it('imports only types from @kubernetes/client-node', () => {
    const valueImports = sources(operatorDir).filter((file) =>
      /^import\s+(?!type\b)[^;]*from\s+'@kubernetes\/client-node'/m.test(readFileSync(file, 'utf8')),
    );
    expect(valueImports).toEqual([]);
  });
});
