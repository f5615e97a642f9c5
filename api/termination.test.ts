import { describe, expect, it } from 'vitest';
import { decodeTermination, encodeTermination, TERMINATION_LIMIT } from './termination.ts';

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

  it.each([
    {
      name: 'reads back what the trainer wrote on success',
      text: encodeTermination({
        artifact: { uri: 's3://m/a/1/', version: '1', manifestSha256: 'f'.repeat(64) },
        metrics: { loss: 0.1, val_loss: null },
        backend: 'wasm',
      }),
      read: {
        artifact: { uri: 's3://m/a/1/', version: '1', manifestSha256: 'f'.repeat(64) },
        metrics: { loss: 0.1, val_loss: null },
        backend: 'wasm',
      },
    },
    {
      name: 'reads back what the trainer wrote on failure',
      text: encodeTermination({ error: { code: 'LossNaN', message: 'loss became NaN' } }),
      read: { error: { code: 'LossNaN', message: 'loss became NaN' } },
    },
    {
      name: 'turns a log tail into an error with its last three lines',
      text: 'one\ntwo\nthree\nError: storage unreachable\n',
      read: { error: { message: 'two three Error: storage unreachable' } },
    },
    {
      name: 'turns JSON that is not a message (an artifact without a uri) into an error',
      text: '{"artifact":{"version":"1"}}',
      read: { error: { message: '{"artifact":{"version":"1"}}' } },
    },
    { name: 'reads nothing from an empty message', text: '', read: undefined },
  ])('$name', ({ text, read }) => {
    expect(decodeTermination(text)).toEqual(read);
  });
});
