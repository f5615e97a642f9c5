// Progress reports against the real API server (with the generated CRDs installed by the global
// setup): the trainer applies status.progress as field manager k2k-trainer and owns nothing else,
// and a trainer that resumed from a checkpoint in the real S3 server says so there.
import { hostname } from 'node:os';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { GROUP, VERSION } from '../api/common.ts';
import { TrainerExitCode } from '../api/trainer.ts';
import type { TrainingJob } from '../api/trainingjob.ts';
import { freshNamespace, testKubeConfig } from '../test/harness/kube.ts';
import { listCheckpoints } from './checkpoints.ts';
import { FIELD_MANAGER, progressOf } from './progress.ts';
import {
  freshBucket,
  type S3Env,
  s3FromEnv,
  storeFor,
  trainChild,
  trainerEnv,
  trainInProcess,
} from './testkit.ts';

let s3: S3Env;
let bucket: string;
let kc: KubeConfig;
let api: CustomObjectsApi;

beforeAll(async () => {
  s3 = s3FromEnv();
  bucket = await freshBucket(s3, 'k2k-progress');
  const rows = Array.from({ length: 80 }, (_, i) => `${i % 9},${(i * 7) % 13},${i % 2 ? 'odd' : 'even'}`);
  await storeFor(s3).put(`s3://${bucket}/data/parity.csv`, ['a,b,parity', ...rows].join('\n'));
  kc = testKubeConfig();
  api = kc.makeApiClient(CustomObjectsApi);
});

const spec = () => ({
  model: { task: 'classification', architecture: 'mnist-mlp', units: [8] },
  dataset: { format: 'csv', uri: `s3://${bucket}/data/parity.csv`, label: 'parity' },
  hyperparameters: { epochs: 3, batchSize: 16 },
  output: { uri: `s3://${bucket}/models`, checkpointEvery: 0 },
});

async function createJob(namespace: string, name: string): Promise<TrainingJob> {
  return (await api.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: 'trainingjobs',
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'TrainingJob', metadata: { name }, spec: spec() },
  })) as TrainingJob;
}

const getJob = async (namespace: string, name: string) =>
  (await api.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: 'trainingjobs',
    name,
  })) as TrainingJob;

describe('progress reports', () => {
  it('keeps the newest 500 epochs and leaves out non-finite metrics', () => {
    const history = Array.from({ length: 600 }, (_, i) => ({
      epoch: i + 1,
      loss: 1 / (i + 1),
      val_loss: i === 599 ? Number.NaN : 1,
    }));
    const p = progressOf(history, 1000, 'wasm', { now: new Date('2026-11-25T00:00:00Z') });
    expect(p.epoch).toBe(600);
    expect(p.history).toHaveLength(500);
    expect(p.history![0]!.epoch).toBe(101);
    expect(p.metrics).toEqual({ loss: 0.001667 }); // 1/600, to 4 significant digits
    expect(p.history!.at(-1)!.metrics).toEqual({ loss: 1 / 600 });
    expect(p.updateTime).toBe('2026-11-25T00:00:00.000Z');
  });

  it('applies status.progress of the TrainingJob as k2k-trainer, owning only that field', async () => {
    const namespace = await freshNamespace(kc, 'k2k-trainer-');
    const job = await createJob(namespace, 'parity');
    const run = await trainInProcess(
      {
        ...spec(),
        output: { ...spec().output, version: '1' },
        trainingJob: { namespace, name: 'parity', uid: job.metadata.uid },
      },
      trainerEnv(s3, { K2K_KUBECONFIG: process.env.K2K_TEST_KUBECONFIG! }),
    );
    expect(run.logs.filter((l) => l.level !== 'info')).toEqual([]);
    expect(run.code).toBe(0);
    const after = await getJob(namespace, 'parity');
    const progress = after.status?.progress;
    expect(progress?.epoch).toBe(3);
    expect(progress?.epochs).toBe(3);
    expect(progress?.history?.map((h) => h.epoch)).toEqual([1, 2, 3]);
    expect(Object.keys(progress?.metrics ?? {})).toEqual(
      expect.arrayContaining(['loss', 'acc', 'val_loss', 'val_acc']),
    );
    expect(progress?.backend).toBe(run.termination && (run.termination as { backend: string }).backend);
    // How the steps ran: one TensorFlow graph each on the native backend (trainer/graph/).
    expect(progress?.stepEngine).toEqual(
      progress?.backend === 'tensorflow' ? 'graph' : expect.stringMatching(/^eager \(.+\)$/),
    );
    const managed = after.metadata.managedFields?.filter((m) => m.manager === FIELD_MANAGER) ?? [];
    expect(managed).toHaveLength(1);
    expect(managed[0]!.subresource).toBe('status');
    expect(
      Object.keys((managed[0]!.fieldsV1 as Record<string, Record<string, unknown>>)['f:status']!),
    ).toEqual(['f:progress']);
    // The artifact name defaults to the TrainingJob's name.
    expect((run.termination as { artifact: { uri: string } }).artifact.uri).toBe(
      `s3://${bucket}/models/parity/1/`,
    );
  });

  it('a trainer stopped by SIGTERM exits 143, and the next one resumes from its checkpoint and says so', {
    timeout: 180_000,
  }, async () => {
    const namespace = await freshNamespace(kc, 'k2k-trainer-');
    const job = await createJob(namespace, 'stopped');
    const epochs = 60;
    const config = {
      ...spec(),
      model: { ...spec().model, name: 'stopped' },
      hyperparameters: { ...spec().hyperparameters, epochs },
      output: { ...spec().output, version: '3', checkpointEvery: 1 },
      trainingJob: { namespace, name: 'stopped', uid: job.metadata.uid },
    };
    const env = trainerEnv(s3, { K2K_KUBECONFIG: process.env.K2K_TEST_KUBECONFIG! });
    const uri = `s3://${bucket}/models/stopped/3/`;

    const first = trainChild(config, env);
    await first.waitForLog((l) => l.msg === 'checkpoint written' && Number(l.epoch) >= 2);
    first.kill('SIGTERM');
    const stopped = await first.done;
    expect(stopped.code).toBe(TrainerExitCode.Stopped);
    expect(stopped.termination).toMatchObject({ error: { code: 'Stopped', message: /SIGTERM/ } });
    // Stopped mid-training: checkpoints and no artifact.
    expect(await storeFor(s3).exists(`${uri}manifest.json`)).toBe(false);
    const checkpointed = (await listCheckpoints(storeFor(s3), uri))[0]!;
    expect(checkpointed).toBeGreaterThanOrEqual(2);
    expect(checkpointed).toBeLessThan(epochs);
    const trainedBefore = stopped.logs.filter((l) => l.msg === 'epoch').map((l) => Number(l.epoch));

    const second = await trainChild(config, env).done;
    expect(second.code).toBe(0);
    const trainedAfter = second.logs.filter((l) => l.msg === 'epoch').map((l) => Number(l.epoch));
    expect(trainedAfter[0]).toBe(checkpointed + 1);
    expect(trainedAfter.at(-1)).toBe(epochs);
    // No epoch up to the checkpoint was trained twice.
    expect(trainedBefore.filter((e) => e <= checkpointed)).toEqual(
      Array.from({ length: checkpointed }, (_, i) => i + 1),
    );
    const progress = (await getJob(namespace, 'stopped')).status?.progress;
    expect(progress).toMatchObject({ epoch: epochs, resumedFromEpoch: checkpointed, pod: hostname() });
    expect(progress?.history?.map((h) => h.epoch)).toEqual(Array.from({ length: epochs }, (_, i) => i + 1));
  });

  it('warns once and still trains when the TrainingJob cannot be updated', async () => {
    const namespace = await freshNamespace(kc, 'k2k-trainer-');
    const run = await trainInProcess(
      {
        ...spec(),
        model: { ...spec().model, name: 'orphan' },
        output: { ...spec().output, version: '2' },
        trainingJob: { namespace, name: 'does-not-exist' },
      },
      trainerEnv(s3, { K2K_KUBECONFIG: process.env.K2K_TEST_KUBECONFIG! }),
    );
    expect(run.code).toBe(0);
    const warnings = run.logs.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toBe('progress report failed; training continues');
    expect(warnings[0]!.error).toMatch(/HTTP 404/);
  });
});
