// The live drift path end to end: a ModelDeployment serving an MNIST model trained on the local
// node, scraped by the local Prometheus through the operator's ServiceMonitor, judged by the
// operator (config/local runs it with --prometheus-url) into the Drifting condition. Normal digits
// → Drifting=False; inverted digits (255 - x) → Drifting=True naming the image summaries that
// drift, and the K2KFeatureDrift alert firing in Prometheus; normal digits again → Drifting=False
// and the alert resolved. Then, with traffic over both protocols and both transports and a
// caller's mistake, every query of every generated dashboard returns data from this Prometheus.
// A small drift window (spec.drift) keeps each phase to one window of requests, and a short
// spec.monitoring.alerts.driftFor lets the alert fire within the test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelDeployment } from '../../api/index.ts';
import { DriftingReason } from '../../api/monitoring.ts';
import { failingQueries } from '../../dashboards/check.ts';
import { DASHBOARDS } from '../../dashboards/index.ts';
import { call, grpcClients } from '../../server/grpc/client.ts';
import { eventually } from '../harness/eventually.ts';
import { apply, clusterPace, OPERATOR_NAMESPACE, waitForModelDeployment } from './kube.ts';
import {
  DIGIT_SIZE,
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
/** The drift alerts' `for` here (15m by default): long enough to be pending first, short for CI. */
const DRIFT_FOR = '20s';

/**
 * What a user would pick in the dashboards' drop-downs. $__rate_interval is the one Grafana uses
 * at a few hours' range for a 5 s scrape; the dashboards open at 1h.
 */
const INTERVALS = { __rate_interval: '1m', __range: '1h' };
const dashboardValues = (namespace: string): Record<string, Record<string, string>> => ({
  'k2k-model-server.json': {
    ...INTERVALS,
    namespace,
    model: MODEL,
    track: 'stable',
    feature: 'mean_intensity',
  },
  'k2k-operator.json': { ...INTERVALS, namespace: OPERATOR_NAMESPACE, pod: '.*' },
});

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

interface Alert {
  labels: Record<string, string>;
  state: 'pending' | 'firing' | 'inactive';
  activeAt: string;
}

describe('drift of a served MNIST model, live', () => {
  let mnist: MnistStorage | undefined;
  let prometheus: PrometheusAPI | undefined;
  let server = '';

  /** This namespace's K2KFeatureDrift alerts as Prometheus's alerts API lists them, pending or firing. */
  const driftAlerts = async () =>
    (await prometheus!.api<{ alerts: Alert[] }>('alerts')).alerts.filter(
      (a) => a.labels.alertname === 'K2KFeatureDrift' && a.labels.namespace === namespace,
    );

  /** Sends the rows, then waits until the operator's Drifting condition has `status`. */
  async function sendAndWaitFor(images: Uint8Array, status: 'True' | 'False'): Promise<Condition> {
    await predictDigits(server, MODEL, images);
    const drifting = (md: ModelDeployment) => md.status?.conditions?.find((c) => c.type === 'Drifting');
    const md = await waitForModelDeployment(namespace, MODEL, {
      what: `Drifting=${status}`,
      until: (md) => drifting(md)?.status === status,
      ...driftPace,
    });
    return drifting(md)!;
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
          monitoring: { interval: '5s', alerts: { driftFor: DRIFT_FOR } },
        },
      },
    ]);
    await waitForModelDeployment(namespace, MODEL, {
      timeoutMs: 420_000,
      describe: 'trainingjob,modeldeployment,pods',
    });
    server = await servedModelURL(namespace, MODEL);
  });

  afterAll(() => mnist?.stop());

  it('says Drifting=False under digits like the training data, once the window is judged', async () => {
    const c = await sendAndWaitFor(digits(WINDOW / 10, 90).images, 'False');
    expect(c.reason).toBe(DriftingReason.NoDrift);
  });

  it('says Drifting=True naming the features under inverted digits, and the K2KFeatureDrift alert fires after spec.monitoring.alerts.driftFor', async () => {
    const c = await sendAndWaitFor(inverted(digits(WINDOW / 10, 110).images), 'True');
    expect(c.reason).toBe(DriftingReason.FeatureDrift);
    // Inverting turns a mostly dark image bright: both profiled image summaries move.
    expect(c.message).toMatch(/mean_intensity \(PSI \d/);
    expect(c.message).toMatch(/ink_fraction \(PSI \d/);

    // The alert is pending while the expression holds for less than DRIFT_FOR, then fires.
    const alerts = await eventually(
      async () => {
        const got = (await driftAlerts()).filter((a) => a.state === 'firing');
        return got.length > 0 ? got : undefined;
      },
      { what: `a firing K2KFeatureDrift alert of namespace ${namespace}`, ...driftPace },
    );
    expect(alerts.map((a) => a.labels.feature).sort()).toEqual(
      expect.arrayContaining(['ink_fraction', 'mean_intensity']),
    );
    // It waited: Prometheus holds the rule's `for` as the operator wrote it, and fired no sooner.
    const { groups } = await prometheus!.api<{
      groups: Array<{ file: string; rules: Array<{ name: string; duration?: number }> }>;
    }>('rules');
    const rule = groups
      .filter((g) => g.file.includes(`/${namespace}-${MODEL}-`))
      .flatMap((g) => g.rules)
      .find((r) => r.name === 'K2KFeatureDrift');
    expect(rule?.duration).toBe(20);
    for (const a of alerts) expect(Date.now() - Date.parse(a.activeAt)).toBeGreaterThanOrEqual(20_000);
    // The series an SRE's PromQL (or Grafana's alert list) reads says so too.
    const firing = await prometheus!.query(
      `ALERTS{alertname="K2KFeatureDrift", alertstate="firing", namespace="${namespace}"}`,
    );
    expect(firing.map((s) => s.metric.feature)).toEqual(
      expect.arrayContaining(['ink_fraction', 'mean_intensity']),
    );
  });

  it('clears Drifting (False) and resolves the alert once the window holds normal digits again', async () => {
    const c = await sendAndWaitFor(digits(WINDOW / 10, 130).images, 'False');
    expect(c.reason).toBe(DriftingReason.NoDrift);
    // Rules are evaluated every 5 s (config/monitoring): the alert resolves within a few evaluations.
    await eventually(async () => ((await driftAlerts()).length === 0 ? true : undefined), {
      what: `no K2KFeatureDrift alert of namespace ${namespace}`,
      ...driftPace,
    });
    expect(await prometheus!.query(`ALERTS{alertname="K2KFeatureDrift", namespace="${namespace}"}`)).toEqual(
      [],
    );
  });

  it('answers every panel and variable query of every generated dashboard from the cluster’s Prometheus', async () => {
    // The panels split traffic by protocol and transport and show errors by code: send each kind.
    const digit = digits(1, 170).images.subarray(0, DIGIT_SIZE);
    await predictDigits(server, MODEL, digits(5, 170).images);
    const rows = (image: Uint8Array) =>
      Array.from({ length: 28 }, (_, y) => Array.from({ length: 28 }, (_, x) => [image[y * 28 + x]!]));
    const tfserving = await fetch(`${server}/v1/models/${MODEL}:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [rows(digit)] }),
    });
    expect(tfserving.status, await tfserving.text()).toBe(200);
    // A caller's mistake (a row of the wrong shape): the 4xx the error panel counts.
    const mistake = await fetch(`${server}/v1/models/${MODEL}:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [[1]] }),
    });
    expect(mistake.status).toBe(400);
    const grpc = grpcClients(`${new URL(server).hostname}:8500`);
    try {
      await call(grpc.inference.ModelInfer.bind(grpc.inference), {
        model_name: MODEL,
        inputs: [
          {
            name: 'input',
            datatype: 'FP32',
            shape: [1, 28, 28, 1],
            contents: { fp32_contents: Array.from(digit) },
          },
        ],
      });
    } finally {
      grpc.close();
    }

    // Once Prometheus holds two scrapes of the newest series (their rate exists), every query is
    // evaluated at that one instant, with all of this traffic inside the 1m rate windows.
    const at = await eventually(
      async () => {
        const t = Date.now() / 1000;
        const rates = await prometheus!.query(
          `rate(k2k_requests_total{namespace="${namespace}", endpoint=~"predict|infer", code=~"400|OK"}[1m])`,
          t,
        );
        return rates.length >= 2 ? t : undefined;
      },
      { what: 'two scrapes of the gRPC and the 400 requests', ...driftPace, timeoutMs: 60_000 },
    );
    const values = dashboardValues(namespace);
    const failures = (
      await Promise.all(
        DASHBOARDS.map((d) => failingQueries(d.build(), values[d.file]!, prometheus!.query, at)),
      )
    ).flat();
    expect(failures).toEqual([]);
    const traffic = await prometheus!.query(
      `sum by (protocol, transport) (k2k_requests_total{namespace="${namespace}", endpoint=~"predict|infer"})`,
      at,
    );
    expect(traffic.map((s) => `${s.metric.protocol}/${s.metric.transport}`).sort()).toEqual(
      expect.arrayContaining(['tfserving/http', 'v2/grpc', 'v2/http']),
    );
  });
});
