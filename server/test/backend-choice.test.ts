// K2K_BACKEND=auto measures every backend that initialises on the model being loaded and keeps the
// fastest (server/model/backend-choice.ts); a named backend is used as asked, unmeasured. Real artifacts (a
// dense MLP and a CNN written as the trainer writes them), real backends (native TensorFlow, built
// by hack/setup.sh, and WebAssembly), the real server.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURI, openStore } from '../../lib/storage/index.ts';
import { buildApp } from '../app.ts';
import { call, grpcClients } from '../grpc/client.ts';
import { type BackendRequest, initBackend } from '../model/backend.ts';
import { type BackendTiming, chooseBackend, fastest } from '../model/backend-choice.ts';
import {
  IMAGE_SIZE,
  images,
  parseMetrics,
  sample,
  tabularRows,
  testSettings,
  waitReady,
  writeImageArtifact,
  writeTabularArtifact,
} from './fixtures.ts';

const store = openStore();
let dir: string;
const uris: Record<string, string> = {};

beforeAll(async () => {
  await initBackend('wasm'); // the artifacts are written on wasm; each server then initialises its own
  dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-backend-'));
  uris.mlp = await writeTabularArtifact(store, fileURI(dir), 'mlp', '1');
  uris.cnn = await writeImageArtifact(store, fileURI(dir), 'cnn', '1');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const MAX_BATCH = 32;
const REQUESTS = {
  mlp: { shape: [2, 4], data: tabularRows(2, 3).flat() },
  cnn: { shape: [2, IMAGE_SIZE, IMAGE_SIZE, 1], data: images(2, 3).flat(3) },
} as const;

/** Serves `model` with K2K_BACKEND=`backend`; answers its metadata parameters, metrics and one inference. */
async function serve(model: 'mlp' | 'cnn', backend: BackendRequest) {
  const app = await buildApp({
    settings: testSettings(uris[model] as string, {
      backend,
      batching: { maxBatchSize: MAX_BATCH, maxDelayMs: 0 },
    }),
    store,
    processMetrics: false,
  });
  try {
    await waitReady(app);
    const meta = await app.inject({ method: 'GET', url: '/v2/models/tiny' });
    const grpc = grpcClients(`127.0.0.1:${await app.grpc.listen('127.0.0.1', 0)}`);
    const [v2, tfserving] = await Promise.all([
      call(grpc.inference.ModelMetadata.bind(grpc.inference), { name: 'tiny' }),
      call(grpc.prediction.GetModelMetadata.bind(grpc.prediction), {
        model_spec: { name: 'tiny' },
        metadata_field: ['backend'],
      }),
    ]).finally(() => grpc.close());
    const metrics = parseMetrics((await app.inject({ method: 'GET', url: '/metrics' })).body);
    const { shape, data } = REQUESTS[model];
    const infer = await app.inject({
      method: 'POST',
      url: '/v2/models/tiny/infer',
      payload: { inputs: [{ name: model === 'mlp' ? 'input' : 'image', shape, datatype: 'FP32', data }] },
    });
    const struct = tfserving.metadata.backend as unknown as {
      fields: Record<string, { stringValue?: string; numberValue?: number }>;
    };
    return {
      parameters: meta.json().parameters as Record<string, string | number>,
      /** The same choice as gRPC reports it: OIP's ModelMetadata properties and TF Serving's "backend" field. */
      grpc: {
        v2: v2.properties,
        tfserving: Object.fromEntries(
          Object.entries(struct.fields).map(([k, v]) => [k, v.stringValue ?? v.numberValue]),
        ),
      },
      metrics,
      infer,
      active: tf.getBackend(),
    };
  } finally {
    await app.close();
  }
}

/** The candidates' timings as the metadata reports them. */
function timings(parameters: Record<string, string | number>): BackendTiming[] {
  const names = Object.keys(parameters)
    .map((k) => /^backend_(\w+?)_batch_1_seconds$/.exec(k)?.[1])
    .filter((n): n is string => n !== undefined);
  return names.map((backend) => ({
    backend,
    batch1Seconds: parameters[`backend_${backend}_batch_1_seconds`] as number,
    maxBatchSeconds: parameters[`backend_${backend}_batch_${MAX_BATCH}_seconds`] as number,
  }));
}

describe('the backend per model', () => {
  it.each([
    ['a dense MLP', 'mlp'],
    ['a CNN', 'cnn'],
  ] as const)('runs %s on the faster of the measured backends under auto', async (_, model) => {
    const { parameters, grpc, metrics, infer, active } = await serve(model, 'auto');
    expect(grpc.tfserving).toEqual(parameters);
    expect(grpc.v2).toEqual(Object.fromEntries(Object.entries(parameters).map(([k, v]) => [k, String(v)])));
    const measured = timings(parameters);
    expect(measured.map((t) => t.backend).sort()).toEqual(['tensorflow', 'wasm']);
    for (const t of measured) {
      expect(t.batch1Seconds).toBeGreaterThan(0);
      expect(t.maxBatchSeconds).toBeGreaterThan(0);
    }
    const chosen = fastest(measured).backend;
    expect(parameters.backend).toBe(chosen);
    expect(parameters.backend_requested).toBe('auto');
    expect(active).toBe(chosen);
    expect(sample(metrics, 'k2k_model_backend_info', { backend: chosen, requested: 'auto' })).toBe(1);
    for (const t of measured) {
      expect(sample(metrics, 'k2k_model_backend_compute_seconds', { backend: t.backend, batch: '1' })).toBe(
        t.batch1Seconds,
      );
      expect(
        sample(metrics, 'k2k_model_backend_compute_seconds', {
          backend: t.backend,
          batch: String(MAX_BATCH),
        }),
      ).toBe(t.maxBatchSeconds);
    }
    expect(infer.statusCode).toBe(200);
  });

  it.each([
    ['the MLP', 'mlp'],
    ['the CNN', 'cnn'],
  ] as const)(
    'serves %s on whichever backend K2K_BACKEND names, the slower one included',
    async (_, model) => {
      const predictions: number[][] = [];
      for (const forced of ['tensorflow', 'wasm'] as const) {
        const { parameters, metrics, infer, active } = await serve(model, forced);
        expect(parameters.backend).toBe(forced);
        expect(parameters.backend_requested).toBe(forced);
        expect(timings(parameters)).toEqual([]); // nothing to choose, nothing measured
        expect(active).toBe(forced);
        expect(sample(metrics, 'k2k_model_backend_info', { backend: forced, requested: forced })).toBe(1);
        expect(infer.statusCode).toBe(200);
        predictions.push(infer.json().outputs[0].data);
      }
      // Both backends compute the same model.
      const [native, wasm] = predictions as [number[], number[]];
      for (let i = 0; i < native.length; i++) expect(native[i]).toBeCloseTo(wasm[i] as number, 5);
    },
  );

  describe('when a candidate cannot run the model', () => {
    /** A real model on the active backend; loading it on `failsOn` throws, as a missing kernel would. */
    const loader = (failsOn: readonly string[]) => async () => {
      const backend = tf.getBackend();
      if (failsOn.includes(backend)) throw new Error(`no kernel for this model on ${backend}`);
      const model = tf.sequential({ layers: [tf.layers.dense({ units: 4, inputShape: [8] })] });
      return {
        backend,
        async timeCompute(rows: number) {
          const start = performance.now();
          tf.tidy(() => (model.predict(tf.ones([rows, 8])) as tf.Tensor).dataSync());
          return (performance.now() - start) / 1000;
        },
        dispose: () => model.dispose(),
      };
    };

    it('skips it and keeps the one that runs, saying why', async () => {
      const { model, choice } = await chooseBackend(
        'auto',
        ['tensorflow', 'wasm'],
        4,
        loader(['tensorflow']),
      );
      model.dispose();
      expect(choice.backend).toBe('wasm');
      expect(model.backend).toBe('wasm');
      expect(choice.timings.map((t) => t.backend)).toEqual(['wasm']);
      expect(choice.skipped).toEqual([
        { backend: 'tensorflow', error: 'no kernel for this model on tensorflow' },
      ]);
    });

    it('fails the load with the first candidate’s error when none can run it', async () => {
      await expect(
        chooseBackend('auto', ['tensorflow', 'wasm'], 4, loader(['tensorflow', 'wasm'])),
      ).rejects.toThrow('no kernel for this model on tensorflow');
    });
  });
});
