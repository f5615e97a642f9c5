// The artifact suite of testdata/backends.ts on an s3:// bucket of the real test S3 server.
import * as tf from '@tensorflow/tfjs';
import { beforeAll } from 'vitest';
import { openStore } from '../storage/index.ts';
import { createTestBucket, testStorageOptions } from '../storage/testing.ts';
import { describeArtifactsOn } from './testdata/backends.ts';

beforeAll(async () => {
  // The plain JS backend on purpose, in prod mode: no "install the node backend" banner.
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

describeArtifactsOn('s3', async () => {
  const bucket = await createTestBucket('k2k-artifact');
  return { store: openStore(testStorageOptions()), root: `s3://${bucket}`, cleanup: async () => {} };
});
