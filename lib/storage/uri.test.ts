import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fileURI, joinURI, parseURI } from './index.ts';

describe('parseURI', () => {
  it.each([
    { uri: 's3://bucket/a/b.json', want: { scheme: 's3', bucket: 'bucket', key: 'a/b.json' } },
    { uri: 's3://my.bucket-1', want: { scheme: 's3', bucket: 'my.bucket-1', key: '' } },
    { uri: 's3://bucket/dir/', want: { scheme: 's3', bucket: 'bucket', key: 'dir/' } },
    { uri: 's3://bucket/a b%20c', want: { scheme: 's3', bucket: 'bucket', key: 'a b%20c' } },
    { uri: 'file:///tmp/x/y.bin', want: { scheme: 'file', path: '/tmp/x/y.bin' } },
    { uri: 'file:///tmp/x/', want: { scheme: 'file', path: '/tmp/x/' } },
    { uri: 'file:///tmp/a%20b', want: { scheme: 'file', path: '/tmp/a b' } },
  ])('parses $uri', ({ uri, want }) => {
    expect(parseURI(uri)).toEqual(want);
  });

  it('throws InvalidURI naming the URI', () => {
    expect(() => parseURI('gs://bucket/x')).toThrow(
      expect.objectContaining({
        code: 'InvalidURI',
        uri: 'gs://bucket/x',
        message: expect.stringMatching(/^gs:\/\/bucket\/x: /),
      }),
    );
  });
});

describe('parseURI refuses the pod’s credentials and system files', () => {
  it.each([
    ['the storage credentials mount', 'file:///var/run/secrets/k2k.dev/storage/AWS_SECRET_ACCESS_KEY'],
    ['the service-account token through /run', 'file:///run/secrets/kubernetes.io/serviceaccount/token'],
    ['a path that climbs back into /var/run/secrets', 'file:///tmp/../var/run/secrets/x'],
    ['a percent-encoded path into /var/run/secrets', 'file:///var/run/%73ecrets/x'],
    ['a path with doubled slashes into /proc', 'file:////proc//self/environ'],
    ['/etc itself', 'file:///etc'],
    ['a device', 'file:///dev/stdin'],
    ['kernel state', 'file:///sys/kernel/x'],
  ])('%s', (_name, uri) => {
    expect(() => parseURI(uri)).toThrow(
      expect.objectContaining({
        code: 'InvalidURI',
        message: expect.stringMatching(
          /names a path under \/(var\/run\/secrets|run\/secrets|proc|etc|dev|sys), where the pod's credentials/,
        ),
      }),
    );
  });

  it.each(['file:///etcetera/x.csv', 'file:///tmp/proc/x.csv', 'file:///data/var/run/secrets/x'])(
    'but not a neighbour: %s',
    (uri) => {
      expect(parseURI(uri).scheme).toBe('file');
    },
  );
});

describe('joinURI', () => {
  it.each([
    {
      name: 'joins segments with single slashes',
      base: 's3://bkt/out/',
      parts: ['m', '1'],
      want: 's3://bkt/out/m/1',
    },
    {
      name: 'keeps a trailing slash on the last part',
      base: 's3://bkt/out',
      parts: ['m', '1/'],
      want: 's3://bkt/out/m/1/',
    },
    { name: 'joins onto a bucket root', base: 's3://bkt', parts: ['k'], want: 's3://bkt/k' },
    {
      name: 'splits parts that contain slashes',
      base: 's3://bkt',
      parts: ['a/b', '/c/'],
      want: 's3://bkt/a/b/c/',
    },
    {
      name: 'returns the base when there is nothing to join',
      base: 's3://bkt/x/',
      parts: [],
      want: 's3://bkt/x/',
    },
    { name: 'joins onto the file root', base: 'file:///', parts: ['tmp', 'x'], want: 'file:///tmp/x' },
    {
      name: 'percent-encodes file path segments',
      base: 'file:///tmp',
      parts: ['a b', '50%'],
      want: 'file:///tmp/a%20b/50%25',
    },
    { name: 'keeps s3 keys literal', base: 's3://bkt', parts: ['a b', '50%'], want: 's3://bkt/a b/50%' },
  ])('$name', ({ base, parts, want }) => {
    expect(joinURI(base, ...parts)).toBe(want);
  });

  it.each(['..', '.', 'a/../b'])('refuses the path segment in "%s"', (part) => {
    expect(() => joinURI('s3://bkt/out', part)).toThrow(expect.objectContaining({ code: 'InvalidURI' }));
  });
});

describe('joinURI and parseURI together', () => {
  // Any name a model, file or object may have: unicode, "%", "#", "?", spaces; never "/" or dot segments.
  const segment = fc
    .string({ minLength: 1, maxLength: 12, unit: 'grapheme' })
    .filter((s) => !s.includes('/') && !s.includes('\0') && s !== '.' && s !== '..');

  it('maps file path segments to the same path, whatever characters they contain', () => {
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), (segs) => {
        const parsed = parseURI(joinURI(fileURI('/data/out'), ...segs));
        expect(parsed).toEqual({ scheme: 'file', path: path.posix.join('/data/out', ...segs) });
      }),
    );
  });

  it('maps s3 key segments to the same key, whatever characters they contain', () => {
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), (segs) => {
        expect(parseURI(joinURI('s3://bkt/out', ...segs))).toEqual({
          scheme: 's3',
          bucket: 'bkt',
          key: ['out', ...segs].join('/'),
        });
      }),
    );
  });
});
