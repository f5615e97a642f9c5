// The operator ↔ trainer contract, end to end without a kubelet: the operator creates the trainer
// Job; the test plays the kubelet — it runs the real trainer with exactly the Job's environment,
// the Secret's keys mounted as files and the ServiceAccount the operator made for it — then copies
// the trainer's termination message into the pod's status. The TrainingJob must show the
// trainer's per-epoch progress while it runs and the verified artifact when it is done.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type V1EnvVar,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetRead, type TrainingJob } from '../../api/index.ts';
import { readArtifact } from '../../lib/artifact/index.ts';
import { openStore } from '../../lib/storage/index.ts';
import { createTestBucket, testStorageOptions } from '../../lib/storage/testing.ts';
import { eventually } from '../harness/eventually.ts';
import { freshNamespace, testKubeConfig } from '../harness/kube.ts';
import {
  installOperatorRBAC,
  OPERATOR_ACCOUNT,
  OPERATOR_NAMESPACE,
  type OperatorProcess,
  serviceAccountKubeconfig,
  startOperator,
} from '../harness/operator.ts';

const root = new URL('../../', import.meta.url).pathname;
const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const batch = kc.makeApiClient(BatchV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const group = { group: 'k2k.dev', version: 'v1alpha1', plural: 'trainingjobs' };
const adminKubeconfig = process.env.K2K_TEST_KUBECONFIG!;

let operator: OperatorProcess;
let namespace: string;

beforeAll(async () => {
  await installOperatorRBAC();
  namespace = await freshNamespace(kc, 'k2k-contract-');
  const operatorKubeconfig = await serviceAccountKubeconfig(
    adminKubeconfig,
    OPERATOR_NAMESPACE,
    OPERATOR_ACCOUNT,
  );
  operator = startOperator({ kubeconfig: operatorKubeconfig, identity: 'contract', namespace });
});

afterAll(async () => {
  await operator?.stop();
});

/** y = 3a - 2b + 1 plus a little noise: a regression a small MLP learns in a few epochs. */
function regressionCSV(rows: number): string {
  const lines = ['a,b,y'];
  let seed = 1;
  const rand = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  for (let i = 0; i < rows; i++) {
    const a = rand() * 4 - 2;
    const b = rand() * 4 - 2;
    lines.push(`${a.toFixed(4)},${b.toFixed(4)},${(3 * a - 2 * b + 1 + (rand() - 0.5) * 0.1).toFixed(4)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Runs the trainer as the kubelet would run the Job's container; resolves with its exit code. */
function runTrainer(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(
    process.execPath,
    [join(root, 'node_modules/tsx/dist/cli.mjs'), join(root, 'trainer/main.ts')],
    {
      env: { PATH: process.env.PATH!, HOME: tmpdir(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

describe('the operator ↔ trainer contract', () => {
  it('runs the real trainer from the Job the operator made, and records its progress, its verified artifact and the dataset objects it read', async () => {
    const s3 = testStorageOptions();
    const bucket = await createTestBucket('k2k-contract');
    const store = openStore(s3);
    const csv = regressionCSV(400);
    await store.put(`s3://${bucket}/data/linear.csv`, csv);

    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: 'storage' },
        stringData: {
          AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
        },
      },
    });
    await custom.createNamespacedCustomObject({
      ...group,
      namespace,
      body: {
        apiVersion: 'k2k.dev/v1alpha1',
        kind: 'TrainingJob',
        metadata: { name: 'linear' },
        spec: {
          model: { architecture: 'regression-mlp', task: 'regression', units: [16] },
          dataset: { format: 'csv', uri: `s3://${bucket}/data/linear.csv`, label: 'y' },
          hyperparameters: { epochs: 4, batchSize: 32, learningRate: 0.01, metrics: ['mae'] },
          output: { uri: `s3://${bucket}/models/` },
          storage: { endpoint: s3.endpoint, region: s3.region, credentialsSecretRef: { name: 'storage' } },
          backend: 'cpu',
        },
      },
    });

    // What the kubelet would get: the Job's pod template.
    const job = await eventually(() => batch.readNamespacedJob({ namespace, name: 'linear' }), {
      what: 'the Job',
    });
    const container = job.spec!.template.spec!.containers[0]!;
    const secretMount = container.volumeMounts!.find((m) => m.name === 'storage-credentials')!;
    expect(job.spec!.template.spec!.serviceAccountName).toBe('linear-trainer');

    // Mount the Secret's keys as files, as the kubelet does, and authenticate as the pod's ServiceAccount.
    const secretDir = await mkdtemp(join(tmpdir(), 'k2k-secret-'));
    await writeFile(join(secretDir, 'AWS_ACCESS_KEY_ID'), s3.credentials.accessKeyId);
    await writeFile(join(secretDir, 'AWS_SECRET_ACCESS_KEY'), s3.credentials.secretAccessKey);
    const terminationLog = join(secretDir, 'termination-log');
    const env = Object.fromEntries((container.env ?? []).map((e: V1EnvVar) => [e.name, e.value ?? '']));
    expect(env.K2K_S3_CREDENTIALS_DIR).toBe(secretMount.mountPath);
    const result = await runTrainer({
      ...env,
      K2K_S3_CREDENTIALS_DIR: secretDir,
      K2K_TERMINATION_LOG: terminationLog,
      K2K_KUBECONFIG: await serviceAccountKubeconfig(adminKubeconfig, namespace, 'linear-trainer'),
    });
    expect(result.code, result.output).toBe(0);

    // While it ran, the trainer reported its progress into the TrainingJob's status (as its own ServiceAccount).
    const progressed = (await custom.getNamespacedCustomObject({
      ...group,
      namespace,
      name: 'linear',
    })) as TrainingJob;
    expect(progressed.status?.progress).toMatchObject({ epoch: 4, epochs: 4 });
    expect(progressed.status?.progress?.history).toHaveLength(4);
    expect(progressed.status?.progress?.metrics.loss).toBeTypeOf('number');

    // The kubelet copies the termination message into the pod status; the Job completes.
    const message = await readFile(terminationLog, 'utf8');
    const pods = await eventually(
      async () => {
        const list = await core.listNamespacedPod({ namespace, labelSelector: 'k2k.dev/trainingjob=linear' });
        return list.items[0];
      },
      { what: "the Job's trainer pod" },
    );
    const now = new Date().toISOString();
    await core.patchNamespacedPodStatus(
      {
        namespace,
        name: pods.metadata!.name!,
        body: {
          status: {
            phase: 'Succeeded',
            containerStatuses: [
              {
                name: 'trainer',
                image: container.image!,
                imageID: '',
                ready: false,
                restartCount: 0,
                state: {
                  terminated: { exitCode: 0, reason: 'Completed', message, startedAt: now, finishedAt: now },
                },
              },
            ],
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );

    const done = await eventually(
      async () => {
        const tj = (await custom.getNamespacedCustomObject({
          ...group,
          namespace,
          name: 'linear',
        })) as TrainingJob;
        return tj.status?.phase === 'Succeeded' ? tj : undefined;
      },
      { what: 'the TrainingJob to succeed', timeoutMs: 60_000 },
    );
    const version = String(Math.floor(new Date(done.metadata.creationTimestamp!).getTime() / 1000));
    expect(done.status!.artifact).toMatchObject({ uri: `s3://${bucket}/models/linear/${version}/`, version });
    expect(done.status!.metrics?.loss).toBeTypeOf('number');

    // The artifact the status points at is complete and verifies, and its manifest is the one pinned.
    const artifact = await readArtifact(store, done.status!.artifact!.uri);
    expect(artifact.manifestSha256).toBe(done.status!.artifact!.manifestSha256);
    expect(artifact.manifest.trainingJob).toEqual({ namespace, name: 'linear', uid: done.metadata.uid });

    // What it was trained on, as the trainer read it, in the manifest and the TrainingJob's status.
    const trainedOn = datasetRead(`s3://${bucket}/data/linear.csv`, [
      {
        uri: `s3://${bucket}/data/linear.csv`,
        size: Buffer.byteLength(csv),
        sha256: createHash('sha256').update(csv).digest('hex'),
      },
    ]);
    expect(artifact.manifest.dataset).toEqual(trainedOn);
    expect(done.status!.dataset).toEqual(trainedOn);
  });
});
