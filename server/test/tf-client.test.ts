// TensorFlow's own tensor codec against the gRPC listener: a Predict request whose tensor is
// tf.make_tensor_proto's (tensor_content, real TensorProto) is answered with what REST answers,
// and TensorFlow's tf.make_ndarray reads the answer. Python comes from hack/keras-venv.sh (the
// Keras fixtures' environment: TensorFlow and grpcio; cached, built on a cold machine).
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURI, openStore } from '../../lib/storage/index.ts';
import { buildApp } from '../app.ts';
import { initBackend } from '../model/backend.ts';
import { tabularRows, testSettings, waitReady, writeTabularArtifact } from './fixtures.ts';

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');
const store = openStore();
let dir: string;
let app: FastifyInstance;
let address: string;
let python: string;

beforeAll(async () => {
  const venv = run('bash', [path.join(REPO, 'hack/keras-venv.sh')], { maxBuffer: 1 << 20 });
  await initBackend('wasm');
  dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-tf-client-'));
  const uri = await writeTabularArtifact(store, fileURI(dir), 'tiny', '1');
  app = await buildApp({ settings: testSettings(uri), store });
  await waitReady(app);
  address = `127.0.0.1:${await app.grpc.listen('127.0.0.1', 0)}`;
  python = (await venv).stdout.trim().split('\n').pop()!;
}, 900_000);

afterAll(async () => {
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a TensorFlow client', () => {
  it("predicts over gRPC with TensorFlow's TensorProto and reads the answer with tf.make_ndarray", async () => {
    const rows = tabularRows(4, 21);
    const { stdout } = await run(
      python,
      [path.join(HERE, 'tf-client/predict.py'), address, 'tiny', JSON.stringify(rows)],
      { env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' }, maxBuffer: 1 << 20 },
    );
    const outputs = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, number[][]>;
    const rest = await app.inject({
      method: 'POST',
      url: '/v1/models/tiny:predict',
      payload: { instances: rows },
    });
    expect(Object.keys(outputs)).toEqual(['output']);
    expect(outputs.output).toEqual(rest.json().predictions);
  }, 120_000);
});
