// Integration tests: a real kube-apiserver (the vitest global setup starts it).
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { apply, fenceWrites } from './apply.ts';
import { RuntimeErrorCode } from './errors.ts';
import { type LeaderElectionOptions, LeaderElector } from './leader.ts';
import { kubeRequest, resourcePath } from './rest.ts';
import {
  eventually,
  freshNamespace,
  kubeConfigVia,
  startProxy,
  testKubeConfig,
  testLogger,
} from './testdata/helpers.ts';

// Short, so takeovers happen within seconds; the same timings as testdata/manager-process.ts.
const timings = { leaseDurationSeconds: 3, renewDeadlineSeconds: 2, retryPeriodSeconds: 0.5 };

interface LeaseSpec {
  holderIdentity?: string;
  leaseTransitions?: number;
  renewTime?: string;
}

async function leaseSpec(namespace: string, name = 'runtime-test'): Promise<LeaseSpec | undefined> {
  const kc = testKubeConfig();
  const path = resourcePath({ apiVersion: 'coordination.k8s.io/v1', plural: 'leases', namespace, name });
  return (await kubeRequest<{ spec?: LeaseSpec }>(kc, { path }).catch(() => undefined))?.spec;
}

/** A candidate in this process, with a record of its callbacks. */
function candidate(namespace: string, identity: string) {
  const opts: LeaderElectionOptions = { namespace, name: 'runtime-test', identity, ...timings };
  const elector = new LeaderElector(testKubeConfig(), opts, testLogger());
  const calls: string[] = [];
  const done = elector.run({
    onStartedLeading: () => {
      calls.push('started');
    },
    onStoppedLeading: () => {
      calls.push('stopped');
    },
  });
  return { identity, elector, calls, done };
}

/** Samples both candidates while `ms` pass and fails if they ever lead at the same time. */
async function neverBothLead(a: LeaderElector, b: LeaderElector, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    expect(a.isLeader() && b.isLeader()).toBe(false);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** testdata/manager-process.ts as a child process; resolves once its manager has started. */
async function managerProcess(
  namespace: string,
  identity: string,
): Promise<{ child: ChildProcess; lines: string[] }> {
  const script = fileURLToPath(new URL('./testdata/manager-process.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, LEASE_NAMESPACE: namespace, IDENTITY: identity },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(l);
    if (process.env.K2K_TEST_LOG) process.stderr.write(`[${identity}] ${l}\n`);
  });
  await eventually(() => lines.some((l) => l.includes('"manager started"')), {
    what: `${identity} to start`,
    timeoutMs: 60_000,
  });
  return { child, lines };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describe('LeaderElector', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('lets exactly one of two candidates lead, and the other take over at once when the leader stops', async () => {
    const namespace = await freshNamespace(testKubeConfig());
    const a = candidate(namespace, 'a');
    const b = candidate(namespace, 'b');
    cleanups.push(
      () => a.elector.stop(),
      () => b.elector.stop(),
    );

    const first = await eventually(() => [a, b].find((c) => c.elector.isLeader()), { what: 'a leader' });
    const second = first === a ? b : a;
    await neverBothLead(a.elector, b.elector, 2000);
    expect((await leaseSpec(namespace))?.holderIdentity).toBe(first.identity);

    const stoppedAt = Date.now();
    await first.elector.stop();
    await first.done;
    expect(first.calls).toEqual(['started', 'stopped']);
    expect(first.elector.isLeader()).toBe(false);
    await eventually(() => second.elector.isLeader(), { what: `${second.identity} to take over` });
    // Reported, not asserted: timings on a shared 2-core machine are noise.
    console.log(
      `takeover after a release took ${Date.now() - stoppedAt}ms (lease ${timings.leaseDurationSeconds}s)`,
    );
    expect(second.calls).toEqual(['started']);
    const lease = await leaseSpec(namespace);
    expect(lease).toMatchObject({ holderIdentity: second.identity, leaseTransitions: 1 });
  });

  it('fences a leader cut off from the API server: it stops leading and writing before anyone can take over', async () => {
    const namespace = await freshNamespace(testKubeConfig());
    const admin = testKubeConfig();
    const proxy = await startProxy(new URL(admin.getCurrentCluster()!.server));
    cleanups.push(() => proxy.close());
    const cutOffKc = kubeConfigVia(admin, proxy.url);
    const cutOff = new LeaderElector(
      cutOffKc,
      { namespace, name: 'runtime-test', identity: 'cut-off', ...timings },
      testLogger(),
    );
    fenceWrites(cutOffKc, () => cutOff.isLeader());
    const stopped: number[] = [];
    const cutOffDone = cutOff.run({
      onStartedLeading: () => {},
      onStoppedLeading: () => void stopped.push(Date.now()),
    });
    cleanups.push(() => cutOff.stop());
    await eventually(() => cutOff.isLeader(), { what: 'cut-off to lead' });
    const probe = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fence', namespace } };
    await apply(cutOffKc, probe);

    const heir = candidate(namespace, 'heir');
    cleanups.push(() => heir.elector.stop());
    await proxy.cut();
    // Sample both: the first moment the heir leads must come after the cut-off one stopped.
    let cutOffEnded = 0;
    let heirStarted = 0;
    await eventually(
      async () => {
        if (!cutOffEnded && !cutOff.isLeader()) cutOffEnded = Date.now();
        if (!heirStarted && heir.elector.isLeader()) heirStarted = Date.now();
        return heirStarted > 0 || undefined;
      },
      { what: 'the heir to take over', intervalMs: 20 },
    );
    expect(cutOffEnded).toBeGreaterThan(0);
    expect(cutOffEnded).toBeLessThan(heirStarted);
    expect(stopped.length).toBe(1);
    expect(stopped[0]!).toBeLessThan(heirStarted);
    await expect(apply(cutOffKc, probe)).rejects.toMatchObject({ code: RuntimeErrorCode.NotLeader });
    console.log(`fenced ${heirStarted - cutOffEnded}ms before the heir took over`);
    await cutOff.stop();
    await cutOffDone;
  });

  it('takes over from a leader that was killed without releasing, once the lease expired', async () => {
    const namespace = await freshNamespace(testKubeConfig());
    const { child } = await managerProcess(namespace, 'doomed');
    cleanups.push(() => child.kill('SIGKILL'));
    await eventually(async () => (await leaseSpec(namespace))?.holderIdentity === 'doomed', {
      what: 'doomed to lead',
    });

    const heir = candidate(namespace, 'heir');
    cleanups.push(() => heir.elector.stop());
    // While the leader renews, the lease is never free: the heir still follows once the leader has
    // renewed the lease more than a lease duration after the heir began to try.
    const heirStarted = Date.now();
    await eventually(
      async () => {
        const renewed = Date.parse((await leaseSpec(namespace))?.renewTime ?? '');
        return renewed > heirStarted + timings.leaseDurationSeconds * 1000 + 1000;
      },
      { what: 'doomed to renew the lease past a lease duration', intervalMs: 100 },
    );
    expect(heir.elector.isLeader()).toBe(false);

    child.kill('SIGKILL');
    await exited(child);
    const killedAt = Date.now();
    await eventually(() => heir.elector.isLeader(), { what: 'heir to take over' });
    console.log(
      `takeover after a kill took ${Date.now() - killedAt}ms (lease ${timings.leaseDurationSeconds}s)`,
    );
    expect((await leaseSpec(namespace))?.holderIdentity).toBe('heir');
  });

  it('releases the lease when its manager gets SIGTERM, and exits cleanly', async () => {
    const namespace = await freshNamespace(testKubeConfig());
    const { child, lines } = await managerProcess(namespace, 'graceful');
    cleanups.push(() => child.kill('SIGKILL'));
    await eventually(async () => (await leaseSpec(namespace))?.holderIdentity === 'graceful', {
      what: 'graceful to lead',
    });
    // The controller only runs in the leader: it has reconciled the namespace's ConfigMap (kube-root-ca.crt).
    await eventually(() => lines.some((l) => l.includes('"reconciled"')), { what: 'a reconcile' });

    child.kill('SIGTERM');
    expect(await exited(child)).toEqual({ code: 0, signal: null });
    expect((await leaseSpec(namespace))?.holderIdentity ?? '').toBe('');
    const log = lines.map((l) => JSON.parse(l) as { msg: string });
    const order = ['signal received, stopping', 'stopped', 'released the lease'].map((m) =>
      log.findIndex((l) => l.msg === m),
    );
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((x, y) => x - y)).toEqual(order);
  });

  const invalid: Array<{ name: string; opts: Partial<LeaderElectionOptions>; message: RegExp }> = [
    {
      name: 'a lease duration that is not whole seconds',
      opts: { leaseDurationSeconds: 2.5 },
      message: /leaseDurationSeconds/,
    },
    {
      name: 'a renew deadline as long as the lease',
      opts: { leaseDurationSeconds: 5, renewDeadlineSeconds: 5 },
      message: /renewDeadlineSeconds \(5\)/,
    },
    {
      name: 'a retry period too close to the renew deadline',
      opts: { renewDeadlineSeconds: 2, retryPeriodSeconds: 2 },
      message: /retryPeriodSeconds \(2\)/,
    },
    { name: 'an empty identity', opts: { identity: '' }, message: /identity is empty/ },
  ];
  for (const c of invalid) {
    it(`refuses ${c.name}`, () => {
      const opts = { namespace: 'ns', name: 'l', identity: 'me', ...c.opts };
      expect(() => new LeaderElector(testKubeConfig(), opts)).toThrow(
        expect.objectContaining({
          code: RuntimeErrorCode.InvalidOptions,
          message: expect.stringMatching(c.message),
        }),
      );
    });
  }
});
