// Fault tests that take the control plane itself down, on a control plane of this file's own (the
// shared one serves every other test file at the same time): kube-apiserver and etcd restarted
// while the operator converges a batch, and the leader killed under load with the API server's
// audit log as the witness of who wrote what, when. Each test proves its fault landed while work
// was in flight: some but not all TrainingJobs had converged when it struck.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ControlPlane,
  type RestartableComponent,
  startControlPlane,
} from '../../hack/cluster/controlplane.ts';
import { installCRDs } from '../harness/crds.ts';
import { eventually } from '../harness/eventually.ts';
import { freshNamespace } from '../harness/kube.ts';
import { OPERATOR_NAMESPACE, operatorsPerTest, probeUrl, watchHealth } from '../harness/operator.ts';
import { TrainingJobBatch } from '../harness/trainingjob-batch.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** Every write is audited with who sent it (user agent) and when the API server received and answered it. */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [create, update, patch, delete, deletecollection]
  - level: None
`;

interface AuditEvent {
  stage: string;
  verb: string;
  userAgent?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp: string;
  stageTimestamp: string;
}

// 200 TrainingJobs at 40 requests/s (6 writes each, and reads) take the operator some 30 s, so a
// fault that strikes once a twentieth have converged lands with most of the work still to do.
const TOTAL = Number(process.env.K2K_FAULT_TRAININGJOBS ?? 200);
const SLOW = ['--kube-api-qps=40', '--kube-api-burst=40'];

let cp: ControlPlane;
let admin: KubeConfig;
let auditDir: string;
const auditLog = () => join(auditDir, 'audit.log');

beforeAll(async () => {
  auditDir = await mkdtemp(join(tmpdir(), 'k2k-audit-'));
  await writeFile(join(auditDir, 'policy.yaml'), AUDIT_POLICY);
  // No controller manager or scheduler: suspended Jobs need neither, and the machine is shared.
  cp = await startControlPlane({
    controllerManager: false,
    scheduler: false,
    apiserverArgs: [
      `--audit-policy-file=${join(auditDir, 'policy.yaml')}`,
      `--audit-log-path=${auditLog()}`,
      '--audit-log-format=json',
    ],
  });
  await installCRDs(`${cp.binDir}/kubectl`, cp.kubeconfigPath);
  admin = new KubeConfig();
  admin.loadFromFile(cp.kubeconfigPath);
}, 300_000);

afterAll(async () => {
  await cp?.stop();
  if (auditDir) await rm(auditDir, { recursive: true, force: true });
});

const startOperator = operatorsPerTest(() => ({
  kubectl: `${cp.binDir}/kubectl`,
  kubeconfig: cp.kubeconfigPath,
}));

/**
 * The operator's successful writes to `namespace`'s TrainingJobs and their children (events left
 * out: they are not fenced), as the API server's audit log has them.
 */
async function operatorWrites(namespace: string): Promise<AuditEvent[]> {
  return (await readFile(auditLog(), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEvent)
    .filter(
      (e) =>
        e.stage === 'ResponseComplete' &&
        e.objectRef?.namespace === namespace &&
        e.objectRef.resource !== 'events' &&
        (e.responseStatus?.code ?? 500) < 300 &&
        e.userAgent?.startsWith('k2k-operator/'),
    );
}

const received = (e: AuditEvent) => Date.parse(e.requestReceivedTimestamp);

/** Waits until at least `n` of the batch converged (the work is under way) and returns the count. */
function convergedAtLeast(batch: TrainingJobBatch, n: number, timeoutMs = 120_000): Promise<number> {
  return eventually(
    async () => {
      const c = await batch.converged();
      return c >= n ? c : undefined;
    },
    { what: `${n} TrainingJobs converged`, timeoutMs, intervalMs: 100 },
  );
}

describe('the operator through control-plane faults', () => {
  for (const component of ['kube-apiserver', 'etcd'] as RestartableComponent[]) {
    it(`converges every TrainingJob exactly once when ${component} restarts mid-run, and never fails liveness`, async () => {
      const t0 = Date.now();
      const ns = await freshNamespace(admin);
      const batch = new TrainingJobBatch(admin, ns, TOTAL);
      await batch.create();
      const op = startOperator({ identity: `through-${component}`, namespace: ns, args: SLOW });
      const health = watchHealth(op, await probeUrl(op));
      try {
        const before = await convergedAtLeast(batch, Math.ceil(TOTAL / 20));
        // A crash (SIGKILL): stopped gracefully, kube-apiserver goes on serving the operator's open
        // connections for seconds, long enough to finish the batch before it is gone.
        await cp.stopComponent(component, { crash: true });
        const down = Date.now();
        // Long enough that requests fail and watches break, not just slow down.
        await sleep(3000);
        await cp.startComponent(component);
        const up = Date.now();
        console.log(`${component} down for ${seconds(up - down)} after ${before}/${TOTAL} converged`);
        expect(before).toBeGreaterThan(0);

        await convergedAtLeast(batch, TOTAL, 120_000);
        const convergedAfterUp = Date.now() - up;
        // Watches resumed: a TrainingJob created now reaches the operator only through its watch.
        await batch.create(1, ['late']);
        await eventually(
          async () => (await batch.trainingJobs()).find((tj) => tj.metadata.name === 'late')?.status?.jobName,
          { what: 'the TrainingJob created after the restart to converge', timeoutMs: 30_000 },
        );
        console.log(
          `${component}: all ${TOTAL} converged ${seconds(convergedAfterUp)} after it was back; test ${seconds(Date.now() - t0)}`,
        );
        await batch.expectEachConvergedOnce(['late']);
        // The work left when it went down: a converged TrainingJob's status is not written again,
        // so each one whose status was written after the crash had not converged at the crash.
        const unfinished = new Set(
          (await operatorWrites(ns))
            .filter((e) => e.objectRef?.subresource === 'status' && received(e) > down)
            .map((e) => e.objectRef!.name),
        );
        unfinished.delete('late');
        console.log(
          `${component}: ${unfinished.size}/${TOTAL} TrainingJobs had not converged when it went down`,
        );
        expect(unfinished.size).toBeGreaterThan(0);
        expect(unfinished.size).toBeLessThanOrEqual(TOTAL - before);
        const { samples, failures, exited } = await health.stop();
        expect(exited).toBe(false);
        expect(failures).toEqual([]);
        expect(samples).toBeGreaterThan(10);
      } catch (err) {
        await health.stop();
        console.log(op.logs().slice(-4000));
        throw err;
      }
    }, 400_000);
  }

  it('hands over to the standby when the leader is killed under load, with writes from one leader at a time', async () => {
    const t0 = Date.now();
    const ns = await freshNamespace(admin);
    const batch = new TrainingJobBatch(admin, ns, TOTAL);
    const electionId = `handover-${ns}`;
    const replica = (identity: string) =>
      startOperator({
        identity,
        namespace: ns,
        leaderElect: true,
        // Renew deadline 4 s, retry every second: the standby takes over within seconds.
        leaseDurationSeconds: 6,
        args: [...SLOW, `--leader-election-id=${electionId}`],
      });
    const first = replica('replica-a');
    const second = replica('replica-b');
    try {
      const leases = admin.makeApiClient(CoordinationV1Api);
      const holder = async () =>
        (await leases.readNamespacedLease({ name: electionId, namespace: OPERATOR_NAMESPACE })).spec
          ?.holderIdentity;
      const leaderName = await eventually(holder, { what: 'a leader', timeoutMs: 90_000 });
      const [leader, standby] = leaderName === first.identity ? [first, second] : [second, first];
      // The standby campaigns (its informers are synced and it asks for the lease) before the load starts.
      const standbyProbe = await probeUrl(standby);
      await eventually(async () => (await fetch(`${standbyProbe}/readyz`)).status === 200 || undefined, {
        what: 'the standby ready',
        timeoutMs: 90_000,
      });

      // About 20 creations a second, and the kill as soon as the leader has finished a few, so it
      // lands while TrainingJobs are still being created even when a loaded machine slows the
      // operator down (waiting for a tenth of the batch let all 200 be created first).
      const creating = batch.create(2, batch.names, 100);
      const before = await convergedAtLeast(batch, 5);
      const createdAtKill = batch.created;
      const killedAt = new Date();
      await leader.kill();
      // Nobody can take over for seconds (the lease was renewed within the last one): this counts the
      // work the killed leader left behind.
      const after = await batch.converged();
      console.log(
        `leader ${leader.identity} killed with ${before}..${after}/${TOTAL} converged, ${createdAtKill} created`,
      );
      expect(before).toBeGreaterThan(0);
      expect(after).toBeLessThan(TOTAL);
      expect(createdAtKill).toBeLessThan(TOTAL);

      await creating;
      await convergedAtLeast(batch, TOTAL, 180_000);
      console.log(
        `handover: all ${TOTAL} converged ${seconds(Date.now() - killedAt.getTime())} after the kill`,
      );
      await batch.expectEachConvergedOnce();
      expect(await holder()).toBe(standby.identity);

      // The audit log: every successful write to this namespace's TrainingJobs and their children,
      // by replica (its user agent). The old leader's last write was answered before the new
      // leader's first one was received, and every write after the kill is the new leader's.
      const writes = await operatorWrites(ns);
      const by = (op: { identity: string }) =>
        writes.filter((e) => e.userAgent === `k2k-operator/${op.identity}`);
      const old = by(leader);
      const successor = by(standby);
      expect(old.length + successor.length).toBe(writes.length);
      expect(old.length).toBeGreaterThan(0);
      expect(successor.length).toBeGreaterThan(0);
      const lastOld = old.map((e) => Date.parse(e.stageTimestamp)).reduce((a, b) => Math.max(a, b));
      const firstNew = successor.map(received).reduce((a, b) => Math.min(a, b));
      console.log(
        `writes: ${old.length} by ${leader.identity} until ${new Date(lastOld).toISOString()}, ` +
          `${successor.length} by ${standby.identity} from ${new Date(firstNew).toISOString()} ` +
          `(killed at ${killedAt.toISOString()}); test ${seconds(Date.now() - t0)}`,
      );
      expect(lastOld).toBeLessThan(firstNew);
      expect(firstNew).toBeGreaterThan(killedAt.getTime());
    } catch (err) {
      console.log(first.logs().slice(-3000), second.logs().slice(-3000));
      throw err;
    }
  }, 400_000);
});
