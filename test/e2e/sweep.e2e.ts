// A HyperparameterSweep end to end on the local node: four MNIST-MLP trials of two epochs train in
// real pods, two at a time; the two SGD trials are clearly worse after their first epoch than the
// two Adam trials, and the median rule stops them while their second epoch runs (each ends with one
// epoch reported and its pod gone); a ModelDeployment with sweepRef serves the best trial and answers.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { ExposedPort } from '../../hack/cluster/node.ts';
import { eventually } from '../harness/eventually.ts';
import type { S3Server } from '../harness/s3.ts';
import { apply, clusterPace, kubectl, kubectlJson, OPERATOR_NAMESPACE } from './kube.ts';
import { DIGIT_SIZE, digits, type MnistStorage, mnistStorage } from './mnist.ts';

const namespace = `e2e-sweep-${Date.now().toString(36)}`;
const SWEEP = 'mnist-search';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface Trial {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { hyperparameters: { optimizer?: string }; stop?: { reason: string; message?: string } };
  status?: {
    phase?: string;
    conditions?: Condition[];
    progress?: { epoch: number; epochs: number; history?: Array<{ epoch: number }> };
    artifact?: { uri: string };
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

  // 8,000 training digits: an epoch lasts seconds, long enough for a stop to land within it.
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
  const trials = async () =>
    (
      await kubectlJson<{ items: Trial[] }>([
        'get',
        'trainingjobs',
        '-n',
        namespace,
        '-l',
        `k2k.dev/sweep=${SWEEP}`,
      ])
    ).items;

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
          hyperparameters: { epochs: 2, batchSize: 32, learningRate: 0.001 },
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

    const done = await eventually(
      async () => {
        const sweep = await kubectlJson<Sweep>(['get', 'hyperparametersweep', '-n', namespace, SWEEP]);
        const finished = sweep.status?.conditions?.find(
          (c) => (c.type === 'Succeeded' || c.type === 'Failed') && c.status === 'True',
        );
        return finished ? sweep : undefined;
      },
      { what: `sweep ${SWEEP} to finish`, ...clusterPace, timeoutMs: 280_000 },
    );
    expect(done.status?.conditions?.find((c) => c.type === 'Succeeded')?.status).toBe('True');
    expect(done.status?.trialsFailed).toBe(0);
    expect(done.status?.trialsEarlyStopped).toBeGreaterThanOrEqual(1);

    const all = await trials();
    expect(all).toHaveLength(4);
    const stopped = all.filter((t) => t.status?.phase === 'Stopped');
    const succeeded = all.filter((t) => t.status?.phase === 'Succeeded');
    expect(stopped.length).toBe(done.status?.trialsEarlyStopped);
    expect(stopped.length + succeeded.length).toBe(4);
    // The two Adam trials are the best of the four: neither is stopped, both train both epochs.
    for (const t of succeeded) expect(t.status?.progress?.epoch).toBe(2);
    expect(succeeded.map((t) => t.spec.hyperparameters.optimizer)).toContain('adam');
    for (const t of stopped) {
      expect(t.spec.hyperparameters.optimizer).toBe('sgd');
      expect(t.spec.stop?.reason).toBe('EarlyStopped');
      expect(t.spec.stop?.message).toMatch(/is worse than the median/);
      expect(t.status?.conditions?.find((c) => c.type === 'Failed')).toMatchObject({
        status: 'True',
        reason: 'EarlyStopped',
      });
      // Stopped while it ran: one epoch of two reported, no artifact, and its pod gone.
      expect(t.status?.progress).toMatchObject({ epoch: 1, epochs: 2 });
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
    const md = await eventually(
      async () => {
        const got = await kubectlJson<{ status?: { artifact?: { uri: string }; conditions?: Condition[] } }>([
          'get',
          'modeldeployment',
          '-n',
          namespace,
          'best',
        ]);
        return got.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
          ? got
          : undefined;
      },
      { what: 'the ModelDeployment to be Ready', ...clusterPace, timeoutMs: 240_000 },
    );
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
});
