// Canary rollouts of a ModelDeployment against the real control plane (no kubelet: the tests play
// it by marking model server pods ready) and, for the analysis, a real Prometheus scraping real
// model server processes labelled as the Prometheus Operator labels a ServiceMonitor's targets.

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
} from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import type { ModelDeployment } from '../../api/index.ts';
import { fileURI, joinURI } from '../../lib/storage/index.ts';
import { spawnServer } from '../../server/test/process.ts';
import { eventually } from '../harness/eventually.ts';
import { freshNamespace, testKubeConfig } from '../harness/kube.ts';
import {
  type ModelServer,
  startTabularModelServer,
  TABULAR_MODEL,
  tabularRows,
} from '../harness/model-server.ts';
import { operatorsPerTest } from '../harness/operator.ts';
import { type PrometheusProcess, startPrometheus } from '../harness/prometheus.ts';

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const events = kc.makeApiClient(EventsV1Api);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const mds = { group: 'k2k.dev', version: 'v1alpha1', plural: 'modeldeployments' };
const V1 = 's3://models/iris/1/';
const V2 = 's3://models/iris/2/';
const startOperator = operatorsPerTest();

const getMD = async (namespace: string, name: string) =>
  (await custom.getNamespacedCustomObject({ ...mds, namespace, name })) as ModelDeployment;

const patchMD = (namespace: string, name: string, body: object) =>
  custom.patchNamespacedCustomObject({ ...mds, namespace, name, body }, mergePatch);

/** Waits until status.canary matches `accept`; returns the ModelDeployment. */
const eventuallyCanary = (
  namespace: string,
  name: string,
  what: string,
  accept: (md: ModelDeployment) => boolean,
  timeoutMs = 60_000,
) =>
  eventually(
    async () => {
      const md = await getMD(namespace, name);
      return accept(md) ? md : undefined;
    },
    { what: `${namespace}/${name}: ${what}`, timeoutMs },
  );

const modelURIOf = (d: V1Deployment | undefined) =>
  d?.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === 'K2K_MODEL_URI')?.value;

const deployment = (namespace: string, name: string) =>
  apps.readNamespacedDeployment({ namespace, name }).catch(() => undefined);

const trafficOf = async (namespace: string, name: string) => {
  const cm = await core.readNamespacedConfigMap({ namespace, name: `${name}-traffic` });
  return JSON.parse(cm.data!['traffic.json']!) as {
    canaryURL: string;
    canaryGrpcAddress: string;
    weight: number;
  };
};

/** Plays the kubelet: every pod of the selector becomes Running and Ready. */
async function markReady(namespace: string, labelSelector: string) {
  const pods = await eventually(
    async () => {
      const list = await core.listNamespacedPod({ namespace, labelSelector });
      const live = list.items.filter((p) => !p.metadata?.deletionTimestamp);
      return live.length > 0 ? live : undefined;
    },
    { what: `pods ${labelSelector}` },
  );
  const now = new Date().toISOString();
  for (const pod of pods) {
    await core.patchNamespacedPodStatus(
      {
        namespace,
        name: pod.metadata!.name!,
        body: {
          status: {
            phase: 'Running',
            startTime: now,
            conditions: [
              { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
              { type: 'Ready', status: 'True', lastTransitionTime: now },
              { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
            ],
            containerStatuses: [
              {
                name: 'server',
                image: 'k2k/server:test',
                imageID: '',
                ready: true,
                restartCount: 0,
                started: true,
                state: { running: { startedAt: now } },
              },
            ],
          },
        },
      },
      mergePatch,
    );
  }
}

/** Five predictions to each URL every 200 ms (answers ignored), as the stable pods' split would send them. */
function sendTraffic(urls: string[]): NodeJS.Timeout {
  const row = JSON.stringify({ instances: tabularRows(1, 7) });
  const predict = (url: string) =>
    fetch(`${url}/v1/models/${TABULAR_MODEL}:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: row,
    }).then(
      (r) => r.arrayBuffer(),
      () => undefined,
    );
  return setInterval(() => {
    for (let i = 0; i < 5; i++) for (const url of urls) void predict(url);
  }, 200);
}

const stableSelector = (name: string) => `app.kubernetes.io/instance=${name}`;
const canarySelector = (name: string) => `app.kubernetes.io/instance=${name}-canary`;

/** A ModelDeployment with spec.canary (and `spec`) serving V1 from ready stable pods. */
async function servingV1(ns: string, name: string, canary: Record<string, unknown>, spec: object = {}) {
  await custom.createNamespacedCustomObject({
    ...mds,
    namespace: ns,
    body: {
      apiVersion: 'k2k.dev/v1alpha1',
      kind: 'ModelDeployment',
      metadata: { name },
      spec: { model: { artifactURI: V1 }, canary, ...spec },
    },
  });
  await eventually(async () => (await deployment(ns, name)) !== undefined, { what: 'the stable Deployment' });
  await markReady(ns, stableSelector(name));
  await eventuallyCanary(
    ns,
    name,
    'Ready, serving V1',
    (md) =>
      md.status?.artifact?.uri === V1 &&
      md.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True',
  );
}

/** spec.model → V2; the ModelDeployment once its canary is Paused, waiting for a ready canary pod. */
async function canaryOfV2Paused(ns: string, name: string) {
  await patchMD(ns, name, { spec: { model: { artifactURI: V2 } } });
  return eventuallyCanary(ns, name, 'canary Paused', (md) => md.status?.canary?.phase === 'Paused');
}

describe('a canary rollout on the control plane', () => {
  it('starts a canary for a new artifact, waits with no share for a ready canary pod, holds without Prometheus, resumes after a crash, rolls back on abort, and replaces in one step once spec.canary is gone', async () => {
    const ns = await freshNamespace(kc, 'k2k-canary-');
    let operator = startOperator({ identity: `canary-${ns}`, namespace: ns });
    await servingV1(ns, 'iris', { steps: [10, 50], intervalSeconds: 10 }, { replicas: { min: 1, max: 20 } });

    const paused = await canaryOfV2Paused(ns, 'iris');
    expect(paused.status?.canary).toMatchObject({ artifact: { uri: V2 }, step: 0, weight: 0 });
    expect(paused.status?.artifact?.uri).toBe(V1);
    expect(paused.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'CanaryPaused',
    });
    // The stable pods keep serving V1 at full size while the canary is not ready.
    const stable = await deployment(ns, 'iris');
    expect(modelURIOf(stable)).toBe(V1);
    expect(stable?.status?.readyReplicas).toBeGreaterThanOrEqual(1);
    const canary = await eventually(async () => deployment(ns, 'iris-canary'), {
      what: 'the canary Deployment',
    });
    expect(modelURIOf(canary)).toBe(V2);
    expect(canary?.spec?.replicas).toBe(1);
    expect(await trafficOf(ns, 'iris')).toEqual({
      canaryURL: `http://iris-canary.${ns}.svc:80`,
      canaryGrpcAddress: `iris-canary.${ns}.svc:8500`,
      weight: 0,
    });
    // The model's Service never selects a canary pod: its share comes only from the split.
    const service = await core.readNamespacedService({ namespace: ns, name: 'iris' });
    expect(service.spec?.selector?.['app.kubernetes.io/instance']).toBe('iris');

    await markReady(ns, canarySelector('iris'));
    const progressing = await eventuallyCanary(
      ns,
      'iris',
      'Progressing at 10%',
      (md) => md.status?.canary?.phase === 'Progressing',
    );
    expect(progressing.status?.canary).toMatchObject({ step: 0, weight: 10 });
    await eventually(async () => (await trafficOf(ns, 'iris')).weight === 10, {
      what: 'weight 10 in the ConfigMap',
    });

    // The stable HPA scales the stable track to 10 pods (here by hand, through the same scale
    // subresource): the canary follows with 2 (10 × 10 / 90, rounded up), its new pod still
    // starting does not pause the step, and it follows the stable track back down.
    const scaleStable = (replicas: number) =>
      apps.patchNamespacedDeploymentScale(
        { namespace: ns, name: 'iris', body: { spec: { replicas } } },
        mergePatch,
      );
    await scaleStable(10);
    await eventually(
      async () => {
        const c = await deployment(ns, 'iris-canary');
        return c?.spec?.replicas === 2 && c.status?.replicas === 2 && c.status.readyReplicas === 1;
      },
      { what: 'the canary at 2 replicas for 10 stable ones, one of them ready' },
    );
    await new Promise((r) => setTimeout(r, 3_000)); // passes that saw the unready pod have run
    expect((await getMD(ns, 'iris')).status?.canary).toMatchObject({ phase: 'Progressing', weight: 10 });
    expect((await deployment(ns, 'iris-canary'))?.spec?.replicas).toBe(2);
    await scaleStable(1);
    await eventually(async () => (await deployment(ns, 'iris-canary'))?.spec?.replicas === 1, {
      what: 'the canary back at 1 replica for 1 stable one',
    });
    expect((await getMD(ns, 'iris')).status?.canary).toMatchObject({ phase: 'Progressing', weight: 10 });

    // No Prometheus: the step's analysis is Inconclusive and the step holds (never promotes).
    const held = await eventuallyCanary(
      ns,
      'iris',
      'an inconclusive analysis',
      (md) => md.status?.canary?.lastAnalysis !== undefined,
      30_000,
    );
    expect(held.status?.canary).toMatchObject({
      phase: 'Progressing',
      step: 0,
      weight: 10,
      lastAnalysis: { verdict: 'Inconclusive' },
    });
    expect(held.status?.canary?.lastAnalysis?.message).toMatch(/no --prometheus-url/);

    // The operator dies mid-rollout; its successor reads the rollout from status alone.
    const before = (await getMD(ns, 'iris')).status!.canary!;
    await operator.kill();
    operator = startOperator({ identity: `canary-2-${ns}`, namespace: ns });
    const resumed = await eventuallyCanary(
      ns,
      'iris',
      'the same rollout after the restart',
      (md) => (md.status?.canary?.lastAnalysis?.time ?? '') > (before.lastAnalysis?.time ?? ''),
      40_000,
    );
    expect(resumed.status?.canary).toMatchObject({
      phase: 'Progressing',
      artifact: { uri: V2 },
      step: before.step,
      weight: before.weight,
    });
    expect(modelURIOf(await deployment(ns, 'iris'))).toBe(V1);

    await patchMD(ns, 'iris', { spec: { canary: { abort: true } } });
    const aborted = await eventuallyCanary(
      ns,
      'iris',
      'Aborted',
      (md) => md.status?.canary?.phase === 'Aborted',
    );
    expect(aborted.status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'CanaryAborted',
    });
    await eventually(async () => (await trafficOf(ns, 'iris')).weight === 0, {
      what: 'weight 0 after the abort',
    });
    await eventually(async () => (await deployment(ns, 'iris-canary'))?.spec?.replicas === 0, {
      what: 'the canary scaled to 0',
    });
    expect(modelURIOf(await deployment(ns, 'iris'))).toBe(V1);

    // Without spec.canary a new model replaces the old one in one rolling update, as before.
    await patchMD(ns, 'iris', { spec: { canary: null } });
    await eventually(async () => modelURIOf(await deployment(ns, 'iris')) === V2, {
      what: 'the stable Deployment rolled to V2 once spec.canary is gone',
    });
    const plain = await eventuallyCanary(
      ns,
      'iris',
      'no status.canary',
      (md) => md.status?.canary === undefined,
    );
    expect(plain.status?.artifact?.uri).toBe(V2);
  }, 240_000);

  it('rolls back a canary whose pods never become ready once its progress deadline has passed, while the stable pods keep every request', async () => {
    const ns = await freshNamespace(kc, 'k2k-canary-deadline-');
    startOperator({ identity: `canary-deadline-${ns}`, namespace: ns });
    const deadlineSeconds = 30; // the least spec.canary.progressDeadlineSeconds takes
    await servingV1(ns, 'iris', {
      steps: [10, 50],
      intervalSeconds: 10,
      progressDeadlineSeconds: deadlineSeconds,
    });

    // No test plays the kubelet for the canary: with no node in this cluster the real scheduler
    // leaves its pod Pending, as a full cluster would.
    const waiting = await canaryOfV2Paused(ns, 'iris');
    const since = Date.parse(waiting.status!.canary!.waitingSince!);
    // What the stable pods are told to forward, read every half second until the rollback.
    const weights = new Set<number>();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        weights.add((await trafficOf(ns, 'iris')).weight);
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    const rolledBack = await eventuallyCanary(
      ns,
      'iris',
      'RolledBack past the progress deadline',
      (md) => md.status?.canary?.phase === 'RolledBack',
      deadlineSeconds * 1000 + 30_000,
    ).finally(() => {
      watching = false;
    });
    await watch;
    const c = rolledBack.status!.canary!;
    expect(c).toMatchObject({
      artifact: { uri: V2 },
      step: 0,
      weight: 0,
      reason: 'ProgressDeadlineExceeded',
      waitingSince: waiting.status!.canary!.waitingSince,
    });
    // Rolled back at the deadline (the reconcile is requeued for it), not at some later event.
    const waited = Date.parse(c.finishedAt!) - since;
    expect(waited).toBeGreaterThanOrEqual(deadlineSeconds * 1000);
    expect(waited).toBeLessThan((deadlineSeconds + 15) * 1000);
    expect(c.message).toMatch(
      new RegExp(
        `^rolled back at step 1: progress deadline exceeded: 0 of the 1 canary pods that 10% needs were ready ${deadlineSeconds} s after the wait began at .*\\(Unschedulable: model server pod iris-canary-[a-z0-9-]+ cannot be scheduled: .+\\); every request goes to the stable ${V1}$`,
      ),
    );
    expect(rolledBack.status?.conditions?.find((x) => x.type === 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'CanaryRolledBack',
    });
    // The stable pods served every request throughout: weight 0 in the ConfigMap, V1 at full size.
    expect([...weights]).toEqual([0]);
    expect(rolledBack.status?.artifact?.uri).toBe(V1);
    const stable = await deployment(ns, 'iris');
    expect(modelURIOf(stable)).toBe(V1);
    expect(stable?.status?.readyReplicas).toBe(1);
    expect((await trafficOf(ns, 'iris')).weight).toBe(0);
    await eventually(async () => (await deployment(ns, 'iris-canary'))?.spec?.replicas === 0, {
      what: 'the canary scaled to 0 after the rollback',
    });
    await eventually(
      async () => {
        const list = await events.listNamespacedEvent({ namespace: ns });
        return list.items.some(
          (e) =>
            e.reason === 'CanaryRolledBack' && e.type === 'Warning' && /progress deadline/.test(e.note ?? ''),
        );
      },
      { what: 'a CanaryRolledBack Warning event naming the progress deadline' },
    );
  }, 120_000);

  describe('analysis from a real Prometheus', () => {
    let dir: string | undefined;
    let stableServer: ModelServer | undefined;
    let broken: ReturnType<typeof spawnServer> | undefined;
    let prometheus: PrometheusProcess | undefined;
    let traffic: NodeJS.Timeout | undefined;
    afterAll(async () => {
      clearInterval(traffic);
      await prometheus?.stop();
      await stableServer?.stop();
      if (broken && broken.child.exitCode === null) broken.child.kill('SIGTERM');
      await broken?.exit;
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('advances a healthy canary step by step, raising a weight only once the canary pods it needs are ready, keeps its step across an operator crash, and promotes it with the canary serving its share until the stable rollout completed, never with the stable below its minimum', async () => {
      const ns = await freshNamespace(kc, 'k2k-canary-pass-');
      const drift = { windowSize: 400, minSamples: 200 };
      const stableProc = await startTabularModelServer(drift);
      const canaryProc = await startTabularModelServer(drift, { K2K_TRACK: 'canary' });
      const prom = await startPrometheus({
        targets: [
          { address: stableProc.address, labels: { namespace: ns, service: 'iris', pod: 'iris-0' } },
          {
            address: canaryProc.address,
            labels: { namespace: ns, service: 'iris-canary', pod: 'iris-canary-0' },
          },
        ],
      });
      const load = sendTraffic([stableProc.url, canaryProc.url]);
      const drainSeconds = 20;
      try {
        const args = [`--prometheus-url=${prom.url}`, `--canary-drain-seconds=${drainSeconds}`];
        let operator = startOperator({ identity: `canary-pass-${ns}`, namespace: ns, args });
        await servingV1(
          ns,
          'iris',
          { steps: [10, 50], intervalSeconds: 10, failureLimit: 1 },
          { replicas: { min: 3, max: 10 } },
        );
        // Three stable pods (as the HPA's minimum has them): 10% needs one canary pod, 50% three.
        await apps.patchNamespacedDeploymentScale(
          { namespace: ns, name: 'iris', body: { spec: { replicas: 3 } } },
          mergePatch,
        );
        await eventually(
          async () => {
            await markReady(ns, stableSelector('iris'));
            return (await deployment(ns, 'iris'))?.status?.readyReplicas === 3;
          },
          { what: 'three ready stable pods' },
        );
        /** The stable track never drops below its minimum of 3 ready pods while the canary is not ready. */
        const expectStableAtMinimum = async () => {
          const d = await deployment(ns, 'iris');
          expect(d?.spec?.replicas).toBeGreaterThanOrEqual(3);
          expect(d?.status?.readyReplicas).toBeGreaterThanOrEqual(3);
        };

        await patchMD(ns, 'iris', { spec: { model: { artifactURI: V2 } } });
        await eventuallyCanary(ns, 'iris', 'canary Paused', (md) => md.status?.canary?.phase === 'Paused');
        await expectStableAtMinimum();
        await eventually(async () => deployment(ns, 'iris-canary'), { what: 'the canary Deployment' });
        await markReady(ns, canarySelector('iris'));
        expect((await deployment(ns, 'iris-canary'))?.spec?.replicas).toBe(1);

        // Step 1 passes; step 2's 50% needs three canary pods and one is ready: the stable pods keep
        // forwarding 10%, and step 2's window does not start.
        const scaling = await eventuallyCanary(
          ns,
          'iris',
          'step 2 waiting for its canary pods',
          (md) => md.status?.canary?.phase === 'Scaling',
          90_000,
        );
        expect(scaling.status?.canary).toMatchObject({
          step: 1,
          weight: 10,
          lastAnalysis: { verdict: 'Pass', step: 0 },
        });
        expect(scaling.status?.canary?.message).toMatch(/1 of the 3 that 50% needs are ready/);
        expect(scaling.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
          status: 'False',
          reason: 'CanaryScaling',
        });
        expect((await trafficOf(ns, 'iris')).weight).toBe(10);
        await eventually(async () => (await deployment(ns, 'iris-canary'))?.status?.replicas === 3, {
          what: 'three canary pods for 50%',
        });
        await expectStableAtMinimum();
        await new Promise((r) => setTimeout(r, 12_000)); // longer than a step: nothing is judged meanwhile
        const stillScaling = (await getMD(ns, 'iris')).status!.canary!;
        expect(stillScaling).toMatchObject({ phase: 'Scaling', step: 1, weight: 10 });
        expect(stillScaling.lastAnalysis?.time).toBe(scaling.status?.canary?.lastAnalysis?.time);
        expect((await trafficOf(ns, 'iris')).weight).toBe(10);

        const podsReadyAt = Date.now();
        await markReady(ns, canarySelector('iris'));
        const second = await eventuallyCanary(
          ns,
          'iris',
          'step 2 at 50%',
          (md) => md.status?.canary?.step === 1 && md.status.canary.phase === 'Progressing',
          90_000,
        );
        expect(second.status?.canary).toMatchObject({
          phase: 'Progressing',
          weight: 50,
          lastAnalysis: { verdict: 'Pass', step: 0 },
        });
        // The step's clock starts when its weight is served, not when its predecessor passed.
        expect(Date.parse(second.status!.canary!.stepStartedAt)).toBeGreaterThanOrEqual(
          Math.floor(podsReadyAt / 1000) * 1000,
        );
        const checks = Object.fromEntries(
          second.status!.canary!.lastAnalysis!.checks.map((c) => [c.name, c]),
        );
        expect(checks.errorRate).toMatchObject({ value: 0, verdict: 'Pass' });
        expect(checks.requests?.value).toBeGreaterThanOrEqual(20);
        expect(checks.p99LatencySeconds?.verdict).toBe('Pass');
        await eventually(async () => (await trafficOf(ns, 'iris')).weight === 50, {
          what: 'weight 50 in the ConfigMap',
        });

        // The operator dies at step 2; its successor neither restarts the rollout nor skips the step.
        await operator.kill();
        const startedAt = second.status!.canary!.stepStartedAt;
        operator = startOperator({ identity: `canary-pass-2-${ns}`, namespace: ns, args });
        const promoting = await eventuallyCanary(
          ns,
          'iris',
          'Promoting',
          (md) => md.status?.canary?.phase === 'Promoting',
          90_000,
        );
        expect(promoting.status?.canary?.lastAnalysis).toMatchObject({ step: 1, verdict: 'Pass' });
        expect(Date.parse(promoting.status!.canary!.lastAnalysis!.time)).toBeGreaterThanOrEqual(
          Date.parse(startedAt) + 10_000,
        );

        // Promotion: the stable Deployment rolls to V2 with maxUnavailable 0, so the V1 pods
        // serve until V2 pods are ready; meanwhile the canary keeps its 50% and its three pods.
        await eventually(async () => modelURIOf(await deployment(ns, 'iris')) === V2, {
          what: 'the stable Deployment on V2',
        });
        const rolling = await deployment(ns, 'iris');
        expect(rolling?.spec?.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
        expect(rolling?.status?.readyReplicas ?? 0).toBeGreaterThanOrEqual(3);
        await new Promise((r) => setTimeout(r, 3_000)); // passes that saw the rolling update have run
        expect((await getMD(ns, 'iris')).status?.canary).toMatchObject({ phase: 'Promoting', weight: 50 });
        expect((await trafficOf(ns, 'iris')).weight).toBe(50);
        expect((await deployment(ns, 'iris-canary'))?.spec?.replicas).toBe(3);

        const done = await eventually(
          async () => {
            await markReady(ns, stableSelector('iris'));
            const md = await getMD(ns, 'iris');
            return md.status?.canary?.phase === 'Promoted' ? md : undefined;
          },
          { what: 'Promoted once every stable pod serves V2', timeoutMs: 90_000 },
        );
        // The weight goes back first; the canary's pods stay while the stable pods apply it.
        await eventually(async () => (await trafficOf(ns, 'iris')).weight === 0, {
          what: 'weight 0 once promoted',
        });
        const finishedAt = Date.parse(done.status!.canary!.finishedAt!);
        expect(Date.now()).toBeLessThan(finishedAt + drainSeconds * 1000);
        expect((await deployment(ns, 'iris-canary'))?.spec?.replicas).toBe(3);
        const promoted = await eventuallyCanary(
          ns,
          'iris',
          'Ready after promotion',
          (md) => md.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True',
        );
        expect(promoted.status?.artifact?.uri).toBe(V2);
        await eventually(async () => (await deployment(ns, 'iris-canary'))?.spec?.replicas === 0, {
          what: 'the canary scaled to 0 after the drain',
        });
        expect(Date.now()).toBeGreaterThanOrEqual(finishedAt + drainSeconds * 1000);
      } finally {
        clearInterval(load);
        await prom.stop();
        await Promise.all([stableProc.stop(), canaryProc.stop()]);
      }
    }, 360_000);

    it('rolls a canary that answers 5xx back to stable, with the reason in status and a Warning event', async () => {
      const ns = await freshNamespace(kc, 'k2k-canary-prom-');
      dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-canary-it-'));
      stableServer = await startTabularModelServer({ windowSize: 400, minSamples: 200 });
      // A real model server on the canary track whose artifact does not exist: every prediction 503.
      broken = spawnServer({
        K2K_MODEL_URI: joinURI(fileURI(dir), TABULAR_MODEL, '9'),
        K2K_MODEL_NAME: TABULAR_MODEL,
        K2K_TRACK: 'canary',
        K2K_BACKEND: 'wasm',
        K2K_LOAD_ATTEMPTS: '100',
        K2K_LOAD_RETRY_SECONDS: '60',
      });
      const brokenURL = await broken.listening();
      prometheus = await startPrometheus({
        targets: [
          { address: stableServer.address, labels: { namespace: ns, service: 'iris', pod: 'iris-0' } },
          {
            address: new URL(brokenURL).host,
            labels: { namespace: ns, service: 'iris-canary', pod: 'iris-canary-0' },
          },
        ],
      });
      traffic = sendTraffic([stableServer.url, brokenURL]);

      startOperator({
        identity: `canary-prom-${ns}`,
        namespace: ns,
        args: [`--prometheus-url=${prometheus.url}`],
      });
      await servingV1(ns, 'iris', { steps: [10, 50], intervalSeconds: 10, failureLimit: 1 });
      await patchMD(ns, 'iris', { spec: { model: { artifactURI: V2 } } });
      await eventually(async () => deployment(ns, 'iris-canary'), { what: 'the canary Deployment' });
      await markReady(ns, canarySelector('iris'));

      const rolledBack = await eventuallyCanary(
        ns,
        'iris',
        'RolledBack',
        (md) => md.status?.canary?.phase === 'RolledBack',
        90_000,
      );
      const c = rolledBack.status!.canary!;
      expect(c).toMatchObject({ step: 0, weight: 0, failedAnalyses: 1, lastAnalysis: { verdict: 'Fail' } });
      const errorRate = c.lastAnalysis!.checks.find((x) => x.name === 'errorRate');
      expect(errorRate).toMatchObject({ value: 1, stable: 0, verdict: 'Fail' });
      expect(c.message).toMatch(/rolled back at step 1 .*errorRate 1 > 0.01/);
      expect(rolledBack.status?.artifact?.uri).toBe(V1);
      expect(rolledBack.status?.conditions?.find((x) => x.type === 'Ready')).toMatchObject({
        status: 'False',
        reason: 'CanaryRolledBack',
      });
      expect(modelURIOf(await deployment(ns, 'iris'))).toBe(V1);
      await eventually(async () => (await trafficOf(ns, 'iris')).weight === 0, {
        what: 'weight 0 after the rollback',
      });
      await eventually(async () => (await deployment(ns, 'iris-canary'))?.spec?.replicas === 0, {
        what: 'the canary scaled to 0 after the rollback',
      });
      await eventually(
        async () => {
          const list = await events.listNamespacedEvent({ namespace: ns });
          return list.items.some((e) => e.reason === 'CanaryRolledBack' && e.type === 'Warning');
        },
        { what: 'a CanaryRolledBack Warning event' },
      );
    }, 240_000);
  });
});
