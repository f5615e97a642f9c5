// The model server's s3:// path end to end: an artifact on the real test S3 server, found through
// the model URI form and served with the same answers as the same model on file://.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURI, openStore } from '../../lib/storage/index.ts';
import { createTestBucket, testStorageOptions } from '../../lib/storage/testing.ts';
import { buildApp } from '../app.ts';
import { initBackend } from '../model/backend.ts';
import {
  referencePredictions,
  tabularRows,
  testSettings,
  waitReady,
  writeTabularArtifact,
} from './fixtures.ts';

const rows = tabularRows(3, 1);
let dir: string;
let tabularURI: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-server-s3-'));
  tabularURI = await writeTabularArtifact(openStore(), fileURI(dir), 'tiny', '1700000000');
});

afterAll(() => rm(dir, { recursive: true, force: true }));

const reference = (uri: string, rows: number[][]) => referencePredictions(openStore(), uri, rows);

describe('loading from the S3 server', () => {
  it('loads an artifact from s3:// and serves it', async () => {
    const opts = testStorageOptions();
    const s3 = openStore(opts);
    const bucket = await createTestBucket('k2k-server', opts);
    const uri = await writeTabularArtifact(s3, `s3://${bucket}/models`, 'tiny', '1700000000');
    // The model URI form: the latest complete version under s3://…/models/tiny/.
    const served = await buildApp({ settings: testSettings(`s3://${bucket}/models/tiny/`), store: s3 });
    try {
      await waitReady(served);
      expect(served.models.current?.uri).toBe(uri);
      const r = await served.inject({
        method: 'POST',
        url: '/v1/models/tiny:predict',
        payload: { instances: rows },
      });
      expect(r.statusCode).toBe(200);
      expect(r.json().predictions).toEqual(
        await reference(tabularURI, rows).then((w) => w.map((p) => p.map((v) => expect.closeTo(v, 5)))),
      );
    } finally {
      await served.close();
    }
  });
});
