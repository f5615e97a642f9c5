// A ModelDeployment whose model cannot be loaded says why within a minute, instead of
// "ModelLoading" forever: the model server gives up after its bounded attempts, writes a coded
// termination message (api/model-load.ts), and the operator turns it into the Ready reason, with
// the URI and never the credentials.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelDeployment } from '../../api/index.ts';
import type { ExposedPort } from '../../hack/cluster/node.ts';
import { joinURI } from '../../lib/storage/index.ts';
import { writeTabularArtifact } from '../../server/test/fixtures.ts';
import { freshBucket, storeFor } from '../../trainer/testkit.ts';
import { type S3Server, startS3Server } from '../harness/s3.ts';
import {
  apply,
  exposeS3,
  installOperator,
  kubectl,
  kubectlJson,
  storageSecret,
  waitForModelDeployment,
} from './kube.ts';

const namespace = `e2e-load-failure-${Date.now().toString(36)}`;
const WITHIN_MS = 60_000;

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

describe('a ModelDeployment whose model cannot be loaded', () => {
  let s3: S3Server | undefined;
  let exposed: ExposedPort | undefined;
  let bucket = '';
  let created = 0;

  beforeAll(async () => {
    s3 = await startS3Server();
    const env = { ...s3, region: s3.region };
    bucket = await freshBucket(env, 'k2k-e2e-load');
    // A complete artifact, then one of its files changed behind the manifest's back.
    const tampered = await writeTabularArtifact(storeFor(env), `s3://${bucket}/models`, 'tampered', '1');
    await storeFor(env).put(joinURI(tampered, 'preprocessing.json'), '{}');

    await installOperator();
    await kubectl(['create', 'namespace', namespace]);
    exposed = await exposeS3(s3, namespace);
    const storage = (endpoint: string) => ({
      endpoint,
      region: s3!.region,
      credentialsSecretRef: { name: 'k2k-storage' },
    });
    const md = (name: string, artifactURI: string, endpoint: string) => ({
      apiVersion: 'k2k.dev/v1alpha1',
      kind: 'ModelDeployment',
      metadata: { name, namespace },
      spec: {
        model: { artifactURI },
        storage: storage(endpoint),
        replicas: { min: 1, max: 1 },
        resources: { cpu: '100m', memory: '512Mi' },
      },
    });
    await apply([
      storageSecret(s3, namespace),
      md('missing', `s3://${bucket}/models/missing/1/`, exposed.url),
      md('tampered', `s3://${bucket}/models/tampered/1/`, exposed.url),
      // A Service without endpoints: kube-proxy refuses connections to it at once, as a store
      // that is down (a name that does not resolve could wait on DNS timeouts instead).
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'nowhere', namespace },
        spec: { selector: { app: 'nothing-has-this-label' }, ports: [{ port: 7070 }] },
      },
      md('unreachable', `s3://${bucket}/models/tampered/1/`, `http://nowhere.${namespace}.svc:7070`),
    ]);
    created = Date.now();
  });

  afterAll(async () => {
    await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => '');
    await exposed?.stop();
    await s3?.stop();
  });

  /** The Ready condition once its reason is `reason`, within a minute of creation. */
  async function readyWith(name: string, reason: string): Promise<Condition> {
    const ready = (md: ModelDeployment) => md.status?.conditions?.find((c) => c.type === 'Ready');
    const md = await waitForModelDeployment(namespace, name, {
      what: `Ready to say ${reason}`,
      until: (md) => ready(md)?.reason === reason,
      timeoutMs: Math.max(1_000, created + WITHIN_MS - Date.now()),
    });
    return ready(md)!;
  }

  const conditionsOf = async (name: string) =>
    (
      await kubectlJson<{ status?: { conditions?: Condition[] } }>([
        'get',
        'modeldeployment',
        '-n',
        namespace,
        name,
      ])
    ).status?.conditions ?? [];

  it.each([
    {
      name: 'missing',
      reason: 'ArtifactNotFound',
      stalled: 'False',
      says: /models\/missing\/1\/.*manifest\.json/,
    },
    {
      name: 'tampered',
      reason: 'ArtifactInvalid',
      stalled: 'True',
      says: /tampered\/1\/preprocessing\.json/,
    },
    { name: 'unreachable', reason: 'StorageUnreachable', stalled: 'False', says: /nowhere\./ },
  ])('shows $reason for the $name artifact within a minute', async ({ name, reason, stalled, says }) => {
    const ready = await readyWith(name, reason);
    expect(ready.status).toBe('False');
    expect(ready.message).toMatch(says);
    expect(ready.message).not.toContain(s3!.secretAccessKey);
    const stalledCondition = (await conditionsOf(name)).find((c) => c.type === 'Stalled');
    expect(stalledCondition?.status).toBe(stalled);
  });
});
