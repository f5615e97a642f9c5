import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StorageOptions, storageOptionsFromEnv } from './index.ts';

describe('storageOptionsFromEnv', () => {
  let secretDir: string;
  let emptyDir: string;
  beforeAll(async () => {
    secretDir = await mkdtemp(path.join(os.tmpdir(), 'k2k-secret-'));
    emptyDir = await mkdtemp(path.join(os.tmpdir(), 'k2k-secret-'));
    await writeFile(path.join(secretDir, 'AWS_ACCESS_KEY_ID'), 'dirkey\n');
    await writeFile(path.join(secretDir, 'AWS_SECRET_ACCESS_KEY'), ' dirsecret \n');
    await writeFile(path.join(secretDir, 'AWS_SESSION_TOKEN'), 'dirtoken');
  });
  afterAll(async () => {
    await rm(secretDir, { recursive: true, force: true });
    await rm(emptyDir, { recursive: true, force: true });
  });

  const cases: { name: string; env: () => NodeJS.ProcessEnv; want: StorageOptions }[] = [
    { name: 'returns no settings for an empty environment', env: () => ({}), want: {} },
    {
      name: 'uses AWS_ENDPOINT_URL_S3 over AWS_ENDPOINT_URL and defaults to path-style addressing',
      env: () => ({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000', AWS_ENDPOINT_URL: 'http://other:1' }),
      want: { endpoint: 'http://127.0.0.1:9000', forcePathStyle: true },
    },
    {
      name: 'falls back to AWS_ENDPOINT_URL',
      env: () => ({ AWS_ENDPOINT_URL: 'http://127.0.0.1:9000' }),
      want: { endpoint: 'http://127.0.0.1:9000', forcePathStyle: true },
    },
    {
      name: 'lets K2K_S3_FORCE_PATH_STYLE=false turn path-style off for an endpoint',
      env: () => ({ AWS_ENDPOINT_URL_S3: 'https://s3.example.com', K2K_S3_FORCE_PATH_STYLE: 'false' }),
      want: { endpoint: 'https://s3.example.com', forcePathStyle: false },
    },
    {
      name: 'reads the region from AWS_REGION, then AWS_DEFAULT_REGION',
      env: () => ({ AWS_DEFAULT_REGION: 'eu-west-1' }),
      want: { region: 'eu-west-1' },
    },
    {
      name: 'reads credentials from the environment',
      env: () => ({ AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 't' }),
      want: { credentials: { accessKeyId: 'k', secretAccessKey: 's', sessionToken: 't' } },
    },
    {
      name: 'reads credentials from files in K2K_S3_CREDENTIALS_DIR, trimming whitespace',
      env: () => ({ K2K_S3_CREDENTIALS_DIR: secretDir }),
      want: {
        credentials: { accessKeyId: 'dirkey', secretAccessKey: 'dirsecret', sessionToken: 'dirtoken' },
      },
    },
    {
      name: 'prefers credentials in the environment over the Secret directory',
      env: () => ({ K2K_S3_CREDENTIALS_DIR: secretDir, AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' }),
      want: { credentials: { accessKeyId: 'k', secretAccessKey: 's' } },
    },
    {
      name: 'ignores an access key without a secret',
      env: () => ({ AWS_ACCESS_KEY_ID: 'k' }),
      want: {},
    },
    {
      name: 'has no credentials when the Secret directory holds none',
      env: () => ({ K2K_S3_CREDENTIALS_DIR: emptyDir }),
      want: {},
    },
  ];
  it.each(cases)('$name', ({ env, want }) => {
    expect(storageOptionsFromEnv(env())).toEqual(want);
  });

  it.each([
    {
      name: 'a K2K_S3_FORCE_PATH_STYLE that is not a boolean',
      env: { K2K_S3_FORCE_PATH_STYLE: 'sometimes' },
      field: 'K2K_S3_FORCE_PATH_STYLE="sometimes"',
    },
    {
      name: 'an endpoint that is not an http(s) URL',
      env: { AWS_ENDPOINT_URL_S3: '127.0.0.1:9000' },
      field: '"127.0.0.1:9000"',
    },
  ])('rejects $name with InvalidConfig', ({ env, field }) => {
    expect(() => storageOptionsFromEnv(env)).toThrow(
      expect.objectContaining({ code: 'InvalidConfig', message: expect.stringContaining(field) }),
    );
  });
});
