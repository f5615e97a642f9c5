import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeTermination } from './termination.ts';

describe('termination message', () => {
  it('writes to the given path and reports an unwritable one', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'k2k-term-')), 'termination-log');
    expect(writeTermination({ error: { code: 'Internal', message: 'boom' } }, file)).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ error: { code: 'Internal', message: 'boom' } });
    expect(writeTermination({ error: { code: 'Internal', message: 'boom' } }, '/nonexistent-dir/x')).toBe(
      false,
    );
  });
});
