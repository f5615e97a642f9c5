import { describe, expect, it } from 'vitest';
import { datasetRead } from './lineage.ts';
import { decodeTermination, encodeTermination, TERMINATION_LIMIT } from './termination.ts';

const shards = (n: number) =>
  datasetRead(
    's3://d/events/',
    Array.from({ length: n }, (_, i) => ({
      uri: `s3://d/events/part-${String(i).padStart(5, '0')}.csv`,
      size: 1000 + i,
      sha256: i.toString(16).padStart(64, '0'),
    })),
  );

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
    [
      'a success with a dataset of many objects cut to fit',
      {
        artifact: { uri: 's3://m/a/1/', version: '1', manifestSha256: 'f'.repeat(64) },
        metrics: { loss: 0.1 },
        backend: 'wasm',
        dataset: shards(500),
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

  it('keeps the dataset’s digest, count and metrics and cuts its list of objects first when they do not fit', () => {
    const dataset = shards(500);
    const read = decodeTermination(
      encodeTermination({
        artifact: { uri: 's3://m/a/1/', version: '1', manifestSha256: 'f'.repeat(64) },
        metrics: { loss: 0.1, acc: 0.9 },
        backend: 'wasm',
        dataset,
      }),
    );
    expect(read?.metrics).toEqual({ loss: 0.1, acc: 0.9 });
    expect(read?.dataset).toMatchObject({
      uri: 's3://d/events/',
      objects: 500,
      bytes: dataset.bytes,
      sha256: dataset.sha256,
    });
    const kept = read!.dataset!.files!;
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(500);
    expect(kept).toEqual(dataset.files!.slice(0, kept.length));
  });
});
