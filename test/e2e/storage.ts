// The object storage an e2e test's pods use: the test's own S3 server on the host, a fresh bucket,
// reachable from one namespace's pods, with its credentials in that namespace's Secret k2k-storage.
import type { ExposedPort } from '../../hack/cluster/node.ts';
import type { ObjectStore } from '../../lib/storage/index.ts';
import { freshBucket, storeFor } from '../../trainer/testkit.ts';
import { type S3Server, startS3Server } from '../harness/s3.ts';
import { apply, exposeS3, installOperator, kubectl, storageSecret } from './kube.ts';

export interface TestStorage {
  s3: S3Server;
  exposed: ExposedPort;
  bucket: string;
  /** The bucket as the test writes it from the host. */
  store: ObjectStore;
  /** `spec.storage` of a ModelDeployment or TrainingJob in the namespace. */
  spec: { endpoint: string; region: string; credentialsSecretRef: { name: string } };
  /** Deletes the namespace and stops the S3 server. */
  stop(): Promise<void>;
}

/**
 * What most e2e tests start from: a test S3 server with a fresh bucket named after
 * `bucketPrefix`, the operator installed, and `namespace` made with the storage reachable from its
 * pods and its credentials in Secret k2k-storage.
 */
export async function testStorage(namespace: string, bucketPrefix: string): Promise<TestStorage> {
  const s3 = await startS3Server();
  const env = { ...s3, region: s3.region };
  const bucket = await freshBucket(env, bucketPrefix);
  await installOperator();
  await kubectl(['create', 'namespace', namespace]);
  const exposed = await exposeS3(s3, namespace);
  await apply(storageSecret(s3, namespace));
  return {
    s3,
    exposed,
    bucket,
    store: storeFor(env),
    spec: { endpoint: exposed.url, region: s3.region, credentialsSecretRef: { name: 'k2k-storage' } },
    async stop() {
      await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => '');
      await exposed.stop();
      await s3.stop();
    },
  };
}
