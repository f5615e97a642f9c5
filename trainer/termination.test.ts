import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeTermination, TERMINATION_LIMIT, writeTermination } from './termination.ts';

describe('termination message', () => {
  it.each([
    ['a short error as is', { error: { code: 'LossNaN', message: 'loss became NaN at epoch 2' } }],
    ['a long error cut to fit', { error: { code: 'InvalidConfig', message: 'x'.repeat(10_000) } }],
    [
      'a success with many metrics cut to fit',
      {
        artifact: { uri: 's3://m/a/1/', version: '1', manifestSha256: 'f'.repeat(64) },
        metrics: Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`metric_${i}`, i / 3])),
        backend: 'wasm',
      },
    ],
  ])('encodes %s as compact JSON under 4096 bytes', (_name, msg) => {
    const text = encodeTermination(msg);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(TERMINATION_LIMIT);
    const parsed = JSON.parse(text);
    expect(Object.keys(parsed)).toEqual(Object.keys(msg));
    expect(text).not.toContain('\n');
  });

  it('writes to the given path and reports an unwritable one', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'k2k-term-')), 'termination-log');
    expect(writeTermination({ error: { code: 'Internal', message: 'boom' } }, file)).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ error: { code: 'Internal', message: 'boom' } });
    expect(writeTermination({ error: { code: 'Internal', message: 'boom' } }, '/nonexistent-dir/x')).toBe(
      false,
    );
  });
});
