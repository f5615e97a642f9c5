// A HyperparameterSweep end to end on the local node: four MNIST-MLP trials of four epochs train in
// real pods, two at a time; the two SGD trials are clearly worse after their first epoch than the
// two Adam trials, and the median rule stops them while they run (each ends with fewer epochs
// reported than asked, no artifact and its pod gone); a ModelDeployment with sweepRef serves the
// best trial and answers. Four epochs, not two: on the graph step (ADR 0040) an epoch of these
// 8,000 digits takes about two seconds, less than a stop can take to reach the pod.
// Then an ASHA sweep: three one-epoch trials, and the best of them promoted to three epochs by a
// trial that continues its artifact (spec.resumeFrom) and trains only epochs 2 and 3.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { ExposedPort } from '../../hack/cluster/node.ts';
import { readArtifact } from '../../lib/artifact/index.ts';
import { eventually } from '../harness/eventually.ts';
import type { S3Server } from '../harness/s3.ts';
import {
  apply,
  clusterPace,
  kubectl,
  kubectlJson,
  OPERATOR_NAMESPACE,
  waitForModelDeployment,
} from './kube.ts';
import { DIGIT_SIZE, digits, type MnistStorage, mnistStorage } from './mnist.ts';

const namespace = `e2e-sweep-${Date.now().toString(36)}`;
const SWEEP = 'mnist-search';
const TRIAL_EPOCHS = 4;

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface Trial {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: {
    hyperparameters: { optimizer?: string; epochs?: number; learningRate?: number };
    stop?: { reason: string; message?: string };
    resumeFrom?: { artifactURI: string; manifestSha256?: string };
  };
  status?: {
    phase?: string;
    conditions?: Condition[];
    progress?: {
      epoch: number;
      epochs: number;
      continuedFromEpoch?: number;
      history?: Array<{ epoch: number; metrics: Record<string, number> }>;
    };
    artifact?: { uri: string; manifestSha256?: string };
    metrics?: Record<string, number>;
  };
}
interface Sweep {
  status?: {
    conditions?: Condition[];
    trialsSucceeded?: number;
    trialsEarlyStopped?: number;
    trialsFailed?: number;
    bestTrial?: { name: string; artifact?: { uri: string } };
  };
}

/** What was happening, printed when a case fails. */
async function diagnostics(): Promise<string> {
  const describe = await kubectl([
    'describe',
    'hyperparametersweeps,trainingjobs,jobs,modeldeployments,pods',
    '-n',
    namespace,
  ]).catch(String);
  const events = await kubectl(['get', 'events', '-n', namespace, '--sort-by=.lastTimestamp']).catch(String);
  const logs = await kubectl([
    'logs',
    '-n',
    OPERATOR_NAMESPACE,
    'deployment/k2k-operator',
    '--tail=80',
  ]).catch(String);
  return `${describe}\nevents:\n${events}\noperator logs:\n${logs}`;
}

describe('a HyperparameterSweep on the local node', () => {
  let s3: S3Server | undefined;
  let exposed: ExposedPort | undefined;
  let bucket = '';
  let best = '';
  let mnist: MnistStorage | undefined;

  // 8,000 training digits: an epoch lasts about two seconds, and a trial four epochs, long enough
  // for a stop to land while it runs.
  beforeAll(async () => {
    mnist = await mnistStorage(namespace, 'k2k-e2e-sweep', 800, 50);
    ({ s3, exposed, bucket } = mnist);
  });

  afterAll(() => mnist?.stop());

  const storage = () => ({
    endpoint: exposed!.url,
    region: s3!.region,
    credentialsSecretRef: { name: 'k2k-storage' },
  });
  const trials = async (sweep = SWEEP) =>
    (
      await kubectlJson<{ items: Trial[] }>([
        'get',
        'trainingjobs',
        '-n',
        namespace,
        '-l',
        `k2k.dev/sweep=${sweep}`,
      ])
    ).items;
  const finishedSweep = (name: string) =>
    eventually(
      async () => {
        const sweep = await kubectlJson<Sweep>(['get', 'hyperparametersweep', '-n', namespace, name]);
        const finished = sweep.status?.conditions?.find(
          (c) => (c.type === 'Succeeded' || c.type === 'Failed') && c.status === 'True',
        );
        return finished ? sweep : undefined;
      },
      { what: `sweep ${name} to finish`, ...clusterPace, timeoutMs: 280_000 },
    );

  it('trains four trials in real pods and stops the clearly worse ones while they run', async () => {
    if (!s3 || !exposed) throw new Error('setup failed');
    onTestFailed(async () => console.error(await diagnostics()));
    await apply({
      apiVersion: 'k2k.dev/v1alpha1',
      kind: 'HyperparameterSweep',
      metadata: { name: SWEEP, namespace },
      spec: {
        trialTemplate: {
          // One model name: every trial writes s3://<bucket>/models/mnist-search/<its version>/.
          model: { architecture: 'mnist-mlp', name: SWEEP },
          dataset: { format: 'mnist-idx', uri: `s3://${bucket}/mnist/` },
          hyperparameters: { epochs: TRIAL_EPOCHS, batchSize: 32, learningRate: 0.001 },
          output: { uri: `s3://${bucket}/models/` },
          storage: storage(),
          resources: { cpu: '500m', memory: '1Gi' },
        },
        // Grid order: adam 0.001, adam 0.003, then sgd 0.001 and sgd 0.003, which start only once an
        // Adam trial finished, so their first epoch is compared with two finished Adam trials.
        algorithm: 'grid',
        parameters: [
          { name: 'optimizer', type: 'categorical', values: ['adam', 'sgd'] },
          { name: 'learningRate', type: 'double', min: 0.001, max: 0.003, scale: 'log', points: 2 },
        ],
        objective: { metric: 'val_loss', goal: 'minimize' },
        maxTrials: 4,
        parallelTrials: 2,
        earlyStopping: { rule: 'median', minEpochs: 1, minTrials: 2 },
      },
    });

    const done = await finishedSweep(SWEEP);
    expect(done.status?.conditions?.find((c) => c.type === 'Succeeded')?.status).toBe('True');
    expect(done.status?.trialsFailed).toBe(0);
    expect(done.status?.trialsEarlyStopped).toBeGreaterThanOrEqual(1);

    const all = await trials();
    expect(all).toHaveLength(4);
    const stopped = all.filter((t) => t.status?.phase === 'Stopped');
    const succeeded = all.filter((t) => t.status?.phase === 'Succeeded');
    expect(stopped.length).toBe(done.status?.trialsEarlyStopped);
    expect(stopped.length + succeeded.length).toBe(4);
    // The two Adam trials are the best of the four: neither is stopped, both train every epoch.
    for (const t of succeeded) expect(t.status?.progress?.epoch).toBe(TRIAL_EPOCHS);
    expect(succeeded.map((t) => t.spec.hyperparameters.optimizer)).toContain('adam');
    for (const t of stopped) {
      expect(t.spec.hyperparameters.optimizer).toBe('sgd');
      expect(t.spec.stop?.reason).toBe('EarlyStopped');
      expect(t.spec.stop?.message).toMatch(/is worse than the median/);
      expect(t.status?.conditions?.find((c) => c.type === 'Failed')).toMatchObject({
        status: 'True',
        reason: 'EarlyStopped',
      });
      // Stopped while it ran: at least the epoch the rule judged, fewer than asked, no artifact,
      // and its pod gone.
      expect(t.status?.progress?.epochs).toBe(TRIAL_EPOCHS);
      expect(t.status?.progress?.epoch).toBeGreaterThanOrEqual(1);
      expect(t.status?.progress?.epoch).toBeLessThan(TRIAL_EPOCHS);
      expect(t.status?.artifact).toBeUndefined();
      await eventually(
        async () =>
          (
            await kubectlJson<{ items: unknown[] }>([
              'get',
              'pods',
              '-n',
              namespace,
              '-l',
              `k2k.dev/trainingjob=${t.metadata.name}`,
            ])
          ).items.length === 0 || undefined,
        { what: `the pod of stopped trial ${t.metadata.name} to be removed`, ...clusterPace },
      );
    }
    best = done.status!.bestTrial!.name;
    expect(succeeded.map((t) => t.metadata.name)).toContain(best);
    expect(done.status?.bestTrial?.artifact?.uri).toMatch(new RegExp(`^s3://${bucket}/models/${SWEEP}/`));
  });

  it('serves the best trial through a ModelDeployment with sweepRef, which answers a prediction', async () => {
    if (!s3 || !exposed || !best) throw new Error('the sweep test did not produce a best trial');
    onTestFailed(async () => console.error(await diagnostics()));
    await apply({
      apiVersion: 'k2k.dev/v1alpha1',
      kind: 'ModelDeployment',
      metadata: { name: 'best', namespace },
      spec: {
        model: { sweepRef: { name: SWEEP } },
        storage: storage(),
        replicas: { min: 1, max: 1 },
        resources: { cpu: '250m', memory: '512Mi' },
      },
    });
    const md = await waitForModelDeployment(namespace, 'best', { timeoutMs: 240_000 });
    const bestTrial = (await trials()).find((t) => t.metadata.name === best)!;
    expect(md.status?.artifact?.uri).toBe(bestTrial.status?.artifact?.uri);

    const ip = (
      await kubectl(['get', 'service', '-n', namespace, 'best', '-o', 'jsonpath={.spec.clusterIP}'])
    ).trim();
    const digit = digits(1, 855);
    const response = await eventually(
      async () => {
        const resp = await fetch(`http://${ip}/v2/models/${SWEEP}/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            inputs: [
              {
                name: 'input',
                shape: [10, 28, 28, 1],
                datatype: 'FP32',
                data: Array.from(digit.images.subarray(0, 10 * DIGIT_SIZE)),
              },
            ],
          }),
          signal: AbortSignal.timeout(5000),
        });
        return resp.ok
          ? ((await resp.json()) as { outputs: Array<{ shape: number[]; data: number[] }> })
          : undefined;
      },
      { what: 'a prediction', ...clusterPace },
    );
    expect(response.outputs[0]!.shape).toEqual([10, 10]);
    // One digit of each class it never saw: the best trial knows most of them.
    const predicted = Array.from({ length: 10 }, (_, i) => {
      const p = response.outputs[0]!.data.slice(i * 10, i * 10 + 10);
      return p.indexOf(Math.max(...p));
    });
    const right = predicted.filter((p, i) => p === digit.labels[i]).length;
    expect(right, `predicted ${predicted.join(',')}`).toBeGreaterThanOrEqual(6);
  });

  it('promotes the best one-epoch ASHA trial by continuing its artifact: the promotion trains epochs 2 and 3 only', async () => {
    if (!s3 || !exposed || !mnist) throw new Error('setup failed');
    onTestFailed(async () => console.error(await diagnostics()));
    const HALVING = 'mnist-halving';
    await apply({
      apiVersion: 'k2k.dev/v1alpha1',
      kind: 'HyperparameterSweep',
      metadata: { name: HALVING, namespace },
      spec: {
        trialTemplate: {
          model: { architecture: 'mnist-mlp', name: HALVING },
          dataset: { format: 'mnist-idx', uri: `s3://${bucket}/mnist/` },
          hyperparameters: { batchSize: 32 },
          output: { uri: `s3://${bucket}/models/` },
          storage: storage(),
          resources: { cpu: '500m', memory: '1Gi' },
        },
        // One at a time: three configurations at 1 epoch, then the best third of them (one) to 3.
        algorithm: 'asha',
        asha: { minEpochs: 1, maxEpochs: 3, reductionFactor: 3 },
        parameters: [{ name: 'learningRate', type: 'double', min: 0.0003, max: 0.003, scale: 'log' }],
        objective: { metric: 'val_loss', goal: 'minimize' },
        maxTrials: 4,
        parallelTrials: 1,
      },
    });
    const done = await finishedSweep(HALVING);
    expect(done.status?.conditions?.find((c) => c.type === 'Succeeded')?.status).toBe('True');
    expect(done.status?.trialsSucceeded).toBe(4);

    const byName = new Map((await trials(HALVING)).map((t) => [t.metadata.name, t]));
    const rung0 = [0, 1, 2].map((i) => byName.get(`${HALVING}-${i}`)!);
    for (const t of rung0) {
      expect(t.spec.resumeFrom).toBeUndefined();
      expect(t.status?.progress).toMatchObject({ epoch: 1, epochs: 1 });
    }
    const bestOfRung0 = [...rung0].sort(
      (a, b) => a.status!.metrics!.val_loss! - b.status!.metrics!.val_loss!,
    )[0]!;
    const promoted = byName.get(`${HALVING}-3`)!;
    expect(promoted.metadata.annotations?.['k2k.dev/trial-resumes']).toBe(
      bestOfRung0.metadata.name.split('-').pop(),
    );
    expect(promoted.spec.hyperparameters).toMatchObject({
      epochs: 3,
      learningRate: bestOfRung0.spec.hyperparameters.learningRate,
    });
    expect(promoted.spec.resumeFrom).toEqual({
      artifactURI: bestOfRung0.status!.artifact!.uri,
      manifestSha256: bestOfRung0.status!.artifact!.manifestSha256,
    });
    // It reported epochs 1 (the source's) to 3 and trained 2 and 3 itself.
    expect(promoted.status?.progress).toMatchObject({ epoch: 3, epochs: 3, continuedFromEpoch: 1 });
    expect(promoted.status?.progress?.history?.map((h) => h.epoch)).toEqual([1, 2, 3]);
    expect(promoted.status!.progress!.history![0]!.metrics).toEqual(
      bestOfRung0.status!.progress!.history![0]!.metrics,
    );
    const artifact = await readArtifact(mnist.store, promoted.status!.artifact!.uri);
    expect(artifact.manifest.continuedFrom).toEqual({
      uri: bestOfRung0.status!.artifact!.uri,
      manifestSha256: bestOfRung0.status!.artifact!.manifestSha256,
      epoch: 1,
    });
    // Continued, not restarted: the loss of its first own epoch is below the source's only one.
    const loss = (e: number) => artifact.metrics!.history.find((h) => h.epoch === e)!.loss!;
    expect(loss(2)).toBeLessThan(loss(1));
    expect(done.status?.bestTrial?.name).toBe(
      [...byName.values()].sort((a, b) => a.status!.metrics!.val_loss! - b.status!.metrics!.val_loss!)[0]!
        .metadata.name,
    );
  });
});
