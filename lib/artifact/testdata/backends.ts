// The artifact tests' fixtures and the behaviours every storage scheme must show, as one suite
// that artifact.test.ts runs on file:// and artifact.integration.test.ts on the real S3 server.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinURI, type ObjectStore } from '../../storage/index.ts';
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
} from '../index.ts';

export const preprocessing: Preprocessing = {
  input: {
    kind: 'tabular',
    features: ['f0', 'f1', 'f2', 'f3'],
    normalization: { mean: [0, 1, 2, 3], std: [1, 1, 2, 0.5] },
  },
  output: { classNames: ['a', 'b', 'c'] },
};
export const profile: DataProfile = {
  features: [
    { name: 'f0', edges: [null, -1, 0, 1, null], counts: [1, 2, 3, 4], count: 10, sample: [0.5, -0.2] },
  ],
  predictions: { kind: 'classification', classNames: ['a', 'b', 'c'], counts: [3, 3, 4], count: 10 },
};
export const metrics: MetricsFile = {
  history: [{ epoch: 1, loss: 0.9, acc: 0.5, val_loss: null }],
  final: { loss: 0.9, val_acc: 0.5 },
  stoppedEarly: false,
  epochs: 1,
  samples: { train: 8, validation: 2 },
};
export const meta = (version: string): ManifestMeta => ({
  model: 'tiny',
  version,
  task: 'classification',
  framework: { name: 'tensorflow.js', version: tf.version.tfjs, backend: 'cpu' },
  inputs: [{ name: 'input', shape: [-1, 4], datatype: 'FP32' }],
  outputs: [{ name: 'output', shape: [-1, 3], datatype: 'FP32' }],
  trainingJob: { namespace: 'default', name: 'tiny', uid: 'u-1' },
});

export function tinyModel(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [4], units: 5, activation: 'relu' }));
  model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
  return model;
}

/** Writes a complete artifact (model + preprocessing + profile + metrics) and returns its URI. */
export async function writeArtifact(
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

export async function caught(p: Promise<unknown>): Promise<ArtifactError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ArtifactError);
    return err as ArtifactError;
  }
  throw new Error('expected an ArtifactError, got success');
}

export interface ArtifactBackend {
  store: ObjectStore;
  root: string;
  cleanup(): Promise<void>;
}

let counter = 0;

export function describeArtifactsOn(scheme: string, make: () => Promise<ArtifactBackend>): void {
  describe(`artifacts on '${scheme}'`, () => {
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
}
