// A bad canary rolled back by the in-cluster Prometheus, with clients sending all along. The
// stable version takes 4 features; the canary is a version retrained with a fifth feature the
// clients do not send yet, so the canary rejects every request it gets (400 InvalidShape) and
// answers no 5xx: what the analysis's rejectionRate check is for (docs/canary.md). A client pod
// sends steady keep-alive REST traffic through the model's Service from before the canary until
// after the rollback, and serves its counts on :9000 for the test to read through the pod proxy.
// Every failure it saw must be one the stable pods forwarded to the canary; none of the stable
// share's requests fails, and every request after the rollback succeeds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tabularRows, writeTabularArtifact } from '../../server/test/fixtures.ts';
import { eventually } from '../harness/eventually.ts';
import {
  apply,
  clusterPace,
  kubectl,
  kubectlJson,
  podGet,
  podsMetric,
  readyPods,
  setArtifact,
  startPod,
  trafficWeight,
  waitForModelDeployment,
} from './kube.ts';
import { type TestStorage, testStorage } from './storage.ts';

const namespace = `e2e-bad-canary-${Date.now().toString(36)}`;
const MODEL = 'iris';
const CLIENT = 'client';
const describeKinds = 'modeldeployment,deployment,configmap,pods';

/** What the client pod has seen: `failures` by "<status> <code>" (or the socket error). */
interface ClientStats {
  counting: boolean;
  stopped: boolean;
  sent: number;
  ok: number;
  failed: number;
  failures: Record<string, number>;
  /** The last failures: when (epoch ms; the pod shares the machine's clock) and what. */
  recent: Array<[number, string]>;
}

/**
 * The client: two loops over one keep-alive agent, about 40 requests a second. It first waits for
 * one answer through the Service (kube-proxy may lag the endpoints by a moment) and counts from
 * that one on. GET /stats reads the counts; GET /stop ends the loops and answers once every
 * request in flight has finished.
 */
const clientScript = (url: string, body: string) => `
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
const stats = { counting: false, stopped: false, sent: 0, ok: 0, failed: 0, failures: {}, recent: [] };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const one = () => new Promise((resolve) => {
  const req = http.request(${JSON.stringify(url)}, { method: 'POST', agent, timeout: 10000,
    headers: { 'content-type': 'application/json' } }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => {
      let code = '';
      try { code = JSON.parse(Buffer.concat(chunks).toString()).code || ''; } catch {}
      resolve(res.statusCode === 200 ? undefined : res.statusCode + ' ' + code);
    });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => resolve(e.code || e.message));
  req.end(${JSON.stringify(body)});
});
const loop = async () => {
  while (!stats.stopped) {
    const failure = await one();
    stats.sent++;
    if (failure === undefined) stats.ok++;
    else {
      stats.failed++;
      stats.failures[failure] = (stats.failures[failure] || 0) + 1;
      stats.recent = [...stats.recent.slice(-19), [Date.now(), failure]];
    }
    await sleep(40);
  }
};
let loops;
http.createServer(async (req, res) => {
  if (req.url === '/stop') { stats.stopped = true; await loops; }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(stats));
}).listen(9000);
(async () => {
  while ((await one()) !== undefined) await sleep(200);
  Object.assign(stats, { counting: true, sent: 1, ok: 1 });
  loops = Promise.all([loop(), loop()]);
})();
`;

const clientStats = async (path = '/stats') =>
  JSON.parse(await podGet(namespace, CLIENT, 9000, path)) as ClientStats;

describe('a bad canary on the local cluster', () => {
  let storage: TestStorage | undefined;
  let good = '';
  let bad = '';

  beforeAll(async () => {
    storage = await testStorage(namespace, 'k2k-e2e-bad-canary');
    const { bucket, store } = storage;
    good = await writeTabularArtifact(store, `s3://${bucket}/models`, MODEL, '1');
    bad = await writeTabularArtifact(store, `s3://${bucket}/models`, MODEL, '2', {
      extraFeatures: ['f4'],
    });
    await apply([
      {
        apiVersion: 'k2k.dev/v1alpha1',
        kind: 'ModelDeployment',
        metadata: { name: MODEL, namespace },
        spec: {
          model: { artifactURI: good },
          storage: storage.spec,
          replicas: { min: 1, max: 1 },
          resources: { cpu: '250m', memory: '512Mi' },
          // Scraped every 5 s, so a 15 s window holds enough samples for increase().
          monitoring: { interval: '5s' },
          canary: { steps: [10, 50], intervalSeconds: 15, failureLimit: 1 },
        },
      },
    ]);
  });

  afterAll(() => storage?.stop());

  it('rolls a canary that rejects every request back automatically, and no request of the stable share fails', async () => {
    const t0 = Date.now();
    const seconds = () => ((Date.now() - t0) / 1000).toFixed(0);
    await waitForModelDeployment(namespace, MODEL, { timeoutMs: 240_000, describe: describeKinds });
    const stablePods = await readyPods(namespace, MODEL);
    expect(stablePods).toHaveLength(1);
    const inference = /endpoint="predict"/;
    const stableOwn = (match: RegExp = /.*/) =>
      podsMetric(
        namespace,
        stablePods,
        'k2k_requests_total',
        new RegExp(`${inference.source}.*${match.source}|${match.source}.*${inference.source}`),
      );
    const forwarded = (match?: RegExp) =>
      podsMetric(namespace, stablePods, 'k2k_canary_forwarded_total', match);
    const failedCode = /code="[^2]/;
    const before = {
      own: await stableOwn(),
      ownFailed: await stableOwn(failedCode),
      ownV1: await stableOwn(/version="1"/),
      forwarded: await forwarded(),
      forwardedFailed: await forwarded(failedCode),
    };

    const body = JSON.stringify({ instances: tabularRows(1, 3) });
    await startPod(
      namespace,
      CLIENT,
      clientScript(`http://${MODEL}.${namespace}.svc/v1/models/${MODEL}:predict`, body),
    );
    await eventually(
      async () => {
        const s = await clientStats();
        return s.counting && s.ok >= 40;
      },
      { what: 'the client sending through the Service', ...clusterPace },
    );
    const ready = seconds();

    await setArtifact(namespace, MODEL, bad);
    const rolledBack = await waitForModelDeployment(namespace, MODEL, {
      what: 'the bad canary RolledBack',
      until: (md) => md.status?.canary?.phase === 'RolledBack' || md.status?.canary?.phase === 'Promoting',
      timeoutMs: 300_000,
      intervalMs: 1_000,
      describe: describeKinds,
    });
    const rollback = seconds();
    // While the canary had its share, the client saw its rejections.
    const during = await clientStats();
    expect(during.failures['400 InvalidShape']).toBeGreaterThan(0);

    const c = rolledBack.status!.canary!;
    expect(c).toMatchObject({ phase: 'RolledBack', step: 0, weight: 0, failedAnalyses: 1 });
    expect(c.artifact.uri).toBe(bad);
    expect(c.lastAnalysis?.verdict).toBe('Fail');
    const checks = Object.fromEntries(c.lastAnalysis!.checks.map((x) => [x.name, x]));
    expect(checks.rejectionRate).toMatchObject({ stable: 0, threshold: 0.01, verdict: 'Fail' });
    expect(checks.rejectionRate?.value).toBeCloseTo(1, 2);
    // No 5xx: without the rejection check this canary would have held its step forever.
    expect(checks.errorRate).toMatchObject({ value: 0, verdict: 'Pass' });
    expect(checks.requests?.value).toBeGreaterThanOrEqual(20);
    expect(c.message).toMatch(/^rolled back at step 1 .*rejectionRate 1 > the stable track's 0 \+ 0\.01/);
    expect(rolledBack.status?.artifact?.uri).toBe(good);
    expect(rolledBack.status?.conditions?.find((x) => x.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'CanaryRolledBack',
    });
    const events = await kubectlJson<{ items: Array<{ type: string; reason: string; message: string }> }>([
      'get',
      'events',
      '-n',
      namespace,
      '--field-selector',
      `involvedObject.name=${MODEL},reason=CanaryRolledBack`,
    ]);
    expect(events.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Warning', message: expect.stringMatching(/rejectionRate/) }),
      ]),
    );

    // The rollback takes the canary's share away: weight 0 for the stable pods, the canary gone.
    await eventually(
      async () =>
        (await trafficWeight(namespace, MODEL)) === 0 &&
        (
          await kubectl([
            'get',
            'pods',
            '-n',
            namespace,
            '-l',
            `app.kubernetes.io/instance=${MODEL}-canary`,
            '-o',
            'name',
          ])
        ).trim() === '',
      { what: 'weight 0 and no canary pod left', ...clusterPace },
    );
    const after = await clientStats();
    const rolledBackAt = Date.now();
    await eventually(async () => (await clientStats()).sent >= after.sent + 200, {
      what: '200 more requests after the rollback',
      ...clusterPace,
    });
    const final = await clientStats('/stop');
    const done = seconds();
    const own = (await stableOwn()) - before.own;
    const ownFailed = (await stableOwn(failedCode)) - before.ownFailed;
    const ownV1 = (await stableOwn(/version="1"/)) - before.ownV1;
    const forwardedAll = (await forwarded()) - before.forwarded;
    const forwardedFailed = (await forwarded(failedCode)) - before.forwardedFailed;
    const canaryLines = (await podGet(namespace, stablePods[0]!, 8080, '/metrics'))
      .split('\n')
      .filter((l) => l.startsWith('k2k_canary_'));
    process.stdout.write(
      `bad canary: Ready at ${ready}s, RolledBack at ${rollback}s, done at ${done}s; ` +
        `client ${JSON.stringify({ ...final, recent: final.recent.map(([t, k]) => [t - rolledBackAt, k]) })} ` +
        `(recent: ms after the canary was gone); stable answered ${own}, forwarded ${forwardedAll} ` +
        `(${forwardedFailed} failed)\n${canaryLines.join('\n')}\nlast analysis: ${JSON.stringify(c.lastAnalysis)}\n`,
    );

    // After the rollback every request succeeds.
    expect(final.failed).toBe(after.failed);
    // Every failure the client saw was answered by the canary track: the stable pod forwarded
    // exactly that many requests that did not succeed, and failed none of its own.
    expect(final.failed).toBeGreaterThan(0);
    expect(forwardedFailed).toBe(final.failed);
    expect(ownFailed).toBe(0);
    // Every request counted: answered by the stable pod (v1) or forwarded to the canary.
    expect(own + forwardedAll).toBe(final.sent);
    // The stable pod served the good version throughout.
    expect(ownV1).toBe(own);
  }, 600_000);
});
