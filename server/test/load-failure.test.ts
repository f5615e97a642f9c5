// A model that cannot be loaded ends the real process with a coded termination message, which
// the operator shows as the ModelDeployment's Ready reason (api/model-load.ts); a failure that
// heals within the attempts ends in a serving model instead.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelLoadFailure, ServerExitCode } from '../../api/index.ts';
import { fileURI, joinURI, openStore } from '../../lib/storage/index.ts';
import { buildApp } from '../app.ts';
import { initBackend } from '../model/backend.ts';
import { testSettings, writeTabularArtifact } from './fixtures.ts';
import { spawnServer } from './process.ts';

const store = openStore();
const SECRET = 'never-in-a-message-0123456789';
let dir: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-load-failure-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Rewrites one file of an artifact and its sha256 in manifest.json, so only the content is wrong. */
async function replaceConsistently(uri: string, file: string, content: string): Promise<void> {
  await store.put(joinURI(uri, file), content);
  const manifest = JSON.parse((await store.get(joinURI(uri, 'manifest.json'))).toString());
  for (const f of manifest.files) {
    if (f.path === file) {
      f.sha256 = createHash('sha256').update(content).digest('hex');
      f.size = Buffer.byteLength(content);
    }
  }
  await store.put(joinURI(uri, 'manifest.json'), JSON.stringify(manifest));
}

interface Case {
  name: string;
  /** Returns the model URI and extra environment. */
  setup(): Promise<{ uri: string; env?: Record<string, string> }>;
  code: string;
  exit: number;
  attempts: number;
  message: RegExp;
}

const cases: Case[] = [
  {
    name: 'a missing artifact ends in ArtifactNotFound after every attempt',
    setup: async () => ({ uri: joinURI(fileURI(dir), 'missing', '7/') }),
    code: ModelLoadFailure.ArtifactNotFound,
    exit: ServerExitCode.ModelUnavailable,
    attempts: 3,
    message: /missing\/7\/.*no manifest\.json/,
  },
  {
    name: 'a model URI without a complete version ends in ArtifactNotFound',
    setup: async () => ({ uri: joinURI(fileURI(dir), 'empty/') }),
    code: ModelLoadFailure.ArtifactNotFound,
    exit: ServerExitCode.ModelUnavailable,
    attempts: 3,
    message: /empty\/.*no complete version/,
  },
  {
    name: 'a tampered artifact ends in ArtifactInvalid after one attempt',
    setup: async () => {
      const uri = await writeTabularArtifact(store, fileURI(dir), 'tampered', '1');
      await store.put(joinURI(uri, 'preprocessing.json'), '{}');
      return { uri };
    },
    code: ModelLoadFailure.ArtifactInvalid,
    exit: ServerExitCode.ModelUnusable,
    attempts: 1,
    message: /tampered\/1\/preprocessing\.json.*does not match manifest\.json/,
  },
  {
    name: 'a model TensorFlow.js cannot build ends in ModelLoadFailed after one attempt',
    setup: async () => {
      const uri = await writeTabularArtifact(store, fileURI(dir), 'unloadable', '1');
      const model = JSON.parse((await store.get(joinURI(uri, 'model.json'))).toString());
      model.modelTopology.config.layers[0].class_name = 'NoSuchLayer';
      await replaceConsistently(uri, 'model.json', JSON.stringify(model));
      return { uri };
    },
    code: ModelLoadFailure.ModelLoadFailed,
    exit: ServerExitCode.ModelUnusable,
    attempts: 1,
    message: /unloadable\/1\/.*NoSuchLayer/,
  },
  {
    name: 'an object store that refuses connections ends in StorageUnreachable, without credentials',
    setup: async () => ({
      uri: 's3://models/tiny/1/',
      env: {
        AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${await closedPort()}`,
        AWS_REGION: 'us-east-1',
        K2K_S3_FORCE_PATH_STYLE: 'true',
        AWS_ACCESS_KEY_ID: 'k2k-test',
        AWS_SECRET_ACCESS_KEY: SECRET,
      },
    }),
    code: ModelLoadFailure.StorageUnreachable,
    exit: ServerExitCode.ModelUnavailable,
    attempts: 3,
    message: /s3:\/\/models\/tiny\/1\/.*127\.0\.0\.1/,
  },
];

describe('a model that cannot be loaded', () => {
  it.each(cases)('$name', async (c) => {
    const { uri, env } = await c.setup();
    const termination = path.join(dir, `termination-${c.code}-${Math.random().toString(36).slice(2)}`);
    const server = spawnServer({
      K2K_MODEL_URI: uri,
      K2K_MODEL_NAME: 'tiny',
      K2K_BACKEND: 'wasm',
      K2K_LOAD_ATTEMPTS: '3',
      K2K_LOAD_RETRY_SECONDS: '0.05',
      K2K_TERMINATION_LOG: termination,
      ...env,
    });
    try {
      const exit = await server.exit;
      const logs = server.logs.join('');
      expect(exit, logs).toBe(c.exit);
      const message = JSON.parse(await readFile(termination, 'utf8'));
      expect(message.error.code, logs).toBe(c.code);
      expect(message.error.message).toMatch(c.message);
      expect(message.error.message).not.toContain(SECRET);
      expect(logs).not.toContain(SECRET);
      // The attempts really happened (and a permanent failure was not retried).
      expect(logs.match(/"msg":"model load failed"/g)).toHaveLength(c.attempts);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});

describe('a failure that heals', () => {
  it('serves the model once the artifact appears between attempts, and never gives up', async () => {
    const root = fileURI(dir);
    const gaveUp: string[] = [];
    const app = await buildApp({
      settings: testSettings(joinURI(root, 'late/'), {
        modelName: 'late',
        loadAttempts: 20,
        loadRetrySeconds: 0.1,
      }),
      store,
      onLoadFailure: (f) => gaveUp.push(f.code),
    });
    try {
      // The first attempt failed before the artifact exists...
      for (let i = 0; i < 200 && app.models.lastFailure === undefined; i++)
        await new Promise((r) => setTimeout(r, 25));
      expect(app.models.lastFailure?.code).toBe(ModelLoadFailure.ArtifactNotFound);
      const readyz = await app.inject({ method: 'GET', url: '/readyz' });
      expect([readyz.statusCode, readyz.json().error]).toEqual([503, expect.stringContaining('late/')]);
      // ...and a later one loads it.
      await writeTabularArtifact(store, root, 'late', '3');
      for (let i = 0; i < 400 && !app.models.ready; i++) await new Promise((r) => setTimeout(r, 25));
      expect(app.models.current?.version).toBe('3');
      expect(app.models.lastFailure).toBeUndefined();
      expect(gaveUp).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
