// A canary whose pods never become ready is rolled back at its progress deadline on the local
// cluster, with the kubelet's own account of why: the canary's artifact cannot be loaded (a file
// changed behind its manifest's back), so its model server exits with a coded termination message
// (api/model-load.ts) and is restarted in a loop. The stable pod keeps every request throughout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelDeployment } from '../../api/index.ts';
import { joinURI } from '../../lib/storage/index.ts';
import { writeTabularArtifact } from '../../server/test/fixtures.ts';
import { eventually } from '../harness/eventually.ts';
import {
  apply,
  clusterPace,
  failWithClusterState,
  isReady,
  kubectlJson,
  setArtifact,
  trafficWeight,
  waitForModelDeployment,
} from './kube.ts';
import { type TestStorage, testStorage } from './storage.ts';

const namespace = `e2e-canary-deadline-${Date.now().toString(36)}`;
// Long enough for the canary's model server to give up loading and say why before it.
const DEADLINE_SECONDS = 90;

const getMD = () => kubectlJson<ModelDeployment>(['get', 'modeldeployment', '-n', namespace, 'iris']);
describe('a canary that never becomes ready on the local cluster', () => {
  let storage: TestStorage | undefined;
  let v1 = '';
  let broken = '';

  beforeAll(async () => {
    storage = await testStorage(namespace, 'k2k-e2e-deadline');
    const models = `s3://${storage.bucket}/models`;
    v1 = await writeTabularArtifact(storage.store, models, 'iris', '1');
    broken = await writeTabularArtifact(storage.store, models, 'iris', '2');
    await storage.store.put(joinURI(broken, 'preprocessing.json'), '{}');
    await apply({
      apiVersion: 'k2k.dev/v1alpha1',
      kind: 'ModelDeployment',
      metadata: { name: 'iris', namespace },
      spec: {
        model: { artifactURI: v1 },
        storage: storage.spec,
        replicas: { min: 1, max: 1 },
        resources: { cpu: '100m', memory: '512Mi' },
        canary: { steps: [10, 50], intervalSeconds: 3600, progressDeadlineSeconds: DEADLINE_SECONDS },
      },
    });
  });

  afterAll(async () => {
    await storage?.stop();
  });

  it('is rolled back at its progress deadline with the reason its model server gave, the stable pod serving v1 and forwarding nothing', async () => {
    try {
      await waitForModelDeployment(namespace, 'iris', {
        what: 'the stable pod serving v1',
        until: (md) => md.status?.artifact?.uri === v1 && isReady(md),
        timeoutMs: 300_000,
      });
      await setArtifact(namespace, 'iris', broken);
      const weights = new Set<number>();
      const md = await eventually(
        async () => {
          weights.add(await trafficWeight(namespace, 'iris'));
          const got = await getMD();
          return got.status?.canary?.phase === 'RolledBack' ? got : undefined;
        },
        { what: 'the canary RolledBack', ...clusterPace, timeoutMs: (DEADLINE_SECONDS + 120) * 1000 },
      );
      const c = md.status!.canary!;
      expect(c).toMatchObject({ weight: 0, reason: 'ProgressDeadlineExceeded' });
      expect(Date.parse(c.finishedAt!) - Date.parse(c.waitingSince!)).toBeGreaterThanOrEqual(
        DEADLINE_SECONDS * 1000,
      );
      expect(c.message).toMatch(
        new RegExp(
          `progress deadline exceeded: 0 of the 1 canary pods that 10% needs were ready ${DEADLINE_SECONDS} s after .*ArtifactInvalid: model server in pod iris-canary-\\S+ cannot load the model: .*preprocessing\\.json`,
        ),
      );
      expect(md.status?.artifact?.uri).toBe(v1);
      expect(md.status?.conditions?.find((x) => x.type === 'Stalled')).toMatchObject({
        status: 'True',
        reason: 'CanaryRolledBack',
      });
      // The stable pod was told to forward nothing at any time, and served v1 throughout.
      expect([...weights]).toEqual([0]);
      const stable = await kubectlJson<{ status?: { readyReplicas?: number } }>([
        'get',
        'deployment',
        '-n',
        namespace,
        'iris',
      ]);
      expect(stable.status?.readyReplicas).toBe(1);
      await eventually(
        async () =>
          (
            await kubectlJson<{ spec?: { replicas?: number } }>([
              'get',
              'deployment',
              '-n',
              namespace,
              'iris-canary',
            ])
          ).spec?.replicas === 0,
        { what: 'the canary scaled to 0', ...clusterPace },
      );
    } catch (err) {
      await failWithClusterState(err, namespace, 'modeldeployment,deployments,pods,events');
    }
  }, 600_000);
});
