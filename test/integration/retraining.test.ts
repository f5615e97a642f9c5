// Retraining on drift against the real control plane: the Drifting condition comes from a real
// Prometheus scraping a real model server fed shifted rows (as in monitoring.test.ts); the trainer
// is played by writing its pod's termination (no kubelet), as the TrainingJob tests do.
import {
  AppsV1Api,
  CustomObjectsApi,
  EventsV1Api,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { datasetRead, type ModelDeployment, type TrainingJob } from '../../api/index.ts';
import { eventually } from '../harness/eventually.ts';
import { freshNamespace, testKubeConfig } from '../harness/kube.ts';
import { type ModelServer, startTabularModelServer, tabularRows } from '../harness/model-server.ts';
import { operatorsPerTest } from '../harness/operator.ts';
import { type PrometheusProcess, startPrometheus } from '../harness/prometheus.ts';
import { setPodStatus, trainerPod } from '../harness/trainer-pod.ts';

const kc = testKubeConfig();
const apps = kc.makeApiClient(AppsV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const eventsApi = kc.makeApiClient(EventsV1Api);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const mds = { group: 'k2k.dev', version: 'v1alpha1', plural: 'modeldeployments' };
const tjs = { group: 'k2k.dev', version: 'v1alpha1', plural: 'trainingjobs' };
const V1 = 's3://models/tiny/1/';
const V2 = { uri: 's3://models/tiny/1764037300/', version: '1764037300', manifestSha256: 'f00d' };
const startOperator = operatorsPerTest();
/** What the retrain's trainer read under the template's prefix, as it records it (api/lineage.ts). */
const RECENT = datasetRead(
  's3://datasets/mnist-recent/',
  [
    't10k-images-idx3-ubyte',
    't10k-labels-idx1-ubyte',
    'train-images-idx3-ubyte',
    'train-labels-idx1-ubyte',
  ].map((name, i) => ({
    uri: `s3://datasets/mnist-recent/${name}`,
    size: 1000 * (i + 1),
    sha256: String(i + 1).repeat(64),
  })),
);

const getMD = async (namespace: string, name: string) =>
  (await custom.getNamespacedCustomObject({ ...mds, namespace, name })) as ModelDeployment;

const eventuallyMD = (
  namespace: string,
  what: string,
  accept: (md: ModelDeployment) => boolean,
  timeoutMs = 60_000,
) =>
  eventually(
    async () => {
      const md = await getMD(namespace, 'drifty');
      return accept(md) ? md : undefined;
    },
    { what: `${namespace}/drifty: ${what}`, timeoutMs },
  );

const retrains = async (namespace: string) =>
  (
    (await custom.listNamespacedCustomObject({
      ...tjs,
      namespace,
      labelSelector: 'k2k.dev/retrain-of=drifty',
    })) as {
      items: TrainingJob[];
    }
  ).items.map((tj) => tj.metadata.name);

const eventReasons = async (namespace: string) =>
  (await eventsApi.listNamespacedEvent({ namespace })).items
    .filter((e) => e.regarding?.name === 'drifty')
    .map((e) => e.reason);

const modelURIOf = async (namespace: string, name: string) =>
  (
    await apps.readNamespacedDeployment({ namespace, name }).catch(() => undefined)
  )?.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === 'K2K_MODEL_URI')?.value;

/** Checks `hold` for `ms`: it must stay true the whole time (a count that must not grow). */
async function holdsFor(ms: number, hold: () => Promise<boolean>) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    expect(await hold()).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('retraining on drift', () => {
  let server: ModelServer | undefined;
  let prometheus: PrometheusProcess | undefined;
  afterAll(async () => {
    await prometheus?.stop();
    await server?.stop();
  });

  it('starts one retrain after the drift held, never a second (operator killed mid-retrain included), rolls its artifact out as the canary, and honours the cooldown after it and after a failed retrain', async () => {
    const drift = { windowSize: 400, minSamples: 200 };
    server = await startTabularModelServer(drift);
    const ns = await freshNamespace(kc, 'k2k-retrain-');
    prometheus = await startPrometheus({
      targets: [{ address: server.address, labels: { namespace: ns, service: 'drifty', pod: 'drifty-0' } }],
    });
    const args = [`--prometheus-url=${prometheus.url}`, '--drift-interval-seconds=1'];
    let operator = startOperator({ identity: `retrain-${ns}`, namespace: ns, args });
    await custom.createNamespacedCustomObject({
      ...mds,
      namespace: ns,
      body: {
        apiVersion: 'k2k.dev/v1alpha1',
        kind: 'ModelDeployment',
        metadata: { name: 'drifty' },
        spec: {
          model: { artifactURI: V1 },
          drift,
          canary: { steps: [10, 50], intervalSeconds: 10 },
          retraining: {
            template: {
              model: { architecture: 'mnist-mlp' },
              dataset: { format: 'mnist-idx', uri: 's3://datasets/mnist-recent/' },
              output: { uri: 's3://models/' },
            },
            driftForSeconds: 3,
            cooldownSeconds: 20,
          },
        },
      },
    });
    await server.send(tabularRows(drift.windowSize, 1234));
    const calm = await eventuallyMD(ns, 'not drifting', (md) =>
      /no retrain: Drifting is False/.test(md.status?.retraining?.message ?? ''),
    );
    expect(calm.status?.retraining?.count).toBe(0);
    expect(await retrains(ns)).toEqual([]);

    // Shifted inputs: Drifting turns True; driftForSeconds later exactly one retrain starts.
    await server.send(tabularRows(drift.windowSize, 99, [3, 0, 0.5, 0]));
    const started = await eventuallyMD(
      ns,
      'a retrain running',
      (md) => md.status?.retraining?.current !== undefined,
    );
    const driftingSince = started.status!.conditions!.find((c) => c.type === 'Drifting')!.lastTransitionTime;
    expect(Date.parse(started.status!.retraining!.current!.startedAt)).toBeGreaterThanOrEqual(
      Date.parse(driftingSince) + 3000,
    );
    expect(started.status?.retraining).toMatchObject({
      count: 1,
      current: {
        name: 'drifty-retrain-1',
        replaces: V1,
        reason: expect.stringMatching(/^Drifting since .*: 2 input feature\(s\) drift .*f0/),
      },
    });
    const tj = (await custom.getNamespacedCustomObject({
      ...tjs,
      namespace: ns,
      name: 'drifty-retrain-1',
    })) as TrainingJob;
    expect(tj.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'ModelDeployment', name: 'drifty', controller: true }),
    ]);
    expect(tj.spec.dataset.uri).toBe('s3://datasets/mnist-recent/');
    await eventually(async () => (await eventReasons(ns)).includes('RetrainStarted'), {
      what: 'a RetrainStarted event',
    });

    // Still drifting while it runs: never a second. Then the operator dies mid-retrain; its
    // successor follows the same retrain.
    await holdsFor(4000, async () => (await retrains(ns)).length === 1);
    await operator.kill();
    operator = startOperator({ identity: `retrain-2-${ns}`, namespace: ns, args });
    await holdsFor(5000, async () => (await retrains(ns)).length === 1);
    expect((await getMD(ns, 'drifty')).status?.retraining).toMatchObject({
      count: 1,
      current: { name: 'drifty-retrain-1' },
    });

    // The trainer succeeds: its artifact becomes the canary; the stable pods keep V1.
    await setPodStatus(
      await trainerPod(ns, 'drifty-retrain-1'),
      'Succeeded',
      0,
      JSON.stringify({ artifact: V2, metrics: { acc: 0.9 }, dataset: RECENT }),
    );
    const canary = await eventuallyMD(
      ns,
      'the retrained canary',
      (md) => md.status?.canary?.artifact.uri === V2.uri,
    );
    // Which data made the model: the objects the trainer read, in the TrainingJob's status, and
    // their digest in the ModelDeployment's and in the event.
    const { files: _files, ...digest } = RECENT;
    expect(canary.status?.retraining?.last).toMatchObject({
      name: 'drifty-retrain-1',
      outcome: 'Succeeded',
      artifact: { uri: V2.uri },
      dataset: digest,
    });
    expect(canary.status?.retraining?.last?.message).toContain(
      `trained on 4 objects (10000 bytes, sha256 ${RECENT.sha256.slice(0, 12)}…) under s3://datasets/mnist-recent/`,
    );
    const trained = (await custom.getNamespacedCustomObject({
      ...tjs,
      namespace: ns,
      name: 'drifty-retrain-1',
    })) as TrainingJob;
    expect(trained.status?.dataset).toEqual(RECENT);
    expect(canary.status?.retraining?.current).toBeUndefined();
    expect(canary.status?.artifact?.uri).toBe(V1);
    await eventually(async () => (await modelURIOf(ns, 'drifty-canary')) === V2.uri, {
      what: 'the canary Deployment on the retrained artifact',
    });
    expect(await modelURIOf(ns, 'drifty')).toBe(V1);
    await eventually(
      async () =>
        (await eventsApi.listNamespacedEvent({ namespace: ns })).items.some(
          (e) => e.reason === 'RetrainSucceeded' && e.note?.includes(RECENT.sha256.slice(0, 12)),
        ),
      { what: 'a RetrainSucceeded event naming the dataset’s digest' },
    );
    // Drift goes on while the canary runs: no retrain.
    await holdsFor(4000, async () => (await retrains(ns)).length === 1);

    // The canary ends (aborted here; promotion needs ready pods): the cooldown starts and holds.
    await custom.patchNamespacedCustomObject(
      { ...mds, namespace: ns, name: 'drifty', body: { spec: { canary: { abort: true } } } },
      mergePatch,
    );
    const cooling = await eventuallyMD(
      ns,
      'the canary verdict',
      (md) => md.status?.retraining?.last?.canary === 'Aborted',
    );
    const allowed = Date.parse(cooling.status!.retraining!.nextAllowedAt!);
    await eventuallyMD(ns, 'cooling down', (md) =>
      /cooling down: no retrain before .* left\)/.test(md.status?.retraining?.message ?? ''),
    );
    await holdsFor(Math.max(0, allowed - Date.now() - 2000), async () => (await retrains(ns)).length === 1);

    // After the cooldown the drift still holds: the second retrain starts. It fails.
    const second = await eventuallyMD(
      ns,
      'the second retrain',
      (md) => md.status?.retraining?.current?.name === 'drifty-retrain-2',
      60_000,
    );
    expect(Date.parse(second.status!.retraining!.current!.startedAt)).toBeGreaterThanOrEqual(allowed);
    await setPodStatus(
      await trainerPod(ns, 'drifty-retrain-2'),
      'Failed',
      65,
      JSON.stringify({ error: { code: 'InvalidInput', message: 'dataset.uri: not found' } }),
    );
    const failed = await eventuallyMD(
      ns,
      'the failed retrain',
      (md) => md.status?.retraining?.last?.outcome === 'Failed',
    );
    expect(failed.status?.retraining?.last).toMatchObject({
      name: 'drifty-retrain-2',
      message: expect.stringMatching(/dataset.uri: not found/),
    });
    expect(Date.parse(failed.status!.retraining!.nextAllowedAt!)).toBeGreaterThan(Date.now() + 10_000);
    // The stable model is untouched, and the retrained artifact from before stays the canary's.
    expect(failed.status?.artifact?.uri).toBe(V1);
    expect(await modelURIOf(ns, 'drifty')).toBe(V1);
    await eventually(async () => (await eventReasons(ns)).includes('RetrainFailed'), {
      what: 'a RetrainFailed event',
    });
    await holdsFor(5000, async () => (await retrains(ns)).length === 2);
  }, 240_000);

  it('refuses spec.retraining without spec.canary, naming the field', async () => {
    const ns = await freshNamespace(kc, 'k2k-retrain-cel-');
    const create = custom.createNamespacedCustomObject({
      ...mds,
      namespace: ns,
      body: {
        apiVersion: 'k2k.dev/v1alpha1',
        kind: 'ModelDeployment',
        metadata: { name: 'nocanary' },
        spec: {
          model: { artifactURI: V1 },
          retraining: {
            template: {
              model: { architecture: 'mnist-mlp' },
              dataset: { format: 'mnist-idx', uri: 's3://datasets/mnist/' },
              output: { uri: 's3://models/', version: '7' },
            },
          },
        },
      },
    });
    await expect(create).rejects.toThrow(
      /spec.retraining: Required value: spec.retraining needs spec.canary/,
    );
    await expect(create).rejects.toThrow(
      /spec.retraining.template.output.version: .*leave output.version unset/,
    );
  });
});
