// How the s3:// backend fails: every way of being misconfigured gets its own code and a message
// that names the URI and says what to fix.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ObjectStore, openStore, storageOptionsFromEnv } from './index.ts';
import { caught } from './testdata/backends.ts';
import { createTestBucket, testStorageOptions } from './testing.ts';

/** A loopback port nothing listens on: bound, then closed. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

const ops: { op: string; call: (s: ObjectStore, uri: string) => Promise<unknown> }[] = [
  { op: 'get', call: (s, u) => s.get(u) },
  { op: 'put', call: (s, u) => s.put(u, 'x') },
  { op: 'list', call: (s, u) => s.list(u) },
];

describe('the s3 backend', () => {
  const opts = testStorageOptions();
  let bucket: string;
  let uri: string;
  beforeAll(async () => {
    bucket = await createTestBucket('k2k-s3err');
    uri = `s3://${bucket}/obj`;
    await openStore(opts).put(uri, 'present');
  });

  it.each(ops)('fails $op with AccessDenied when the secret key is wrong', async ({ call }) => {
    const store = openStore({
      ...opts,
      credentials: { accessKeyId: opts.credentials.accessKeyId, secretAccessKey: 'wrong' },
    });
    const err = await caught(call(store, uri));
    expect(err).toMatchObject({ code: 'AccessDenied', uri, transient: false });
    expect(err.message).toMatch(
      new RegExp(`^${uri}: access denied \\(SignatureDoesNotMatch\\) at ${opts.endpoint}$`),
    );
  });

  it('fails get with AccessDenied when the access key is unknown', async () => {
    const store = openStore({ ...opts, credentials: { accessKeyId: 'nobody', secretAccessKey: 'wrong' } });
    expect(await caught(store.get(uri))).toMatchObject({ code: 'AccessDenied', uri, transient: false });
  });

  it.each(ops)(
    'fails $op with a transient Unreachable naming the endpoint when nothing listens there',
    async ({ call }) => {
      const endpoint = `http://127.0.0.1:${await closedPort()}`;
      const store = openStore({ ...opts, endpoint });
      const err = await caught(call(store, uri));
      expect(err).toMatchObject({ code: 'Unreachable', uri, transient: true });
      expect(err.message).toBe(`${uri}: cannot reach ${endpoint} (ECONNREFUSED)`);
    },
  );

  describe('against loopback sockets that misbehave', () => {
    // Real TCP servers for the network failures the S3 server cannot be asked to produce.
    const servers: net.Server[] = [];
    const sockets = new Set<net.Socket>();
    const listen = async (onConnection: (s: net.Socket) => void) => {
      const srv = net.createServer((sock) => {
        sockets.add(sock);
        sock.on('error', () => {});
        onConnection(sock);
      });
      servers.push(srv);
      await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
    };
    afterAll(async () => {
      for (const sock of sockets) sock.destroy();
      for (const srv of servers) await new Promise((resolve) => srv.close(resolve));
    });

    it.each(ops)(
      'fails $op with Unreachable (timeout) when the server accepts but never answers',
      async ({ call }) => {
        const endpoint = await listen(() => {});
        const store = openStore({ ...opts, endpoint, idleTimeoutMs: 300, maxAttempts: 2 });
        const err = await caught(call(store, uri));
        expect(err).toMatchObject({
          code: 'Unreachable',
          uri,
          transient: true,
          message: `${uri}: cannot reach ${endpoint} (timeout)`,
        });
      },
    );

    it.each(ops)(
      'fails $op with Unreachable (ECONNRESET) when the server resets connections',
      async ({ call }) => {
        const endpoint = await listen((sock) => sock.resetAndDestroy());
        const store = openStore({ ...opts, endpoint });
        const err = await caught(call(store, uri));
        expect(err).toMatchObject({
          code: 'Unreachable',
          uri,
          transient: true,
          message: `${uri}: cannot reach ${endpoint} (ECONNRESET)`,
        });
      },
    );
  });

  it.each(ops)(
    'fails $op with NoCredentials, before any request, when none are configured',
    async ({ call }) => {
      const store = openStore({ endpoint: opts.endpoint, forcePathStyle: true });
      const err = await caught(call(store, uri));
      expect(err).toMatchObject({ code: 'NoCredentials', uri, transient: false });
      expect(err.message).toBe(
        `${uri}: no S3 credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or mount a Secret at K2K_S3_CREDENTIALS_DIR`,
      );
    },
  );

  it.each(ops)('fails $op with NotFound naming a bucket that does not exist', async ({ call }) => {
    const missing = `s3://k2k-no-such-bucket-${bucket}/obj`;
    const err = await caught(call(openStore(opts), missing));
    expect(err).toMatchObject({ code: 'NotFound', uri: missing, transient: false });
    expect(err.message).toBe(`${missing}: bucket k2k-no-such-bucket-${bucket} does not exist`);
  });

  describe('configured from the environment', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-secret-'));
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('reads credentials from a mounted Secret directory', async () => {
      // Secret files written by hand often end with a newline.
      await writeFile(path.join(dir, 'AWS_ACCESS_KEY_ID'), `${opts.credentials.accessKeyId}\n`);
      await writeFile(path.join(dir, 'AWS_SECRET_ACCESS_KEY'), `${opts.credentials.secretAccessKey}\n`);
      const store = openStore(
        storageOptionsFromEnv({
          AWS_ENDPOINT_URL_S3: opts.endpoint,
          AWS_REGION: opts.region,
          K2K_S3_CREDENTIALS_DIR: dir,
        }),
      );
      expect((await store.get(uri)).toString()).toBe('present');
    });

    it('reads credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY', async () => {
      const store = openStore(
        storageOptionsFromEnv({
          AWS_ENDPOINT_URL: opts.endpoint,
          AWS_ACCESS_KEY_ID: opts.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: opts.credentials.secretAccessKey,
        }),
      );
      expect((await store.get(uri)).toString()).toBe('present');
    });
  });
});
