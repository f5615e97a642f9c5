// Fault tests of the operator process on the real control plane: crashes in the middle of work,
// watches gone silent and a child deleted behind its back. Every test proves its fault landed while
// work was in flight. (Faults of the control plane itself: controlplane-faults.test.ts.)
import { BatchV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { eventually } from '../harness/eventually.ts';
import { freshNamespace, testKubeConfig } from '../harness/kube.ts';
import {
  OPERATOR_ACCOUNT,
  OPERATOR_NAMESPACE,
  operatorsPerTest,
  serviceAccountKubeconfig,
  waitForLog,
} from '../harness/operator.ts';
import { kubeconfigFileVia, startProxy } from '../harness/proxy.ts';
import { TrainingJobBatch } from '../harness/trainingjob-batch.ts';

const kc = testKubeConfig();
const batch = kc.makeApiClient(BatchV1Api);
const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const startOperator = operatorsPerTest();

describe('the operator under faults', () => {
  it('leaves exactly one Job and a status for each of 500 TrainingJobs when killed again and again while creating them', async () => {
    // K2K_FAULT_TRAININGJOBS lowers it for a quick look on a loaded machine; CI runs 500.
    const total = Number(process.env.K2K_FAULT_TRAININGJOBS ?? 500);
    const ns = await freshNamespace(kc);
    const tjs = new TrainingJobBatch(kc, ns, total);
    let done = false;
    const creating = tjs.create(16).finally(() => {
      done = true;
    });

    // Kill the operator 0.5–2 s after it starts reconciling (SIGKILL: no draining, no lease release) and record what was
    // done at that moment; the kills go on until the creations are over and a kill found work left.
    const kills: Array<{ created: number; jobs: number; withStatus: number }> = [];
    const progress = async () => {
      const [withStatus, jobs] = await Promise.all([
        tjs.converged(),
        batch.listNamespacedJob({ namespace: ns }),
      ]);
      return { created: tjs.created, jobs: jobs.items.length, withStatus };
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
        async () => (await tjs.converged()) === total || undefined,
        // Three seconds per TrainingJob: on a 2-core machine at load 24 the operator managed one every 2 s.
        { what: `all ${total} TrainingJobs to report their Job`, timeoutMs: total * 3000, intervalMs: 1000 },
      );
      // One Job (and account, Role, RoleBinding) per TrainingJob, owned by it, named in its status.
      await tjs.expectEachConvergedOnce();
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
      await new TrainingJobBatch(kc, ns, 0).create(1, ['role']);
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
  it('notices watches gone silent mid-run (idle timeout), watches again and converges what it missed', async () => {
    const t0 = Date.now();
    const ns = await freshNamespace(kc);
    const tjs = new TrainingJobBatch(kc, ns, 60);
    await tjs.create();
    // The operator talks to the API server through a proxy that can make its connections go silent
    // without closing them, as a NAT or load balancer does when it drops its state.
    const proxy = await startProxy(new URL(kc.getCurrentCluster()!.server));
    const viaProxy = await kubeconfigFileVia(
      await serviceAccountKubeconfig(process.env.K2K_TEST_KUBECONFIG!, OPERATOR_NAMESPACE, OPERATOR_ACCOUNT),
      proxy.url,
    );
    const op = startOperator({
      identity: 'half-open',
      namespace: ns,
      kubeconfig: viaProxy,
      // Slow enough (about 7 requests per TrainingJob) that the freeze strikes mid-run.
      args: ['--watch-idle-seconds=10', '--kube-api-qps=30', '--kube-api-burst=30'],
    });
    const idleRestarts = () =>
      op
        .logs()
        .split('\n')
        .filter((l) => l.includes('watch idle, reconnecting') && l.includes('trainingjobs.k2k.dev')).length;
    try {
      await waitForLog(op, /"msg":"started"/, 60_000);
      const before = await eventually(
        async () => {
          const c = await tjs.converged();
          return c >= 6 ? c : undefined;
        },
        { what: '6 TrainingJobs converged', timeoutMs: 120_000, intervalMs: 100 },
      );
      const idleBefore = idleRestarts();
      proxy.freeze();
      const frozenAt = Date.now();
      // Counted by the test's own connection, which the proxy does not carry.
      const after = await tjs.converged();
      expect(before).toBeGreaterThan(0);
      expect(after).toBeLessThan(tjs.total);
      // Work the operator can hear of only through a new watch: the frozen one never delivers it.
      const late = Array.from({ length: 10 }, (_, i) => `late-${i}`);
      await tjs.create(4, late);
      await eventually(async () => (await tjs.converged()) === tjs.total + late.length || undefined, {
        what: 'every TrainingJob, those created after the freeze too, converged',
        // About 35 s here: one 30 s request timeout, then the work. Requests sent on the pool's
        // other dead connections one by one took 2 minutes (rest.ts, dropIdleSockets).
        timeoutMs: 90_000,
        intervalMs: 500,
      });
      console.log(
        `frozen with ${before}..${after}/${tjs.total} converged; all converged ${((Date.now() - frozenAt) / 1000).toFixed(1)}s later; ` +
          `test ${((Date.now() - t0) / 1000).toFixed(1)}s`,
      );
      // It noticed by itself: the TrainingJob watch went idle and was made again.
      expect(idleRestarts()).toBeGreaterThan(idleBefore);
      await tjs.expectEachConvergedOnce(late);
    } catch (err) {
      console.log(op.logs().slice(-4000));
      throw err;
    } finally {
      // The proxy first: a graceful stop would otherwise wait on requests stuck in frozen connections.
      await proxy.close();
      await op.stop();
    }
  }, 400_000);
});
