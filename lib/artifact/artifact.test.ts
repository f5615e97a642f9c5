// Writing and reading artifacts on both schemes: the s3:// test server and a file:// temp dir.
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURI, joinURI, type ObjectStore, openStore } from '../storage/index.ts';
import { createTestBucket, testStorageOptions } from '../storage/testing.ts';
import {
  ArtifactError,
  ArtifactWriter,
  artifactURI,
  type DataProfile,
  latestVersion,
  loadModelHandler,
  type ManifestMeta,
  type MetricsFile,
  type Preprocessing,
  readArtifact,
  saveModelHandler,
} from './index.ts';

const preprocessing: Preprocessing = {
  input: {
    kind: 'tabular',
    features: ['f0', 'f1', 'f2', 'f3'],
    normalization: { mean: [0, 1, 2, 3], std: [1, 1, 2, 0.5] },
  },
  output: { classNames: ['a', 'b', 'c'] },
};
const profile: DataProfile = {
  features: [
    { name: 'f0', edges: [null, -1, 0, 1, null], counts: [1, 2, 3, 4], count: 10, sample: [0.5, -0.2] },
  ],
  predictions: { kind: 'classification', classNames: ['a', 'b', 'c'], counts: [3, 3, 4], count: 10 },
};
const metrics: MetricsFile = {
  history: [{ epoch: 1, loss: 0.9, acc: 0.5, val_loss: null }],
  final: { loss: 0.9, val_acc: 0.5 },
  stoppedEarly: false,
  epochs: 1,
  samples: { train: 8, validation: 2 },
};
const meta = (version: string): ManifestMeta => ({
  model: 'tiny',
  version,
  task: 'classification',
  framework: { name: 'tensorflow.js', version: tf.version.tfjs, backend: 'cpu' },
  inputs: [{ name: 'input', shape: [-1, 4], datatype: 'FP32' }],
  outputs: [{ name: 'output', shape: [-1, 3], datatype: 'FP32' }],
  trainingJob: { namespace: 'default', name: 'tiny', uid: 'u-1' },
});

function tinyModel(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [4], units: 5, activation: 'relu' }));
  model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
  return model;
}

/** Writes a complete artifact (model + preprocessing + profile + metrics) and returns its URI. */
async function writeArtifact(
  store: ObjectStore,
  out: string,
  version: string,
  model = tinyModel(),
): Promise<string> {
  const uri = artifactURI(out, 'tiny', version);
  const writer = new ArtifactWriter(store, uri);
  await writer.assertWritable();
  await model.save(saveModelHandler(writer));
  await writer.addJSON('preprocessing.json', preprocessing);
  await writer.addJSON('profile.json', profile);
  await writer.addJSON('metrics.json', metrics);
  await writer.commit(meta(version));
  return uri;
}

async function caught(p: Promise<unknown>): Promise<ArtifactError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ArtifactError);
    return err as ArtifactError;
  }
  throw new Error('expected an ArtifactError, got success');
}

beforeAll(async () => {
  // The plain JS backend on purpose (the tests compare predictions, not speed): without prod mode
  // tfjs would print its "install the node backend" banner into the test output.
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

let counter = 0;

describe.each([
  {
    scheme: 's3',
    make: async () => {
      const bucket = await createTestBucket('k2k-artifact');
      return { store: openStore(testStorageOptions()), root: `s3://${bucket}`, cleanup: async () => {} };
    },
  },
  {
    scheme: 'file',
    make: async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-artifact-'));
      return {
        store: openStore(),
        root: fileURI(dir),
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    },
  },
])('artifacts on $scheme', ({ make }) => {
  let store: ObjectStore;
  let root: string;
  let cleanup: () => Promise<void>;
  const out = () => joinURI(root, `out${++counter}`);
  beforeAll(async () => {
    ({ store, root, cleanup } = await make());
  });
  afterAll(() => cleanup?.());

  it('reads back a written artifact whose model makes identical predictions', async () => {
    const model = tinyModel();
    const uri = await writeArtifact(store, out(), '1764037200', model);
    const artifact = await readArtifact(store, uri);

    expect(artifact.uri).toBe(uri);
    expect(artifact.manifest).toMatchObject({
      apiVersion: 'k2k.dev/v1alpha1',
      kind: 'ModelArtifact',
      formatVersion: 1,
      ...meta('1764037200'),
    });
    expect(artifact.manifest.files.map((f) => f.path)).toEqual([
      'metrics.json',
      'model.json',
      'preprocessing.json',
      'profile.json',
      'weights.bin',
    ]);
    expect(artifact.preprocessing).toEqual(preprocessing);
    expect(artifact.profile).toEqual(profile);
    expect(artifact.metrics).toEqual(metrics);
    expect(artifact.manifestSha256).toMatch(/^[0-9a-f]{64}$/);

    const loaded = await tf.loadLayersModel(loadModelHandler(artifact));
    const x = tf.tensor2d([
      [0.1, -2, 3.5, 0],
      [1, 1, 1, 1],
    ]);
    expect(await (loaded.predict(x) as tf.Tensor).array()).toEqual(
      await (model.predict(x) as tf.Tensor).array(),
    );
  });

  it('keeps the artifact invisible until commit writes the manifest (a killed writer leaves it Incomplete)', async () => {
    const uri = artifactURI(out(), 'tiny', '5');
    const writer = new ArtifactWriter(store, uri);
    await tinyModel().save(saveModelHandler(writer));
    await writer.addJSON('preprocessing.json', preprocessing);
    // The writer stops here, as if its pod were killed.
    const err = await caught(readArtifact(store, uri));
    expect(err).toMatchObject({ code: 'Incomplete', uri, file: 'manifest.json' });
    expect(err.message).toContain(`${uri}manifest.json: no manifest.json`);
  });

  it.each([
    {
      name: 'a flipped byte of the same size',
      file: 'weights.bin',
      tamper: async (s: ObjectStore, u: string) => {
        const b = Buffer.from(await s.get(u));
        b[0] = b[0]! ^ 0xff;
        await s.put(u, b);
      },
      detail: /sha256 [0-9a-f]{64} does not match manifest.json/,
    },
    {
      name: 'a truncated file',
      file: 'model.json',
      tamper: async (s: ObjectStore, u: string) => s.put(u, (await s.get(u)).subarray(0, 10)),
      detail: /size 10 does not match manifest.json/,
    },
    {
      name: 'a deleted file',
      file: 'profile.json',
      tamper: (s: ObjectStore, u: string) => s.delete(u),
      detail: /is listed in manifest.json but missing/,
    },
  ])('refuses $name as Tampered, naming the file', async ({ file, tamper, detail }) => {
    const uri = await writeArtifact(store, out(), '7');
    await tamper(store, joinURI(uri, file));
    const err = await caught(readArtifact(store, uri));
    expect(err).toMatchObject({ code: 'Tampered', uri, file });
    expect(err.message).toMatch(detail);
    expect(err.message.startsWith(`${uri}${file}: `)).toBe(true);
  });

  it('refuses to write over a complete version', async () => {
    const base = out();
    const uri = await writeArtifact(store, base, '3');
    const before = await store.get(joinURI(uri, 'manifest.json'));

    const again = new ArtifactWriter(store, uri);
    expect(await caught(again.assertWritable())).toMatchObject({
      code: 'AlreadyExists',
      uri,
      file: 'manifest.json',
    });
    // add() checks too, before uploading anything, so the complete version stays intact.
    expect(await caught(again.add('weights.bin', 'overwritten'))).toMatchObject({ code: 'AlreadyExists' });
    expect(await caught(writeArtifact(store, base, '3'))).toMatchObject({ code: 'AlreadyExists' });
    expect((await store.get(joinURI(uri, 'manifest.json'))).equals(before)).toBe(true);
    await readArtifact(store, uri);
  });

  it('refuses to commit when another writer completed the version first', async () => {
    const base = out();
    const uri = artifactURI(base, 'tiny', '4');
    const slow = new ArtifactWriter(store, uri);
    await tinyModel().save(saveModelHandler(slow));
    await slow.addJSON('preprocessing.json', preprocessing);
    await writeArtifact(store, base, '4');
    expect(await caught(slow.commit(meta('4')))).toMatchObject({ code: 'AlreadyExists', uri });
  });

  it('lets exactly one of two writers racing to complete a version win', async () => {
    const uri = artifactURI(out(), 'tiny', '6');
    const writers = [new ArtifactWriter(store, uri), new ArtifactWriter(store, uri)];
    for (const w of writers) {
      await tinyModel().save(saveModelHandler(w));
      await w.addJSON('preprocessing.json', preprocessing);
    }
    const results = await Promise.allSettled(writers.map((w) => w.commit(meta('6'))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toMatchObject({ code: 'AlreadyExists', uri });
  });

  it('finds the highest complete version numerically and ignores versions without a manifest', async () => {
    const base = out();
    const modelUri = joinURI(base, 'tiny');
    expect(await latestVersion(store, modelUri)).toBeUndefined();
    await writeArtifact(store, base, '9');
    await writeArtifact(store, base, '10');
    // 11 is being written (no manifest); "0012" and "12x" are not versions.
    const partial = new ArtifactWriter(store, artifactURI(base, 'tiny', '11'));
    await tinyModel().save(saveModelHandler(partial));
    await store.put(joinURI(modelUri, '0012', 'manifest.json'), '{}');
    await store.put(joinURI(modelUri, '12x', 'manifest.json'), '{}');
    await store.put(joinURI(modelUri, '13', 'checkpoints', 'manifest.json'), '{}');
    expect(await latestVersion(store, modelUri)).toBe('10');
    expect(await latestVersion(store, `${modelUri}/`)).toBe('10');
  });
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
    const store = openStore({ ...testStorageOptions(), endpoint: `http://127.0.0.1:${port}` });
    const uri = artifactURI('s3://k2k-unreachable/out', 'tiny', '1');
    const unreachable = { name: 'StorageError', code: 'Unreachable', transient: true };
    await expect(new ArtifactWriter(store, uri).add('weights.bin', 'x')).rejects.toMatchObject(unreachable);
    await expect(readArtifact(store, uri)).rejects.toMatchObject(unreachable);
  });
});

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
