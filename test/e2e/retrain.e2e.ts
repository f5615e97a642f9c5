// The drift → retrain → canary → promote loop on the local cluster, with the local Prometheus
// (config/local runs the operator with --prometheus-url): an MNIST model trained on normal digits
// is served with spec.canary and spec.retraining; clients switch to inverted digits (255 - x) and
// the data pipeline puts inverted digits under the retraining dataset prefix. The operator sees
// Drifting, retrains once driftForSeconds passed, rolls the new model out as a canary judged from
// Prometheus, promotes it, and the drift clears under the same inverted digits. Tiny data, two
// epochs and short driftForSeconds/intervalSeconds keep it to a few minutes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelDeployment } from '../../api/index.ts';
import { apply, isReady, kubectl, kubectlJson, waitForModelDeployment } from './kube.ts';
import {
  digits,
  inverted,
  type MnistStorage,
  mnistStorage,
  mnistTrainingJob,
  predictDigits,
  putDigits,
  servedModelURL,
} from './mnist.ts';

const namespace = `e2e-retrain-${Date.now().toString(36)}`;
const MODEL = 'retrain-mnist';
const WINDOW = 200;
const getMD = () => kubectlJson<ModelDeployment>(['get', 'modeldeployment', '-n', namespace, MODEL]);

/** Waits until the ModelDeployment satisfies `accept`; on a timeout shows the cluster's state. */
const waitFor = (what: string, accept: (md: ModelDeployment) => boolean, timeoutMs: number) =>
  waitForModelDeployment(namespace, MODEL, {
    what,
    until: accept,
    timeoutMs,
    intervalMs: 2_000,
    describe: 'modeldeployment,trainingjob,pods',
  });

describe('drift → retrain → canary → promote, live', () => {
  let mnist: MnistStorage | undefined;
  let server = '';

  beforeAll(async () => {
    mnist = await mnistStorage(namespace, 'k2k-e2e-retrain', 60, 20);
    const { bucket, exposed, s3 } = mnist;
    const storage = { endpoint: exposed.url, region: s3.region };
    const job = mnistTrainingJob(MODEL, { namespace, bucket, ...storage });
    await apply([
      job,
      {
        apiVersion: 'k2k.dev/v1alpha1',
        kind: 'ModelDeployment',
        metadata: { name: MODEL, namespace },
        spec: {
          model: { trainingJobRef: { name: MODEL } },
          storage: { ...storage, credentialsSecretRef: { name: 'k2k-storage' } },
          replicas: { min: 1, max: 1 },
          resources: { cpu: '250m', memory: '512Mi' },
          drift: { windowSize: WINDOW, minSamples: WINDOW / 2 },
          monitoring: { interval: '5s' },
          // The retrained model is meant to answer differently on the shifted inputs: the
          // prediction-drift check between the tracks is loosened, the error and latency checks hold.
          canary: {
            steps: [25, 50],
            intervalSeconds: 20,
            analysis: { minRequests: 10, maxPredictionDrift: 1000, maxP99LatencySeconds: 5 },
          },
          retraining: {
            template: { ...job.spec, dataset: { format: 'mnist-idx', uri: `s3://${bucket}/mnist-recent/` } },
            driftForSeconds: 10,
            cooldownSeconds: 600,
          },
        },
      },
    ]);
    await waitFor('Ready', isReady, 420_000);
    server = await servedModelURL(namespace, MODEL);
  });

  afterAll(() => mnist?.stop());

  it('retrains a drifting model on the new data, canaries and promotes it, and the drift clears', async () => {
    const original = (await getMD()).status?.artifact?.uri;
    // The data pipeline's newest data: inverted digits, as the clients now send them.
    await putDigits(mnist!.store, `s3://${mnist!.bucket}/mnist-recent/`, 60, 20, inverted);
    await predictDigits(server, MODEL, inverted(digits(WINDOW / 10, 90).images));

    const started = await waitFor(
      'a retrain running',
      (md) => md.status?.retraining?.current !== undefined,
      180_000,
    );
    expect(started.status?.retraining?.current?.name).toBe(`${MODEL}-retrain-1`);
    expect(started.status?.conditions?.find((c) => c.type === 'Drifting')?.status).toBe('True');

    // Clients keep sending inverted digits; the stable pods forward the canary's share.
    let sending = true;
    const traffic = (async () => {
      let offset = 0;
      while (sending) {
        // One digit per request: the split counts requests, and the analysis wants minRequests.
        await predictDigits(server, MODEL, inverted(digits(2, 100 + (offset++ % 40)).images), 1).catch(
          () => undefined,
        );
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    try {
      const canary = await waitFor(
        'the retrained model as the canary',
        (md) => md.status?.retraining?.last?.outcome === 'Succeeded' && md.status.canary !== undefined,
        600_000,
      );
      const retrained = canary.status!.retraining!.last!.artifact!.uri;
      expect(retrained).not.toBe(original);
      expect(canary.status?.canary?.artifact.uri).toBe(retrained);
      // What it was trained on: the trainer's record of the inverted digits under mnist-recent/,
      // in the TrainingJob's status and, as a digest, in the ModelDeployment's.
      interface Read {
        uri: string;
        objects: number;
        sha256: string;
        files?: { uri: string; size: number }[];
      }
      const trainedOn = await kubectlJson<{ status?: { dataset?: Read } }>([
        'get',
        'trainingjob',
        '-n',
        namespace,
        canary.status!.retraining!.last!.name,
      ]);
      const recent = `s3://${mnist!.bucket}/mnist-recent/`;
      expect(trainedOn.status?.dataset).toMatchObject({ uri: recent, objects: 4 });
      expect(trainedOn.status?.dataset?.files?.map((f) => f.uri)).toEqual(
        [
          't10k-images-idx3-ubyte',
          't10k-labels-idx1-ubyte',
          'train-images-idx3-ubyte',
          'train-labels-idx1-ubyte',
        ].map((name) => `${recent}${name}`),
      );
      const lineage = await kubectlJson<{ status?: { retraining?: { last?: { dataset?: Read } } } }>([
        'get',
        'modeldeployment',
        '-n',
        namespace,
        MODEL,
      ]);
      expect(lineage.status?.retraining?.last?.dataset?.sha256).toBe(trainedOn.status?.dataset?.sha256);

      const promoted = await waitFor(
        'the retrained model promoted',
        (md) => md.status?.canary?.phase === 'Promoted' || md.status?.canary?.phase === 'RolledBack',
        420_000,
      );
      expect(promoted.status?.canary?.phase).toBe('Promoted');
      expect(promoted.status?.artifact?.uri).toBe(retrained);
      await waitFor(
        'the canary verdict recorded',
        (md) => md.status?.retraining?.last?.canary === 'Promoted',
        60_000,
      );
    } finally {
      sending = false;
      await traffic;
    }

    // The same inverted digits no longer drift from what the served model was trained on.
    await predictDigits(server, MODEL, inverted(digits(WINDOW / 10, 130).images));
    const cleared = await waitFor(
      'Drifting=False under inverted digits',
      (md) => md.status?.conditions?.some((c) => c.type === 'Drifting' && c.status === 'False') ?? false,
      180_000,
    );
    expect(cleared.status?.retraining?.count).toBe(1);
    const reasons = (
      await kubectl([
        'get',
        'events',
        '-n',
        namespace,
        '--field-selector',
        `involvedObject.name=${MODEL}`,
        '-o',
        'jsonpath={.items[*].reason}',
      ])
    ).split(' ');
    expect(reasons).toEqual(
      expect.arrayContaining([
        'RetrainStarted',
        'RetrainSucceeded',
        'CanaryStarted',
        'CanaryPromoted',
        'RetrainCanaryFinished',
      ]),
    );
  }, 1_500_000);
});
