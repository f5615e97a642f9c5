// For tests only: the S3 server the vitest global setup started (test/harness/s3.ts), and fresh
// buckets on it. Lives here so trainer and server tests reuse it.

import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { StorageOptions } from './options.ts';

/** Options for the test S3 server; fails loudly when the global setup did not start it. */
export function testStorageOptions(
  env: NodeJS.ProcessEnv = process.env,
): StorageOptions & Required<Pick<StorageOptions, 'endpoint' | 'region' | 'credentials'>> {
  const { K2K_TEST_S3_ENDPOINT, K2K_TEST_S3_ACCESS_KEY, K2K_TEST_S3_SECRET_KEY, K2K_TEST_S3_REGION } = env;
  if (!K2K_TEST_S3_ENDPOINT || !K2K_TEST_S3_ACCESS_KEY || !K2K_TEST_S3_SECRET_KEY) {
    throw new Error(
      'the test S3 server is not running: run vitest with K2K_SERVICES including s3 (test/harness/global-setup.ts sets K2K_TEST_S3_*)',
    );
  }
  return {
    endpoint: K2K_TEST_S3_ENDPOINT,
    region: K2K_TEST_S3_REGION || 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: K2K_TEST_S3_ACCESS_KEY, secretAccessKey: K2K_TEST_S3_SECRET_KEY },
  };
}

/** Creates a bucket with a unique name (prefix + random suffix) and returns the name. */
export async function createTestBucket(
  prefix = 'k2k-test',
  opts: StorageOptions = testStorageOptions(),
): Promise<string> {
  const bucket = `${prefix}-${randomBytes(4).toString('hex')}`.toLowerCase();
  const client = new S3Client({
    endpoint: opts.endpoint,
    region: opts.region ?? 'us-east-1',
    forcePathStyle: opts.forcePathStyle ?? true,
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return bucket;
}
