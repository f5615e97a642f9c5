import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { datasetRead, describeDatasetRead, digestOf } from './lineage.ts';

const object = (uri: string, size: number, fill: string) => ({ uri, size, sha256: fill.repeat(64) });
const A = object('s3://d/mnist/a', 10, 'a');
const B = object('s3://d/mnist/b', 20, 'b');

describe('the record of a dataset as read', () => {
  it.each([
    ['sorts the objects by URI and lists each once', [B, A, B], [A, B]],
    ['records no objects for a run that read none', [], []],
  ])('%s', (_name, objects, files) => {
    expect(datasetRead('s3://d/mnist/', objects).files).toEqual(files);
  });

  it('digests one "<sha256> <size> <uri>" line per object, so the same bytes give the same digest', () => {
    const lines = `${'a'.repeat(64)} 10 s3://d/mnist/a\n${'b'.repeat(64)} 20 s3://d/mnist/b\n`;
    const read = datasetRead('s3://d/mnist/', [B, A]);
    expect(read).toMatchObject({ objects: 2, bytes: 30 });
    expect(read.sha256).toBe(createHash('sha256').update(lines).digest('hex'));
    expect(datasetRead('s3://d/mnist/', [A, B]).sha256).toBe(read.sha256);
    expect(datasetRead('s3://d/mnist/', [A, { ...B, sha256: 'c'.repeat(64) }]).sha256).not.toBe(read.sha256);
  });

  it.each([
    [
      'says megabytes for a large dataset',
      { bytes: 54_880_000, objects: 4 },
      /^4 objects \(54\.9 MB, sha256 /,
    ],
    ['says bytes for a small one', { bytes: 30, objects: 1 }, /^1 object \(30 bytes, sha256 /],
  ])('%s', (_name, size, words) => {
    const digest = { ...digestOf(datasetRead('s3://d/mnist/', [A])), ...size };
    expect(describeDatasetRead(digest)).toMatch(words);
    expect(describeDatasetRead(digest)).toMatch(/under s3:\/\/d\/mnist\/$/);
  });

  it('drops only the list of objects from the digest', () => {
    const read = datasetRead('s3://d/mnist/', [A, B]);
    expect(digestOf(read)).toEqual({ uri: read.uri, objects: 2, bytes: 30, sha256: read.sha256 });
  });
});
