// The behaviours every ObjectStore backend shares, as one suite: store.test.ts runs it on a
// file:// temp dir, store.integration.test.ts on a bucket of the real S3 server.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURI, joinURI, type ObjectStore, openStore, StorageError } from '../index.ts';
import { createTestBucket, testStorageOptions } from '../testing.ts';

export interface Backend {
  scheme: string;
  /** A fresh, empty prefix for one test. */
  base(): string;
  store: ObjectStore;
  cleanup(): Promise<void>;
}

let counter = 0;
const unique = () => `t${++counter}`;

export async function s3Backend(): Promise<Backend> {
  const opts = testStorageOptions();
  const bucket = await createTestBucket('k2k-storage');
  return {
    scheme: 's3',
    base: () => `s3://${bucket}/${unique()}`,
    store: openStore(opts),
    cleanup: async () => {},
  };
}

export async function fileBackend(): Promise<Backend> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-storage-'));
  return {
    scheme: 'file',
    base: () => fileURI(path.join(dir, unique())),
    store: openStore(),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export async function caught(p: Promise<unknown>): Promise<StorageError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(StorageError);
    return err as StorageError;
  }
  throw new Error('expected a StorageError, got success');
}

export function describeBackend(scheme: string, make: () => Promise<Backend>): void {
  describe(`the '${scheme}' backend`, () => {
    let b: Backend;
    beforeAll(async () => {
      b = await make();
    });
    afterAll(() => b?.cleanup());

    it('returns the bytes that were put, for binary and string bodies', async () => {
      const base = b.base();
      const bin = new Uint8Array([0, 1, 2, 254, 255]);
      await b.store.put(joinURI(base, 'bin'), bin);
      await b.store.put(joinURI(base, 'text.json'), '{"a":"ü"}', { contentType: 'application/json' });
      expect(new Uint8Array(await b.store.get(joinURI(base, 'bin')))).toEqual(bin);
      expect((await b.store.get(joinURI(base, 'text.json'))).toString('utf8')).toBe('{"a":"ü"}');
    });

    it('stores an empty object and a 5 MiB object intact', async () => {
      const base = b.base();
      const big = Buffer.alloc(5 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
      await b.store.put(joinURI(base, 'empty'), new Uint8Array(0));
      await b.store.put(joinURI(base, 'big'), big);
      expect((await b.store.get(joinURI(base, 'empty'))).length).toBe(0);
      expect((await b.store.get(joinURI(base, 'big'))).equals(big)).toBe(true);
    });

    it('replaces an object that is put again', async () => {
      const uri = joinURI(b.base(), 'x');
      await b.store.put(uri, 'first version, longer');
      await b.store.put(uri, 'second');
      expect((await b.store.get(uri)).toString()).toBe('second');
    });

    it('lists every object under a prefix recursively, sorted, as full URIs', async () => {
      const base = b.base();
      const names = ['b/2', 'a', 'b/1', 'b/c/deep/3'];
      for (const n of names) await b.store.put(joinURI(base, n), n);
      const expected = ['a', 'b/1', 'b/2', 'b/c/deep/3'].map((n) => joinURI(base, n));
      expect(await b.store.list(base)).toEqual(expected);
      expect(await b.store.list(`${base}/`)).toEqual(expected);
      expect(await b.store.list(joinURI(base, 'b'))).toEqual(expected.slice(1));
    });

    it('treats a list prefix as a directory, not as a name prefix', async () => {
      const base = b.base();
      await b.store.put(joinURI(base, 'model', 'x'), 'x');
      await b.store.put(joinURI(base, 'model-2', 'y'), 'y');
      expect(await b.store.list(joinURI(base, 'model'))).toEqual([joinURI(base, 'model', 'x')]);
    });

    it('lists nothing under a prefix that has no objects', async () => {
      expect(await b.store.list(b.base())).toEqual([]);
    });

    it('round-trips names with spaces and plus signs through joinURI, list and get', async () => {
      const base = b.base();
      const uri = joinURI(base, 'dir with space', 'a+b c.txt');
      await b.store.put(uri, 'odd');
      const listed = await b.store.list(base);
      expect(listed).toEqual([uri]);
      expect((await b.store.get(listed[0]!)).toString()).toBe('odd');
    });

    it('reports whether an object exists', async () => {
      const base = b.base();
      await b.store.put(joinURI(base, 'dir', 'here'), 'x');
      expect(await b.store.exists(joinURI(base, 'dir', 'here'))).toBe(true);
      expect(await b.store.exists(joinURI(base, 'dir', 'missing'))).toBe(false);
      expect(await b.store.exists(joinURI(base, 'dir'))).toBe(false);
    });

    it('deletes an object, and deleting a missing object succeeds', async () => {
      const uri = joinURI(b.base(), 'gone');
      await b.store.put(uri, 'x');
      await b.store.delete(uri);
      expect(await b.store.exists(uri)).toBe(false);
      await b.store.delete(uri);
    });

    it('creates an object with ifAbsent, and refuses with AlreadyExists to replace one', async () => {
      const uri = joinURI(b.base(), 'once');
      await b.store.put(uri, 'first', { ifAbsent: true });
      const err = await caught(b.store.put(uri, 'second', { ifAbsent: true }));
      expect(err).toMatchObject({
        code: 'AlreadyExists',
        uri,
        transient: false,
        message: `${uri}: already exists`,
      });
      expect((await b.store.get(uri)).toString()).toBe('first');
    });

    it('lets exactly one of several concurrent ifAbsent writers win', async () => {
      const uri = joinURI(b.base(), 'race');
      const results = await Promise.allSettled(
        ['a', 'b', 'c', 'd'].map((body) => b.store.put(uri, body, { ifAbsent: true }).then(() => body)),
      );
      const winners = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const losers = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as StorageError] : []));
      expect(winners).toHaveLength(1);
      expect(losers.map((e) => e.code)).toEqual(['AlreadyExists', 'AlreadyExists', 'AlreadyExists']);
      expect((await b.store.get(uri)).toString()).toBe(winners[0]);
    });

    it('fails with NotFound naming the URI when getting a missing object', async () => {
      const uri = joinURI(b.base(), 'nothing-here');
      const err = await caught(b.store.get(uri));
      expect(err).toMatchObject({ code: 'NotFound', uri, transient: false, message: `${uri}: not found` });
    });

    it.each([
      { op: 'get', call: (s: ObjectStore, u: string) => s.get(u) },
      { op: 'put', call: (s: ObjectStore, u: string) => s.put(u, 'x') },
      { op: 'exists', call: (s: ObjectStore, u: string) => s.exists(u) },
      { op: 'delete', call: (s: ObjectStore, u: string) => s.delete(u) },
    ])('refuses a prefix URI (trailing slash) as an object name in $op', async ({ call }) => {
      const uri = `${b.base()}/dir/`;
      expect(await caught(call(b.store, uri))).toMatchObject({ code: 'InvalidURI', uri, transient: false });
    });
  });
}
