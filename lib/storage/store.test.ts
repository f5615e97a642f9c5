// The same behaviours for both schemes (testdata/backends.ts): here on a file:// temp dir; the
// s3:// run is store.integration.test.ts. Then what only one scheme or no backend at all does.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURI, openStore } from './index.ts';
import { caught, describeBackend, fileBackend } from './testdata/backends.ts';

describeBackend('file', fileBackend);

describe('URIs that name nothing', () => {
  const store = openStore();
  it.each([
    { uri: '', why: 'empty' },
    { uri: 'http://example.com/x', why: 'unsupported scheme "http"' },
    { uri: '/tmp/x', why: 'expected s3://bucket/key or file:///path' },
    { uri: 'file://relative/x', why: 'file URIs must be absolute' },
    { uri: 'file:///tmp/a#b', why: 'no query or fragment' },
    { uri: 's3://Bad_Bucket/k', why: 'not a valid S3 bucket name' },
    { uri: 's3://ab/k', why: 'not a valid S3 bucket name' },
    { uri: 's3://bucket//k', why: 'double slash' },
    { uri: 's3://bucket', why: 'names a bucket or prefix' },
  ])('rejects "$uri" with InvalidURI ($why)', async ({ uri, why }) => {
    const err = await caught(store.get(uri));
    expect(err.code).toBe('InvalidURI');
    expect(err.message).toContain(why);
    expect(err.transient).toBe(false);
  });
});

describe('the file backend', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-file-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('leaves no temp files behind and creates parent directories on put', async () => {
    const store = openStore();
    await store.put(fileURI(path.join(dir, 'p', 'q', 'r.txt')), 'x');
    expect(await readdir(path.join(dir, 'p', 'q'))).toEqual(['r.txt']);
  });

  it('hides in-flight temp files from list', async () => {
    const store = openStore();
    const sub = path.join(dir, 'inflight');
    await store.put(fileURI(path.join(sub, 'done')), 'x');
    await writeFile(path.join(sub, '.k2k-tmp-next.abc123'), 'partial');
    expect(await store.list(fileURI(sub))).toEqual([fileURI(path.join(sub, 'done'))]);
  });

  it('needs no S3 credentials', async () => {
    const store = openStore({});
    const uri = fileURI(path.join(dir, 'nocreds'));
    await store.put(uri, 'x');
    expect(await store.exists(uri)).toBe(true);
  });
});
