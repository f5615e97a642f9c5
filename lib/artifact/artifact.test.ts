// Writing and reading artifacts on a file:// temp dir (the s3:// run of the same suite is
// artifact.integration.test.ts), on unreachable storage, and the validation of every file.
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURI, joinURI, type ObjectStore, openStore } from '../storage/index.ts';
import { ArtifactWriter, artifactURI, readArtifact, saveModelHandler } from './index.ts';
import {
  caught,
  describeArtifactsOn,
  meta,
  preprocessing,
  tinyModel,
  writeArtifact,
} from './testdata/backends.ts';

beforeAll(async () => {
  // The plain JS backend on purpose (the tests compare predictions, not speed): without prod mode
  // tfjs would print its "install the node backend" banner into the test output.
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

describeArtifactsOn('file', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-artifact-'));
  return { store: openStore(), root: fileURI(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe('artifacts on unreachable storage', () => {
  it('passes the transient StorageError through from the writer and the reader', async () => {
    // A loopback port nobody listens on.
    const { port } = await new Promise<{ port: number }>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const addr = srv.address() as net.AddressInfo;
        srv.close(() => resolve(addr));
      });
    });
    // Any credentials: the request never reaches a server that could check them.
    const store = openStore({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'k2k', secretAccessKey: 'unused' },
    });
    const uri = artifactURI('s3://k2k-unreachable/out', 'tiny', '1');
    const unreachable = { name: 'StorageError', code: 'Unreachable', transient: true };
    await expect(new ArtifactWriter(store, uri).add('weights.bin', 'x')).rejects.toMatchObject(unreachable);
    await expect(readArtifact(store, uri)).rejects.toMatchObject(unreachable);
  });
});

const anomaly = { score: 'mse', percentile: 99, threshold: 0.042, split: 'validation', count: 60 } as const;

describe('artifact validation', () => {
  let dir: string;
  let store: ObjectStore;
  let n = 0;
  const fresh = () => fileURI(path.join(dir, `v${++n}`, 'tiny', '1'));
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-artifact-'));
    store = openStore();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each([
    {
      name: 'normalization with fewer values than features',
      file: 'preprocessing.json',
      value: { ...preprocessing, input: { ...preprocessing.input, normalization: { mean: [0], std: [1] } } },
      detail: '/input/normalization/mean: 1 values for 4 features',
    },
    {
      name: 'a zero standard deviation',
      file: 'preprocessing.json',
      value: {
        ...preprocessing,
        input: { ...preprocessing.input, normalization: { mean: [0, 0, 0, 0], std: [1, 0, 1, 1] } },
      },
      detail: '/input/normalization/std/1: 0 is not positive',
    },
    {
      name: 'an unknown input kind',
      file: 'preprocessing.json',
      value: { input: { kind: 'audio' }, output: {} },
      detail: '/input/kind: must be one of tabular, image, text (got "audio")',
    },
    {
      name: 'an anomaly threshold of another score than the MSE',
      file: 'preprocessing.json',
      value: { ...preprocessing, output: { anomaly: { ...anomaly, score: 'mae' } } },
      detail: '/output/anomaly/score',
    },
    {
      name: 'an anomaly percentile above 100',
      file: 'preprocessing.json',
      value: { ...preprocessing, output: { anomaly: { ...anomaly, percentile: 101 } } },
      detail: '/output/anomaly/percentile',
    },
    {
      name: 'a negative anomaly threshold',
      file: 'preprocessing.json',
      value: { ...preprocessing, output: { anomaly: { ...anomaly, threshold: -0.1 } } },
      detail: '/output/anomaly/threshold',
    },
    {
      name: 'bin counts that do not fit the edges',
      file: 'profile.json',
      value: { features: [{ name: 'f0', edges: [null, 0, null], counts: [1, 2, 3], count: 6 }] },
      detail: '/features/0: 3 edges for 3 bins',
    },
    {
      name: 'a null edge in the middle',
      file: 'profile.json',
      value: { features: [{ name: 'f0', edges: [null, null, null], counts: [1, 2], count: 3 }] },
      detail: '/features/0/edges/1: null is only allowed at the ends',
    },
    {
      name: 'class counts that do not sum to the count',
      file: 'profile.json',
      value: {
        features: [],
        predictions: { kind: 'classification', classNames: ['a'], counts: [2], count: 3 },
      },
      detail: '/predictions: counts sum to 2, count is 3',
    },
    {
      name: 'metrics without a history',
      file: 'metrics.json',
      value: { final: {}, stoppedEarly: false, epochs: 0, samples: { train: 0, validation: 0 } },
      detail: '/',
    },
  ])('refuses $name, naming the file', async ({ file, value, detail }) => {
    const writer = new ArtifactWriter(store, fresh());
    const err = await caught(writer.addJSON(file, value));
    expect(err).toMatchObject({ code: 'Invalid', file });
    expect(err.message).toContain(detail);
  });

  it('keeps the anomaly threshold an autoencoder learned, and reads artifacts without one', async () => {
    for (const output of [{ anomaly }, {}]) {
      const uri = fresh();
      const writer = new ArtifactWriter(store, uri);
      await tinyModel().save(saveModelHandler(writer));
      await writer.addJSON('preprocessing.json', { ...preprocessing, output });
      await writer.commit({ ...meta('1'), task: 'anomaly' });
      expect((await readArtifact(store, uri)).preprocessing.output).toEqual(output);
    }
  });

  it.each([
    { name: 'a path outside the artifact', file: '../escape.bin' },
    { name: 'an absolute path', file: '/etc/passwd' },
    { name: 'the manifest itself', file: 'manifest.json' },
    { name: 'a checkpoint', file: 'checkpoints/epoch-1/model.json' },
  ])('refuses to add $name', async ({ file }) => {
    const writer = new ArtifactWriter(store, fresh());
    expect(await caught(writer.add(file, 'x'))).toMatchObject({ code: 'Invalid', file });
  });

  it.each([
    { name: 'model.json is missing', files: ['preprocessing.json'], missing: 'model.json' },
    { name: 'preprocessing.json is missing', files: ['model'], missing: 'preprocessing.json' },
    {
      name: 'a weight file model.json references is missing',
      files: ['model-json-only', 'preprocessing.json'],
      missing: 'weights.bin',
    },
  ])('refuses to commit when $name', async ({ files, missing }) => {
    const uri = fresh();
    const writer = new ArtifactWriter(store, uri);
    for (const f of files) {
      if (f === 'model') await tinyModel().save(saveModelHandler(writer));
      if (f === 'model-json-only') {
        await writer.addJSON('model.json', {
          modelTopology: {},
          weightsManifest: [{ paths: ['weights.bin'], weights: [] }],
        });
      }
      if (f === 'preprocessing.json') await writer.addJSON(f, preprocessing);
    }
    expect(await caught(writer.commit(meta('1')))).toMatchObject({ code: 'Invalid', file: missing });
    expect(await store.exists(joinURI(uri, 'manifest.json'))).toBe(false);
  });

  it('refuses to commit a manifest with an invalid version, naming the field', async () => {
    const writer = new ArtifactWriter(store, fresh());
    await tinyModel().save(saveModelHandler(writer));
    await writer.addJSON('preprocessing.json', preprocessing);
    const err = await caught(writer.commit(meta('01')));
    expect(err).toMatchObject({ code: 'Invalid', file: 'manifest.json' });
    expect(err.message).toContain('/version');
  });

  it.each([
    {
      name: 'a newer formatVersion',
      patch: { formatVersion: 2 },
      detail: 'formatVersion 2 is newer than this reader understands (1)',
    },
    {
      name: 'a file path outside the artifact',
      patch: { files: [{ path: '../x', size: 1, sha256: '0'.repeat(64) }] },
      detail: '/files/0/path',
    },
    { name: 'no task', patch: { task: undefined }, detail: '/task: is required' },
  ])('refuses to read a manifest with $name', async ({ patch, detail }) => {
    const uri = `${fresh()}/`;
    await writeArtifact(store, fileURI(path.join(dir, `r${++n}`)), '1');
    const good = await readArtifact(store, artifactURI(fileURI(path.join(dir, `r${n}`)), 'tiny', '1'));
    await store.put(joinURI(uri, 'manifest.json'), JSON.stringify({ ...good.manifest, ...patch }));
    const err = await caught(readArtifact(store, uri));
    expect(err).toMatchObject({ code: 'Invalid', file: 'manifest.json' });
    expect(err.message).toContain(detail);
  });

  it.each([
    {
      out: 's3://bkt/models',
      model: 'mnist',
      version: '1764037200',
      want: 's3://bkt/models/mnist/1764037200/',
    },
    { out: 's3://bkt/models/', model: 'mnist', version: '1', want: 's3://bkt/models/mnist/1/' },
    { out: 'file:///data', model: 'm.v2', version: '42', want: 'file:///data/m.v2/42/' },
  ])('places $model version $version under $out', ({ out, model, version, want }) => {
    expect(artifactURI(out, model, version)).toBe(want);
  });

  it.each([
    { model: 'mnist', version: '0' },
    { model: 'mnist', version: '-1' },
    { model: 'mnist', version: '1.5' },
    { model: 'a/b', version: '1' },
    { model: '', version: '1' },
  ])('refuses model "$model" version "$version"', ({ model, version }) => {
    expect(() => artifactURI('s3://bkt/models', model, version)).toThrow(
      expect.objectContaining({ code: 'Invalid' }),
    );
  });
});
