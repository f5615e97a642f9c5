import { describe, expect, it } from 'vitest';
import type {
  CanaryStatus,
  Condition,
  ModelDeployment,
  RetrainingSpec,
  RetrainingStatus,
  TrainingJob,
} from '../../../api/index.ts';
import { desiredRetrain, ownedRetrains, retrainName } from './desired-retrain.ts';
import { CACHE_GRACE_MS, nextRetrainState, type OwnedRetrain, type RetrainObserved } from './retrain.ts';

const spec: RetrainingSpec = {
  template: {
    model: { architecture: 'mnist-mlp' },
    dataset: { format: 'mnist-idx', uri: 's3://datasets/mnist/' },
    output: { uri: 's3://models/' },
  } as RetrainingSpec['template'],
  driftForSeconds: 600,
  cooldownSeconds: 3600,
  maxConcurrent: 1,
};
const STABLE = 's3://models/mnist/1/';
const RETRAINED = { uri: 's3://models/mnist/2/', version: '2' };
const T0 = new Date('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const iso = (s: number) => `${at(s).toISOString().slice(0, 19)}Z`;

const drifting = (sinceS: number): Condition => ({
  type: 'Drifting',
  status: 'True',
  reason: 'FeatureDrift',
  message: `1 input feature(s) drift since ${iso(sinceS)}: pixels (PSI 0.900)`,
  lastTransitionTime: iso(sinceS),
});
const stable: Condition = {
  type: 'Drifting',
  status: 'False',
  reason: 'NoDrift',
  message: 'no input feature drifts',
  lastTransitionTime: iso(0),
};

function retrainTJ(index: number, phase?: 'Running' | 'Succeeded' | 'Failed'): OwnedRetrain {
  const conditions: Condition[] =
    phase === 'Succeeded' || phase === 'Failed'
      ? [
          {
            type: phase,
            status: 'True',
            reason: phase === 'Failed' ? 'TrainerFailed' : 'Succeeded',
            message: phase === 'Failed' ? 'exit code 1' : 'done',
            lastTransitionTime: iso(0),
          },
        ]
      : [];
  return {
    index,
    trainingJob: {
      apiVersion: 'k2k.dev/v1alpha1',
      kind: 'TrainingJob',
      metadata: {
        name: retrainName('mnist', index),
        creationTimestamp: at(1000) as unknown as Date,
        annotations: { 'k2k.dev/retrain-reason': 'drift', 'k2k.dev/retrain-replaces': STABLE },
      },
      spec: spec.template as TrainingJob['spec'],
      status: {
        ...(phase ? { phase } : {}),
        conditions,
        ...(phase === 'Succeeded' ? { artifact: RETRAINED } : {}),
      },
    },
  };
}

const observed = (o: Partial<RetrainObserved> = {}): RetrainObserved => ({
  name: 'mnist',
  drifting: drifting(0),
  specModel: STABLE,
  retrains: [],
  ...o,
});
const runningStatus = (o: Partial<RetrainingStatus> = {}): RetrainingStatus => ({
  count: 1,
  current: {
    name: 'mnist-retrain-1',
    phase: 'Running',
    startedAt: iso(1000),
    reason: 'drift',
    replaces: STABLE,
  },
  message: '',
  ...o,
});
const succeededStatus = (o: Partial<NonNullable<RetrainingStatus['last']>> = {}): RetrainingStatus => ({
  count: 1,
  last: {
    name: 'mnist-retrain-1',
    outcome: 'Succeeded',
    finishedAt: iso(2000),
    message: '',
    replaces: STABLE,
    artifact: RETRAINED,
    ...o,
  },
  message: '',
});
const canary = (phase: CanaryStatus['phase']): CanaryStatus => ({
  phase,
  artifact: RETRAINED,
  step: 0,
  weight: phase === 'Progressing' ? 10 : 0,
  stepStartedAt: iso(2000),
  failedAnalyses: 0,
  message: `canary ${phase}`,
});

describe('deciding when to retrain', () => {
  it.each<[string, RetrainingStatus | undefined, RetrainObserved, Date, boolean, RegExp]>([
    [
      'waits while the model does not drift',
      undefined,
      observed({ drifting: stable }),
      at(5000),
      false,
      /no retrain: Drifting is False \(NoDrift\)/,
    ],
    [
      'waits while Drifting is not known',
      undefined,
      observed({ drifting: undefined }),
      at(5000),
      false,
      /Drifting is not known yet/,
    ],
    [
      'waits while the drift has not held for driftForSeconds',
      undefined,
      observed(),
      at(599),
      false,
      /a retrain starts in 1s if the drift holds/,
    ],
    [
      'starts a retrain once the drift held for driftForSeconds',
      undefined,
      observed(),
      at(600),
      true,
      /retrain mnist-retrain-1 started: Drifting since 2026-01-01T00:00:00Z: 1 input feature/,
    ],
    [
      'never starts a second retrain while one runs',
      runningStatus(),
      observed({ retrains: [retrainTJ(1, 'Running')] }),
      at(5000),
      false,
      /retrain mnist-retrain-1 is Running/,
    ],
    [
      'waits out the cooldown and says how long is left',
      { count: 1, nextAllowedAt: iso(4000), message: '' },
      observed(),
      at(2200),
      false,
      /cooling down: no retrain before 2026-01-01T01:06:40Z \(30m left\)/,
    ],
    [
      'starts again once the cooldown is over',
      { count: 1, nextAllowedAt: iso(4000), message: '' },
      observed(),
      at(4000),
      true,
      /retrain mnist-retrain-2 started/,
    ],
    [
      'starts no retrain while the retrained canary runs',
      succeededStatus(),
      observed({ canary: canary('Progressing') }),
      at(9000),
      false,
      /the canary of s3:\/\/models\/mnist\/2\/ from retrain mnist-retrain-1 runs \(canary Progressing\)/,
    ],
    [
      'starts nothing before spec.model names an artifact',
      undefined,
      observed({ specModel: undefined }),
      at(5000),
      false,
      /spec.model does not name an artifact/,
    ],
  ])('%s', (_name, current, obs, now, starts, message) => {
    const d = nextRetrainState(current, spec, obs, now);
    expect(d.status.message).toMatch(message);
    expect(d.start !== undefined).toBe(starts);
  });

  it('names the TrainingJob after the deployment and the counter, records why, and says so in an event', () => {
    const d = nextRetrainState({ count: 4, message: '' }, spec, observed(), at(700));
    expect(d.start).toEqual({
      index: 5,
      name: 'mnist-retrain-5',
      reason: expect.stringMatching(/^Drifting since 2026-01-01T00:00:00Z: .*pixels/),
      replaces: STABLE,
    });
    expect(d.status).toMatchObject({
      count: 5,
      current: { name: 'mnist-retrain-5', phase: 'Pending', replaces: STABLE },
    });
    expect(d.event).toMatchObject({ type: 'Normal', reason: 'RetrainStarted' });
  });

  it('rolls the artifact of a succeeded retrain out as the canary', () => {
    const d = nextRetrainState(
      runningStatus(),
      spec,
      observed({ retrains: [retrainTJ(1, 'Succeeded')] }),
      at(2000),
    );
    expect(d.artifact).toEqual(RETRAINED);
    expect(d.status.current).toBeUndefined();
    expect(d.status.last).toMatchObject({
      name: 'mnist-retrain-1',
      outcome: 'Succeeded',
      artifact: RETRAINED,
    });
    expect(d.event).toMatchObject({ type: 'Normal', reason: 'RetrainSucceeded' });
    expect(d.start).toBeUndefined();
  });

  it.each<[string, TrainingJob['status'] | undefined, object | undefined, RegExp]>([
    [
      'records the dataset objects the retrain trained on, from its TrainingJob’s status',
      {
        dataset: {
          uri: 's3://datasets/mnist/',
          objects: 4,
          bytes: 54_880_000,
          sha256: 'ab'.repeat(32),
          files: [
            { uri: 's3://datasets/mnist/train-images-idx3-ubyte', size: 47_040_016, sha256: 'cd'.repeat(32) },
          ],
        },
      },
      { uri: 's3://datasets/mnist/', objects: 4, bytes: 54_880_000, sha256: 'ab'.repeat(32) },
      /trained on 4 objects \(54\.9 MB, sha256 abababababab…\) under s3:\/\/datasets\/mnist\/ \(TrainingJob mnist-retrain-1 status\.dataset lists them\)/,
    ],
    [
      'says when the trainer recorded no objects (an older trainer)',
      undefined,
      undefined,
      /trained on s3:\/\/datasets\/mnist\/ \(its trainer recorded no objects\)/,
    ],
  ])('%s', (_name, extra, dataset, message) => {
    const tj = retrainTJ(1, 'Succeeded');
    tj.trainingJob.status = { ...tj.trainingJob.status, ...extra };
    const d = nextRetrainState(runningStatus(), spec, observed({ retrains: [tj] }), at(2000));
    expect(d.status.last?.dataset).toEqual(dataset);
    expect(d.status.last?.message).toMatch(message);
    expect(d.event?.message).toMatch(message);
  });

  it('records a failed retrain, starts the cooldown and leaves the stable model alone', () => {
    const d = nextRetrainState(
      runningStatus(),
      spec,
      observed({ retrains: [retrainTJ(1, 'Failed')] }),
      at(2000),
    );
    expect(d.artifact).toBeUndefined();
    expect(d.status.last).toMatchObject({
      outcome: 'Failed',
      message: expect.stringMatching(/TrainerFailed.*exit code 1/),
    });
    expect(d.status.nextAllowedAt).toBe(iso(5600));
    expect(d.event).toMatchObject({ type: 'Warning', reason: 'RetrainFailed' });
    // Still drifting right after: the cooldown holds.
    const next = nextRetrainState(d.status, spec, observed({ retrains: [retrainTJ(1, 'Failed')] }), at(2001));
    expect(next.start).toBeUndefined();
    expect(next.status.message).toMatch(/cooling down/);
  });

  it.each<[string, CanaryStatus['phase'], 'Normal' | 'Warning']>([
    ['records a promoted canary and starts the cooldown', 'Promoted', 'Normal'],
    [
      'records a rolled-back canary and starts the cooldown, keeping its artifact off the stable pods',
      'RolledBack',
      'Warning',
    ],
  ])('%s', (_name, phase, type) => {
    const d = nextRetrainState(succeededStatus(), spec, observed({ canary: canary(phase) }), at(3000));
    expect(d.status.last?.canary).toBe(phase);
    expect(d.status.nextAllowedAt).toBe(iso(6600));
    expect(d.event).toMatchObject({ type, reason: 'RetrainCanaryFinished' });
    // The canary machine keeps the retrained artifact as what is wanted: promoted it stays served,
    // rolled back it is not retried.
    expect(d.artifact).toEqual(RETRAINED);
  });

  it('lets a spec.model changed since the retrain roll out instead of the retrained artifact', () => {
    const d = nextRetrainState(
      succeededStatus(),
      spec,
      observed({ specModel: 's3://models/mnist/9/' }),
      at(3000),
    );
    expect(d.artifact).toBeUndefined();
    expect(d.status.last?.canary).toBe('Aborted');
    expect(d.status.message).toMatch(/spec.model changed since retrain mnist-retrain-1/);
  });

  it('waits for the cache to show a TrainingJob it just created, then records one that is gone', () => {
    const status = runningStatus({ current: { ...runningStatus().current!, startedAt: iso(1000) } });
    const soon = nextRetrainState(
      status,
      spec,
      observed(),
      new Date(at(1000).getTime() + CACHE_GRACE_MS - 1),
    );
    expect(soon.status.current?.name).toBe('mnist-retrain-1');
    expect(soon.start).toBeUndefined();
    const late = nextRetrainState(status, spec, observed(), new Date(at(1000).getTime() + CACHE_GRACE_MS));
    expect(late.status.last).toMatchObject({
      outcome: 'Failed',
      message: expect.stringMatching(/no longer exists/),
    });
    expect(late.start).toBeUndefined();
  });
});

describe('an operator restart', () => {
  it('follows a retrain created before its status was written instead of starting another', () => {
    // The pass that created mnist-retrain-1 died before writing count 1.
    const d = nextRetrainState(undefined, spec, observed({ retrains: [retrainTJ(1, 'Running')] }), at(5000));
    expect(d.start).toBeUndefined();
    expect(d.status).toMatchObject({
      count: 1,
      current: { name: 'mnist-retrain-1', phase: 'Running', replaces: STABLE },
    });
  });

  it('takes the same decision again from the status and the owned TrainingJobs', () => {
    const obs = observed({ retrains: [retrainTJ(1, 'Running')] });
    const first = nextRetrainState(runningStatus(), spec, obs, at(5000));
    const again = nextRetrainState(first.status, spec, obs, at(5000));
    expect(again).toEqual(first);
  });

  it('records the outcome of a retrain that finished while no operator ran', () => {
    const d = nextRetrainState(
      { count: 0, message: '' },
      spec,
      observed({ retrains: [retrainTJ(1, 'Succeeded')] }),
      at(5000),
    );
    expect(d.status).toMatchObject({ count: 1, last: { name: 'mnist-retrain-1', outcome: 'Succeeded' } });
    expect(d.artifact).toEqual(RETRAINED);
    expect(d.start).toBeUndefined();
  });
});

describe('the retrain TrainingJob', () => {
  const md = {
    apiVersion: 'k2k.dev/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name: 'x'.repeat(63), namespace: 'ns', uid: 'uid-1' },
    spec: {
      retraining: spec,
      storage: { region: 'us-east-1', forcePathStyle: true, endpoint: 'http://s3:8333' },
    },
  } as unknown as ModelDeployment;

  it('has a valid name, is owned by the deployment and inherits its storage, however long its name', () => {
    const tj = desiredRetrain(md, {
      index: 12,
      name: retrainName(md.metadata.name!, 12),
      reason: 'r',
      replaces: STABLE,
    });
    expect(tj.metadata.name!.length).toBeLessThanOrEqual(63);
    expect(tj.metadata.name).toMatch(/^x+-[0-9a-f]{8}-retrain-12$/);
    expect(tj.metadata.ownerReferences).toEqual([
      expect.objectContaining({ uid: 'uid-1', controller: true }),
    ]);
    expect(tj.metadata.labels!['k2k.dev/retrain-of']!.length).toBeLessThanOrEqual(63);
    expect(tj.spec.storage?.endpoint).toBe('http://s3:8333');
    expect(tj.spec.output.version).toBeUndefined();
    expect(ownedRetrains(md, [tj]).map((r) => r.index)).toEqual([12]);
    expect(ownedRetrains({ ...md, metadata: { ...md.metadata, uid: 'other' } }, [tj])).toEqual([]);
  });

  it.each([
    ['a version URI', 's3://models/mnist/1700000000/', { name: 'mnist' }],
    ['a model URI', 's3://models/mnist/', { name: 'mnist' }],
    ['a URI whose last segment is no model name', 's3://models/Not_A_Name/', {}],
  ])('writes a new version of the model it replaces, given %s', (_, replaces, name) => {
    const tj = desiredRetrain(md, { index: 1, name: retrainName('x', 1), reason: 'r', replaces });
    expect(tj.spec.model).toEqual({ ...spec.template.model, ...name });
  });
});
