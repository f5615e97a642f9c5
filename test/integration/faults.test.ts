// Fault tests of the operator process on the real control plane: crashes in the middle of work and
// a child deleted behind its back. Every test proves its fault landed while work was in flight.
import { BatchV1Api, CustomObjectsApi, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { TrainingJob } from '../../api/index.ts';
import { eventually } from '../harness/eventually.ts';
import { freshNamespace, testKubeConfig } from '../harness/kube.ts';
import { operatorsPerTest, waitForLog } from '../harness/operator.ts';

const kc = testKubeConfig();
const batch = kc.makeApiClient(BatchV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
const group = { group: 'k2k.dev', version: 'v1alpha1', plural: 'trainingjobs' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const startOperator = operatorsPerTest();

/** Suspended, so the Jobs start no pods: the test measures the operator, not the scheduler. */
const suspendedTrainingJob = (name: string) => ({
  apiVersion: 'k2k.dev/v1alpha1',
  kind: 'TrainingJob',
  metadata: { name },
  spec: {
    suspend: true,
    model: { architecture: 'mnist-mlp' },
    dataset: { format: 'mnist-idx', uri: 's3://datasets/mnist/' },
    output: { uri: 's3://models/' },
    storage: { endpoint: 'http://127.0.0.1:9', credentialsSecretRef: { name: 'storage' } },
  },
});

async function trainingJobs(namespace: string): Promise<TrainingJob[]> {
  return ((await custom.listNamespacedCustomObject({ ...group, namespace })) as { items: TrainingJob[] })
    .items;
}

/** Runs `work` on every item with at most `n` in flight. */
async function pool<T>(items: T[], n: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

describe('the operator under faults', () => {
  it('leaves exactly one Job and a status for each of 500 TrainingJobs when killed again and again while creating them', async () => {
    // K2K_FAULT_TRAININGJOBS lowers it for a quick look on a loaded machine; CI runs 500.
    const total = Number(process.env.K2K_FAULT_TRAININGJOBS ?? 500);
    const ns = await freshNamespace(kc);
    const names = Array.from({ length: total }, (_, i) => `tj-${i}`);
    let created = 0;
    const creating = pool(names, 16, async (name) => {
      await custom.createNamespacedCustomObject({
        ...group,
        namespace: ns,
        body: suspendedTrainingJob(name),
      });
      created++;
    });
    let done = false;
    void creating.finally(() => {
      done = true;
    });

    // Kill the operator 0.5–2 s after it starts reconciling (SIGKILL: no draining, no lease release) and record what was
    // done at that moment; the kills go on until the creations are over and a kill found work left.
    const kills: Array<{ created: number; jobs: number; withStatus: number }> = [];
    const progress = async () => {
      const [tjs, jobs] = await Promise.all([trainingJobs(ns), batch.listNamespacedJob({ namespace: ns })]);
      return {
        created,
        jobs: jobs.items.length,
        withStatus: tjs.filter((tj) => tj.status?.jobName).length,
      };
    };
    const inFlight = (p: { created: number; jobs: number; withStatus: number }) =>
      p.created < total || p.jobs < total || p.withStatus < total;
    for (let round = 0; ; round++) {
      const op = startOperator({
        identity: `crashy-${round}`,
        namespace: ns,
      });
      // Startup (tsx, caches) takes seconds on a loaded machine: kill once it reconciles.
      await waitForLog(op, /"msg":"started"/, 60_000);
      await sleep(500 + Math.random() * 1500);
      const before = await progress();
      await op.kill();
      kills.push(before);
      if (done && kills.some(inFlight) && kills.length >= 3) break;
      if (round > 60) throw new Error(`still creating after ${round} kills: ${JSON.stringify(kills)}`);
    }
    await creating;
    console.log(
      `kills at (created, jobs, with status): ${kills.map((k) => `${k.created}/${k.jobs}/${k.withStatus}`).join(' ')}`,
    );
    // The fault must have hit work in flight: a kill after everything converged proves nothing.
    expect(kills.filter(inFlight).length).toBeGreaterThanOrEqual(2);

    const last = startOperator({ identity: 'survivor', namespace: ns });
    try {
      await eventually(
        async () => (await trainingJobs(ns)).filter((tj) => tj.status?.jobName).length === total || undefined,
        // Three seconds per TrainingJob: on a 2-core machine at load 24 the operator managed one every 2 s.
        { what: `all ${total} TrainingJobs to report their Job`, timeoutMs: total * 3000, intervalMs: 1000 },
      );
      const jobs = (await batch.listNamespacedJob({ namespace: ns })).items;
      const owners = jobs.map((j) => j.metadata!.ownerReferences!.find((r) => r.controller)!.name);
      expect(jobs).toHaveLength(total);
      expect(new Set(owners)).toEqual(new Set(names));
      for (const tj of await trainingJobs(ns)) expect(tj.status?.jobName).toBe(tj.metadata.name);
    } catch (err) {
      console.log(JSON.stringify(await progress()), last.logs().slice(-4000));
      throw err;
    } finally {
      await last.stop();
    }
  }, 1_500_000);

  it('makes a deleted child Role again', async () => {
    const ns = await freshNamespace(kc);
    const op = startOperator({
      identity: 'resyncer',
      namespace: ns,
      args: ['--resync-seconds=2'],
    });
    try {
      await custom.createNamespacedCustomObject({
        ...group,
        namespace: ns,
        body: suspendedTrainingJob('role'),
      });
      const first = await eventually(
        async () => rbac.readNamespacedRole({ namespace: ns, name: 'role-trainer' }).catch(() => undefined),
        { what: 'the trainer Role', timeoutMs: 90_000 },
      );
      await rbac.deleteNamespacedRole({ namespace: ns, name: 'role-trainer' });
      const again = await eventually(
        async () => rbac.readNamespacedRole({ namespace: ns, name: 'role-trainer' }).catch(() => undefined),
        { what: 'the trainer Role to be made again', timeoutMs: 90_000 },
      );
      expect(again.metadata!.uid).not.toBe(first.metadata!.uid);
      expect(again.rules).toEqual(first.rules);
    } catch (err) {
      console.log(op.logs().slice(-3000));
      throw err;
    } finally {
      await op.stop();
    }
  });
});
