// The live drift path end to end: a ModelDeployment serving an MNIST model trained on the local
// node, scraped by the local Prometheus through the operator's ServiceMonitor, judged by the
// operator (config/local runs it with --prometheus-url) into the Drifting condition. Normal digits
// → Drifting=False; inverted digits (255 - x) → Drifting=True naming the image summaries that
// drift, and the K2KFeatureDrift alert active in Prometheus; normal digits again → Drifting=False.
// A small drift window (spec.drift) keeps each phase to one window of requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DriftingReason } from '../../api/monitoring.ts';
import { eventually } from '../harness/eventually.ts';
import { apply, clusterPace, failWithClusterState, kubectlJson } from './kube.ts';
import {
  digits,
  inverted,
  type MnistStorage,
  mnistStorage,
  mnistTrainingJob,
  predictDigits,
  servedModelURL,
} from './mnist.ts';
import { localPrometheus, type PrometheusAPI } from './prometheus.ts';

const namespace = `e2e-drift-${Date.now().toString(36)}`;
const MODEL = 'drift-mnist';
/** Rows per phase: the whole window, so that each phase replaces what the previous one sent. */
const WINDOW = 200;
/** Scrape every 5 s + the operator asks Prometheus every 15 s (config/local): well under a minute. */
const driftPace = { ...clusterPace, timeoutMs: 120_000, intervalMs: 2_000 };

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

interface Alert {
  labels: Record<string, string>;
  state: 'pending' | 'firing' | 'inactive';
}

describe('drift of a served MNIST model, live', () => {
  let mnist: MnistStorage | undefined;
  let prometheus: PrometheusAPI | undefined;
  let server = '';

  const drifting = async () =>
    (
      await kubectlJson<{ status?: { conditions?: Condition[] } }>([
        'get',
        'modeldeployment',
        '-n',
        namespace,
        MODEL,
      ])
    ).status?.conditions?.find((c) => c.type === 'Drifting');

  /** Sends the rows, then waits until the operator's Drifting condition has `status`. */
  async function sendAndWaitFor(images: Uint8Array, status: 'True' | 'False'): Promise<Condition> {
    await predictDigits(server, MODEL, images);
    return eventually(
      async () => {
        const c = await drifting();
        return c?.status === status ? c : undefined;
      },
      { what: `Drifting=${status} on ModelDeployment ${namespace}/${MODEL}`, ...driftPace },
    ).catch(async (err) =>
      failWithClusterState(
        new Error(`${(err as Error).message}; last Drifting: ${JSON.stringify(await drifting())}`),
        namespace,
        'modeldeployment,pods',
      ),
    );
  }

  beforeAll(async () => {
    prometheus = await localPrometheus();
    mnist = await mnistStorage(namespace, 'k2k-e2e-drift', 60, 20);
    const { bucket, exposed, s3 } = mnist;
    const storage = { endpoint: exposed.url, region: s3.region };
    await apply([
      mnistTrainingJob(MODEL, { namespace, bucket, ...storage }),
      {
        apiVersion: 'k2k.dev/v1alpha1',
        kind: 'ModelDeployment',
        metadata: { name: MODEL, namespace },
        spec: {
          // The operator waits for the TrainingJob's artifact before it serves it.
          model: { trainingJobRef: { name: MODEL } },
          storage: { ...storage, credentialsSecretRef: { name: 'k2k-storage' } },
          replicas: { min: 1, max: 1 },
          resources: { cpu: '250m', memory: '512Mi' },
          drift: { windowSize: WINDOW, minSamples: WINDOW / 2 },
          monitoring: { interval: '5s' },
        },
      },
    ]);
    await eventually(
      async () => {
        const md = await kubectlJson<{ status?: { conditions?: Condition[] } }>([
          'get',
          'modeldeployment',
          '-n',
          namespace,
          MODEL,
        ]);
        return md.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? md : undefined;
      },
      { what: 'the ModelDeployment to be Ready', ...clusterPace, timeoutMs: 420_000 },
    ).catch((err) => failWithClusterState(err, namespace, 'trainingjob,modeldeployment,pods'));
    server = await servedModelURL(namespace, MODEL);
  });

  afterAll(() => mnist?.stop());

  it('says Drifting=False under digits like the training data, once the window is judged', async () => {
    const c = await sendAndWaitFor(digits(WINDOW / 10, 90).images, 'False');
    expect(c.reason).toBe(DriftingReason.NoDrift);
  });

  it('says Drifting=True naming the features under inverted digits, and Prometheus has the K2KFeatureDrift alert', async () => {
    const c = await sendAndWaitFor(inverted(digits(WINDOW / 10, 110).images), 'True');
    expect(c.reason).toBe(DriftingReason.FeatureDrift);
    // Inverting turns a mostly dark image bright: both profiled image summaries move.
    expect(c.message).toMatch(/mean_intensity \(PSI \d/);
    expect(c.message).toMatch(/ink_fraction \(PSI \d/);

    // The rule waits `for: 15m` before firing (operator/monitoring/rules.ts): within a test the
    // alert is active (pending); the operator's condition evaluates the same expression now.
    const alerts = await eventually(
      async () => {
        const got = (await prometheus!.api<{ alerts: Alert[] }>('alerts')).alerts.filter(
          (a) => a.labels.alertname === 'K2KFeatureDrift' && a.labels.namespace === namespace,
        );
        return got.length > 0 ? got : undefined;
      },
      { what: `a K2KFeatureDrift alert of namespace ${namespace}`, ...driftPace },
    );
    expect(alerts.map((a) => a.state).every((s) => s === 'pending' || s === 'firing')).toBe(true);
    expect(alerts.map((a) => a.labels.feature).sort()).toEqual(
      expect.arrayContaining(['ink_fraction', 'mean_intensity']),
    );
  });

  it('clears Drifting (False) once the window holds normal digits again', async () => {
    const c = await sendAndWaitFor(digits(WINDOW / 10, 130).images, 'False');
    expect(c.reason).toBe(DriftingReason.NoDrift);
    // Rules are evaluated every 5 s (config/monitoring): the alert is gone within a few evaluations.
    await eventually(
      async () => {
        const left = (await prometheus!.api<{ alerts: Alert[] }>('alerts')).alerts.filter(
          (a) => a.labels.alertname === 'K2KFeatureDrift' && a.labels.namespace === namespace,
        );
        return left.length === 0 ? true : undefined;
      },
      { what: `no K2KFeatureDrift alert of namespace ${namespace}`, ...driftPace },
    );
  });
});
