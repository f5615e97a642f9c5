// A trainer pod stopped mid-training on the local node, as an eviction or a lost node would stop
// it: deleted through the API, or evicted through the Eviction API. The Job replaces it without
// spending its failure budget, the new pod resumes from the newest checkpoint in the real S3
// server without training the finished epochs again, the TrainingJob succeeds with a verified
// artifact, and its status and events show the resume.
import { KubeConfig, type V1Pod, Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExposedPort } from '../../hack/cluster/node.ts';
import { readArtifact } from '../../lib/artifact/index.ts';
import type { ObjectStore } from '../../lib/storage/index.ts';
import { listCheckpoints } from '../../trainer/checkpoints.ts';
import { eventually } from '../harness/eventually.ts';
import type { S3Server } from '../harness/s3.ts';
import { apply, clusterPace, failWithClusterState, kubectl, kubectlJson } from './kube.ts';
import { type MnistStorage, mnistStorage, mnistTrainingJob } from './mnist.ts';

const namespace = `e2e-resume-${Date.now().toString(36)}`;
const EPOCHS = 6;

interface TrainingJobObject {
  metadata: { uid: string };
  status?: {
    phase?: string;
    artifact?: { uri: string; manifestSha256?: string };
    progress?: { epoch: number; epochs: number; pod?: string; resumedFromEpoch?: number };
    resumes?: Array<{ pod: string; epoch: number; time: string }>;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
}

interface LogLine {
  msg: string;
  epoch?: number;
}

/** Every version of the TrainingJob's pods the API server shows while the test runs. */
async function watchPods(label: string): Promise<{ seen: V1Pod[]; stop: () => void }> {
  const kc = new KubeConfig();
  kc.loadFromFile(process.env.K2K_E2E_KUBECONFIG!);
  const seen: V1Pod[] = [];
  const request = await new Watch(kc).watch(
    `/api/v1/namespaces/${namespace}/pods`,
    { labelSelector: label },
    (_type, pod: V1Pod) => seen.push(pod),
    () => {},
  );
  return { seen, stop: () => request.abort() };
}

const trainerExit = (pod: V1Pod) =>
  pod.status?.containerStatuses?.find((c) => c.name === 'trainer')?.state?.terminated?.exitCode;

describe('a trainer pod stopped mid-training', () => {
  let s3: S3Server | undefined;
  let exposed: ExposedPort | undefined;
  let store: ObjectStore;
  let bucket = '';
  let storage: MnistStorage | undefined;

  // 1,600 training digits: a few seconds per epoch on the node, so there is time to stop it.
  beforeAll(async () => {
    storage = await mnistStorage(namespace, 'k2k-e2e-resume', 200, 20);
    ({ s3, exposed, store, bucket } = storage);
  });

  afterAll(() => storage?.stop());

  const getTrainingJob = (name: string) =>
    kubectlJson<TrainingJobObject>(['get', 'trainingjob', '-n', namespace, name]);

  const stops = {
    'deleted through the API': (pod: string) =>
      kubectl(['delete', 'pod', '-n', namespace, pod, '--wait=false']),
    'evicted through the Eviction API': (pod: string) =>
      kubectl(
        ['create', '--raw', `/api/v1/namespaces/${namespace}/pods/${pod}/eviction`, '-f', '-'],
        JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace } }),
      ),
  };

  it.each([
    { how: 'deleted through the API' as const, name: 'deleted', version: '1', disruption: undefined },
    {
      how: 'evicted through the Eviction API' as const,
      name: 'evicted',
      version: '2',
      disruption: 'EvictionByEvictionAPI',
    },
  ])(
    'is replaced when $how, and the new pod resumes from the newest checkpoint',
    async ({ how, name, version, disruption }) => {
      if (!s3 || !exposed) throw new Error('setup failed');
      const started = Date.now();
      const artifactURI = `s3://${bucket}/models/${name}/${version}/`;
      const pods = await watchPods(`k2k.dev/trainingjob=${name}`);
      try {
        await apply(
          mnistTrainingJob(
            name,
            { namespace, bucket, endpoint: exposed.url, region: s3.region },
            {
              epochs: EPOCHS,
              output: { uri: `s3://${bucket}/models/`, version, checkpointEvery: 1 },
              resources: { cpu: '1', memory: '1Gi' },
              backoffLimit: 0,
            },
          ),
        );

        // Mid-training: at least two epochs reported (each checkpointed before it is reported), not all.
        const before = await eventually(
          async () => {
            const p = (await getTrainingJob(name)).status?.progress;
            return p && p.epoch >= 2 && p.pod ? p : undefined;
          },
          { what: `TrainingJob ${name} to report its second epoch`, ...clusterPace, timeoutMs: 180_000 },
        );
        await stops[how](before.pod!);
        expect(before.epoch).toBeLessThan(EPOCHS);
        expect(await store.exists(`${artifactURI}manifest.json`)).toBe(false);
        expect((await listCheckpoints(store, artifactURI))[0]).toBeGreaterThanOrEqual(before.epoch);

        const done = await eventually(
          async () => {
            const tj = await getTrainingJob(name);
            if (tj.status?.phase === 'Failed')
              throw new Error(`Failed: ${JSON.stringify(tj.status.conditions)}`);
            return tj.status?.phase === 'Succeeded' ? tj : undefined;
          },
          { what: `TrainingJob ${name} to succeed`, ...clusterPace, timeoutMs: 240_000 },
        );

        // The stopped pod exited on SIGTERM (143); an evicted one was marked as disrupted first.
        const stopped = pods.seen.filter((p) => p.metadata?.name === before.pod);
        expect(stopped.map(trainerExit)).toContain(143);
        const conditions = stopped.flatMap((p) => p.status?.conditions ?? []);
        const target = conditions.find((c) => c.type === 'DisruptionTarget' && c.status === 'True');
        expect(target?.reason).toBe(disruption);

        // A new pod ran, resumed from a checkpoint at or after the stopped pod's last report, and
        // trained only the epochs after it.
        const replacement = done.status?.progress?.pod;
        expect(replacement).toBeDefined();
        expect(replacement).not.toBe(before.pod);
        const resumedFrom = done.status?.progress?.resumedFromEpoch ?? 0;
        expect(resumedFrom).toBeGreaterThanOrEqual(before.epoch);
        const logs = (await kubectl(['logs', '-n', namespace, replacement!]))
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as LogLine);
        expect(logs.map((l) => l.msg)).toContain(`resumed from epoch ${resumedFrom}`);
        expect(logs.filter((l) => l.msg === 'epoch').map((l) => l.epoch)).toEqual(
          Array.from({ length: EPOCHS - resumedFrom }, (_, i) => resumedFrom + 1 + i),
        );

        // The failure budget is untouched: backoffLimit is 0 and the Job counted no failure.
        const job = await eventually(
          async () => {
            const got = await kubectlJson<{
              status?: {
                failed?: number;
                succeeded?: number;
                conditions?: Array<{ type: string; status: string }>;
              };
            }>(['get', 'job', '-n', namespace, name]);
            // The TrainingJob succeeds on the trainer's exit; the Job is marked Complete a moment later.
            return got.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')
              ? got
              : undefined;
          },
          { what: `Job ${name} to complete`, ...clusterPace },
        );
        expect(job.status?.failed ?? 0).toBe(0);
        expect(job.status?.succeeded).toBe(1);

        // A verified artifact with every epoch once; the status and an event show the resume.
        expect(done.status?.artifact?.uri).toBe(artifactURI);
        const artifact = await readArtifact(store, artifactURI);
        expect(artifact.manifestSha256).toBe(done.status?.artifact?.manifestSha256);
        expect(artifact.metrics?.history.map((h) => h.epoch)).toEqual(
          Array.from({ length: EPOCHS }, (_, i) => i + 1),
        );
        expect(done.status?.resumes).toEqual([
          expect.objectContaining({ pod: replacement, epoch: resumedFrom }),
        ]);
        const events = await kubectlJson<{
          items: Array<{ reason?: string; note?: string; regarding?: { uid?: string } }>;
        }>(['get', 'events.events.k8s.io', '-n', namespace]);
        expect(
          events.items
            .filter((e) => e.reason === 'Resumed' && e.regarding?.uid === done.metadata.uid)
            .map((e) => e.note),
        ).toEqual([
          expect.stringContaining(`Resumed from checkpoint at epoch ${resumedFrom} in pod ${replacement}`),
        ]);
        console.log(
          `[resume] ${how}: stopped at epoch ${before.epoch}, resumed from ${resumedFrom}, ${Math.round((Date.now() - started) / 1000)} s`,
        );
      } catch (err) {
        await failWithClusterState(err, namespace, 'trainingjob,job,pods');
      } finally {
        pods.stop();
      }
    },
  );
});
