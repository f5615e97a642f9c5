import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import {
  type HyperparameterSweep,
  type ModelDeployment,
  ModelDeploymentSpec,
  type TrainingJob,
} from '../../../api/index.ts';
import { InvalidSpecError } from '../invalid-spec.ts';
import { computeStatus, type Observed, type Resolution, resolveArtifact, statusChanged } from './status.ts';

const now = new Date('2026-11-25T10:00:00Z');
const earlier = '2026-11-25T09:00:00Z';
const URI = 's3://models/mnist/1764037200/';

function modelDeployment(model: ModelDeployment['spec']['model'] = { artifactURI: URI }): ModelDeployment {
  return {
    apiVersion: 'k2k.dev/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name: 'mnist', namespace: 'ml', uid: 'uid-1', generation: 3 },
    spec: Value.Default(ModelDeploymentSpec, { model }) as ModelDeployment['spec'],
  };
}

function trainingJob(status: TrainingJob['status']): TrainingJob {
  return {
    apiVersion: 'k2k.dev/v1alpha1',
    kind: 'TrainingJob',
    metadata: { name: 'train', namespace: 'ml' },
    spec: {} as TrainingJob['spec'],
    status,
  };
}

const cond = (type: string, status: 'True' | 'False', reason: string, message = '') => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: earlier,
});

interface DeploymentShape {
  generation?: number;
  observedGeneration?: number;
  replicas?: number;
  updated?: number;
  ready?: number;
  available?: number;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
}

function deployment(s: DeploymentShape): V1Deployment {
  return {
    metadata: { name: 'mnist', namespace: 'ml', generation: s.generation ?? 1 },
    spec: { replicas: s.replicas ?? 1, selector: {}, template: {} },
    status: {
      observedGeneration: s.observedGeneration ?? s.generation ?? 1,
      replicas: s.replicas ?? 1,
      updatedReplicas: s.updated ?? s.replicas ?? 1,
      readyReplicas: s.ready ?? 0,
      availableReplicas: s.available ?? s.ready ?? 0,
      conditions: s.conditions,
    },
  };
}

const available = { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' };
const unavailable = { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable' };
const progressing = { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' };
const deadline = {
  type: 'Progressing',
  status: 'False',
  reason: 'ProgressDeadlineExceeded',
  message: 'ReplicaSet "mnist-abc" has timed out progressing.',
};

const pendingPod = (extra: Partial<V1Pod['status']> = {}, nodeName?: string): V1Pod => ({
  metadata: { name: 'mnist-abc-1', namespace: 'ml', creationTimestamp: new Date(earlier) },
  spec: { containers: [], ...(nodeName ? { nodeName } : {}) },
  status: { phase: 'Pending', ...extra },
});

const resolved: Resolution = { state: 'resolved', uri: URI, version: '1764037200' };

const conditionsOf = (md: ModelDeployment, observed: Partial<Observed>) => {
  const status = computeStatus(md, { resolution: resolved, pods: [], now, ...observed });
  return Object.fromEntries((status.conditions ?? []).map((c) => [c.type, c]));
};

describe('resolveArtifact', () => {
  it.each([
    {
      name: 'serves spec.model.artifactURI as given, with its version segment',
      model: { artifactURI: URI },
      tj: undefined,
      expected: { state: 'resolved', uri: URI, version: '1764037200' },
    },
    {
      name: 'serves a model URI without a version: the server picks the newest',
      model: { artifactURI: 's3://models/mnist/' },
      tj: undefined,
      expected: { state: 'resolved', uri: 's3://models/mnist/' },
    },
    {
      name: 'waits for a referenced TrainingJob that does not exist',
      model: { trainingJobRef: { name: 'train' } },
      tj: undefined,
      expected: { state: 'waiting', reason: 'TrainingJobNotFound' },
    },
    {
      name: 'waits for a referenced TrainingJob that is still running',
      model: { trainingJobRef: { name: 'train' } },
      tj: trainingJob({ conditions: [cond('Ready', 'False', 'Running', 'epoch 2/5')] }),
      expected: { state: 'waiting', reason: 'WaitingForTrainingJob' },
    },
    {
      name: 'fails when the referenced TrainingJob failed',
      model: { trainingJobRef: { name: 'train' } },
      tj: trainingJob({ conditions: [cond('Failed', 'True', 'InvalidInput', 'dataset.uri: not found')] }),
      expected: { state: 'failed', reason: 'TrainingJobFailed' },
    },
    {
      name: 'serves the artifact of a referenced TrainingJob that succeeded',
      model: { trainingJobRef: { name: 'train' } },
      tj: trainingJob({
        conditions: [cond('Succeeded', 'True', 'Succeeded')],
        artifact: { uri: 's3://models/train/7/', version: '7', manifestSha256: 'f00d' },
      }),
      expected: { state: 'resolved', uri: 's3://models/train/7/', version: '7' },
    },
  ])('$name', ({ model, tj, expected }) => {
    const r = resolveArtifact(modelDeployment(model), tj);
    expect(r).toMatchObject(expected);
    if (expected.state === 'resolved' && !('version' in expected)) expect(r).not.toHaveProperty('version');
  });

  const sweep = (status: HyperparameterSweep['status']): HyperparameterSweep => ({
    apiVersion: 'k2k.dev/v1alpha1',
    kind: 'HyperparameterSweep',
    metadata: { name: 'search', namespace: 'ml', uid: 'sweep-uid' },
    spec: {} as HyperparameterSweep['spec'],
    status,
  });
  const best = { name: 'search-2', index: 2, parameters: {}, state: 'Succeeded' as const, objective: 0.1 };
  const trial = (owner: string, status: TrainingJob['status']): TrainingJob => ({
    ...trainingJob(status),
    metadata: {
      name: 'search-2',
      namespace: 'ml',
      ownerReferences: [
        {
          apiVersion: 'k2k.dev/v1alpha1',
          kind: 'HyperparameterSweep',
          name: 'search',
          uid: owner,
          controller: true,
        },
      ],
    },
  });
  const trialArtifact = { uri: 's3://models/sweeps/search-2/1764037202/', version: '1764037202' };
  const succeededTrial = (owner = 'sweep-uid') =>
    trial(owner, { conditions: [cond('Succeeded', 'True', 'Succeeded')], artifact: trialArtifact });
  it.each<{
    name: string;
    sweep?: HyperparameterSweep;
    best?: TrainingJob;
    expected: Record<string, unknown>;
  }>([
    {
      name: 'waits for a referenced sweep that does not exist',
      expected: { state: 'waiting', reason: 'SweepNotFound' },
    },
    {
      name: 'waits while the sweep has no best trial yet, saying where the sweep is',
      sweep: sweep({ conditions: [cond('Ready', 'False', 'Running', '1 of 4 trials finished, 2 running')] }),
      expected: {
        state: 'waiting',
        reason: 'WaitingForSweep',
        message: expect.stringMatching(/succeeded trial with an artifact \(Running: 1 of 4 trials finished/),
      },
    },
    {
      name: 'waits while the best trial’s TrainingJob is not in the cache yet',
      sweep: sweep({ bestTrial: best }),
      expected: {
        state: 'waiting',
        reason: 'WaitingForSweep',
        message: expect.stringMatching(/trial search-2/),
      },
    },
    {
      name: 'serves the artifact of the sweep’s best trial',
      sweep: sweep({ bestTrial: best }),
      best: succeededTrial(),
      expected: { state: 'resolved', uri: trialArtifact.uri, version: trialArtifact.version },
    },
    {
      name: 'never serves a TrainingJob of that name that is not the sweep’s trial',
      sweep: sweep({ bestTrial: best }),
      best: succeededTrial('another-uid'),
      expected: { state: 'waiting', reason: 'WaitingForSweep' },
    },
    {
      name: 'serves the best trial of a sweep that failed after one trial succeeded',
      sweep: sweep({
        bestTrial: best,
        conditions: [cond('Failed', 'True', 'TooManyFailedTrials', '3 trials failed')],
      }),
      best: succeededTrial(),
      expected: { state: 'resolved', uri: trialArtifact.uri },
    },
    {
      name: 'fails when the sweep failed with no trial to serve',
      sweep: sweep({
        conditions: [cond('Failed', 'True', 'NoTrialSucceeded', 'none of 4 trials succeeded')],
      }),
      expected: {
        state: 'failed',
        reason: 'SweepFailed',
        message: expect.stringMatching(/NoTrialSucceeded.*none of 4 trials succeeded/),
      },
    },
  ])('$name', ({ sweep: s, best: tj, expected }) => {
    expect(resolveArtifact(modelDeployment({ sweepRef: { name: 'search' } }), tj, s)).toMatchObject(expected);
  });

  it('names the TrainingJob’s failure in the message', () => {
    const r = resolveArtifact(
      modelDeployment({ trainingJobRef: { name: 'train' } }),
      trainingJob({ conditions: [cond('Failed', 'True', 'InvalidInput', 'dataset.uri: not found')] }),
    );
    expect(r.state === 'failed' && r.message).toMatch(/InvalidInput.*dataset\.uri: not found/);
  });
});

describe('computeStatus', () => {
  it.each([
    {
      name: 'is not ready and still reconciling while it waits for the TrainingJob',
      observed: { resolution: { state: 'waiting', reason: 'WaitingForTrainingJob', message: 'waiting' } },
      expected: {
        Ready: 'False',
        Available: 'False',
        Progressing: 'False',
        Reconciling: 'True',
        Stalled: 'False',
      },
      reason: 'WaitingForTrainingJob',
    },
    {
      name: 'is stalled when the TrainingJob failed',
      observed: { resolution: { state: 'failed', reason: 'TrainingJobFailed', message: 'failed' } },
      expected: { Ready: 'False', Available: 'False', Reconciling: 'False', Stalled: 'True' },
      reason: 'TrainingJobFailed',
    },
    {
      name: 'is progressing while the Deployment it just applied is not in the cache yet',
      observed: {},
      expected: {
        Ready: 'False',
        Available: 'False',
        Progressing: 'True',
        Reconciling: 'True',
        Stalled: 'False',
      },
      reason: 'DeploymentCreated',
    },
    {
      name: 'says no pod can be scheduled when the scheduler says so',
      observed: {
        deployment: deployment({ conditions: [unavailable, progressing] }),
        pods: [
          pendingPod({
            conditions: [
              {
                type: 'PodScheduled',
                status: 'False',
                reason: 'Unschedulable',
                message: '0/0 nodes are available',
              },
            ],
          }),
        ],
      },
      expected: {
        Ready: 'False',
        Available: 'False',
        Progressing: 'True',
        Reconciling: 'True',
        Stalled: 'False',
      },
      reason: 'Unschedulable',
    },
    {
      name: 'says the image cannot be pulled',
      observed: {
        deployment: deployment({ conditions: [unavailable, progressing] }),
        pods: [
          pendingPod(
            {
              containerStatuses: [
                {
                  name: 'server',
                  image: 'x',
                  imageID: '',
                  ready: false,
                  restartCount: 0,
                  state: { waiting: { reason: 'ErrImagePull', message: 'not found' } },
                },
              ],
            },
            'node-1',
          ),
        ],
      },
      expected: { Ready: 'False', Available: 'False', Reconciling: 'True' },
      reason: 'ImagePullFailed',
    },
    {
      name: 'says the server keeps crashing',
      observed: {
        deployment: deployment({ conditions: [unavailable, progressing] }),
        pods: [
          pendingPod(
            {
              containerStatuses: [
                {
                  name: 'server',
                  image: 'x',
                  imageID: '',
                  ready: false,
                  restartCount: 4,
                  state: { waiting: { reason: 'CrashLoopBackOff' } },
                  lastState: { terminated: { exitCode: 2, message: 'invalid configuration' } },
                },
              ],
            },
            'node-1',
          ),
        ],
      },
      expected: { Ready: 'False', Available: 'False', Reconciling: 'True' },
      reason: 'ServerCrashLooping',
    },
    {
      name: 'waits for the model to load on a scheduled pod',
      observed: {
        deployment: deployment({ conditions: [unavailable, progressing] }),
        pods: [pendingPod({}, 'node-1')],
      },
      expected: { Ready: 'False', Available: 'False', Reconciling: 'True' },
      reason: 'ModelLoading',
    },
    {
      name: 'is ready once every pod runs the current spec and is available',
      observed: { deployment: deployment({ replicas: 2, ready: 2, conditions: [available, progressing] }) },
      expected: {
        Ready: 'True',
        Available: 'True',
        Progressing: 'False',
        Reconciling: 'False',
        Stalled: 'False',
      },
      reason: 'Serving',
    },
    {
      name: 'stays available but not ready while a new version rolls out',
      observed: {
        deployment: deployment({
          generation: 2,
          replicas: 2,
          updated: 1,
          ready: 2,
          conditions: [available, progressing],
        }),
      },
      expected: {
        Ready: 'False',
        Available: 'True',
        Progressing: 'True',
        Reconciling: 'True',
        Stalled: 'False',
      },
      reason: 'RolloutInProgress',
    },
    {
      name: 'is not ready while the Deployment controller has not seen the newest spec',
      observed: {
        deployment: deployment({
          generation: 2,
          observedGeneration: 1,
          ready: 1,
          conditions: [available, progressing],
        }),
      },
      expected: { Ready: 'False', Available: 'True', Progressing: 'True', Reconciling: 'True' },
      reason: 'RolloutInProgress',
    },
    {
      name: 'is stalled when the rollout exceeds its progress deadline',
      observed: { deployment: deployment({ ready: 0, conditions: [unavailable, deadline] }) },
      expected: {
        Ready: 'False',
        Available: 'False',
        Progressing: 'False',
        Reconciling: 'False',
        Stalled: 'True',
      },
      reason: 'ProgressDeadlineExceeded',
    },
    {
      name: 'reports an error of this pass as not ready and reconciling, never as ready',
      observed: {
        deployment: deployment({ replicas: 1, ready: 1, conditions: [available, progressing] }),
        error: new Error('deployments.apps "mnist" is forbidden'),
      },
      expected: { Ready: 'False', Reconciling: 'True', Stalled: 'False' },
      reason: 'ReconcileError',
    },
    {
      name: 'is stalled, not reconciling, when a child’s name is taken by an object it did not create',
      observed: { refusal: { reason: 'Conflict', message: 'Service mnist already exists' } },
      expected: { Ready: 'False', Reconciling: 'False', Stalled: 'True' },
      reason: 'Conflict',
    },
    {
      name: 'is stalled on a refused image even while it waits for the TrainingJob',
      observed: {
        resolution: { state: 'waiting', reason: 'WaitingForTrainingJob', message: 'waiting' },
        refusal: { reason: 'ImageNotAllowed', message: 'spec.image x is not allowed' },
      },
      expected: { Ready: 'False', Reconciling: 'False', Stalled: 'True' },
      reason: 'ImageNotAllowed',
    },
    {
      name: 'is stalled when its Deployment serves but a policy now refuses its spec, and says so on Ready',
      observed: {
        deployment: deployment({ replicas: 1, ready: 1, conditions: [available, progressing] }),
        refusal: { reason: 'ServiceAccountNotAllowed', message: 'spec.serviceAccountName x is not allowed' },
      },
      expected: { Ready: 'False', Available: 'True', Reconciling: 'False', Stalled: 'True' },
      reason: 'ServiceAccountNotAllowed',
    },
    {
      name: 'stalls, not retrying, when the API server refused a child built from the spec',
      observed: {
        error: new InvalidSpecError(
          'the API server refused the Service built from this spec (change the spec): metadata.name: Invalid value',
        ),
      },
      expected: { Ready: 'False', Reconciling: 'False', Stalled: 'True' },
      reason: 'InvalidSpec',
    },
  ])('$name', ({ observed, expected, reason }) => {
    const c = conditionsOf(modelDeployment(), observed as Partial<Observed>);
    for (const [type, status] of Object.entries(expected))
      expect({ type, status: c[type]?.status }).toEqual({ type, status });
    expect(c.Ready!.reason).toBe(reason);
    expect(c.Ready!.message).not.toBe('');
    expect(c.Ready!.observedGeneration).toBe(3);
  });

  it('names the scheduler’s message when no pod can be scheduled', () => {
    const c = conditionsOf(modelDeployment(), {
      deployment: deployment({ conditions: [unavailable] }),
      pods: [
        pendingPod({
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: '0/0 nodes are available',
            },
          ],
        }),
      ],
    });
    expect(c.Available!.message).toMatch(/mnist-abc-1 cannot be scheduled: 0\/0 nodes are available/);
  });

  it('reports the REST and gRPC URLs, artifact, generation and replica counts', () => {
    const status = computeStatus(modelDeployment(), {
      resolution: resolved,
      deployment: deployment({ replicas: 3, ready: 2, conditions: [available] }),
      pods: [],
      now,
    });
    expect(status).toMatchObject({
      observedGeneration: 3,
      url: 'http://mnist.ml.svc:80',
      grpcURL: 'dns:///mnist.ml.svc:8500',
      artifact: { uri: URI, version: '1764037200' },
      replicas: 3,
      readyReplicas: 2,
    });
  });

  it('reports neither URL nor artifact before there is one', () => {
    const status = computeStatus(modelDeployment({ trainingJobRef: { name: 'train' } }), {
      resolution: { state: 'waiting', reason: 'WaitingForTrainingJob', message: 'waiting' },
      pods: [],
      now,
    });
    expect(status.url).toBeUndefined();
    expect(status.grpcURL).toBeUndefined();
    expect(status.artifact).toBeUndefined();
    expect(status.replicas).toBeUndefined();
  });

  it('keeps a condition’s transition time while its status does not change', () => {
    const md = modelDeployment();
    md.status = { conditions: [cond('Available', 'False', 'ModelLoading')] };
    const c = conditionsOf(md, { deployment: deployment({ conditions: [unavailable] }) });
    expect(c.Available!.lastTransitionTime).toBe(earlier);
    expect(c.Ready!.lastTransitionTime).toBe('2026-11-25T10:00:00Z');
  });

  it('leaves Drifting and Monitoring as they are when the pass observed neither', () => {
    const md = modelDeployment();
    md.status = {
      conditions: [cond('Drifting', 'True', 'FeatureDrift'), cond('Monitoring', 'True', 'MonitoringApplied')],
    };
    const c = conditionsOf(md, {});
    expect(c.Drifting).toEqual(cond('Drifting', 'True', 'FeatureDrift'));
    expect(c.Monitoring).toEqual(cond('Monitoring', 'True', 'MonitoringApplied'));
  });
});

describe('computeStatus of Drifting', () => {
  const drifting = {
    state: 'drifting' as const,
    features: [
      { feature: 'f0', psi: 0.9, pods: ['a'] },
      { feature: 'f3', psi: 0.31, pods: ['a', 'b'] },
    ],
  };
  it.each([
    {
      name: 'is Unknown with PrometheusNotConfigured when the operator has no --prometheus-url',
      drift: { state: 'not-configured' as const },
      want: { status: 'Unknown', reason: 'PrometheusNotConfigured', message: /--prometheus-url/ },
    },
    {
      name: 'is Unknown with the reason Prometheus could not answer',
      drift: {
        state: 'unknown' as const,
        reason: 'PrometheusUnreachable' as const,
        message: 'Prometheus at http://p is unreachable: ECONNREFUSED',
      },
      want: { status: 'Unknown', reason: 'PrometheusUnreachable', message: /ECONNREFUSED/ },
    },
    {
      name: 'is Unknown with TooFewSamples while the window is under minSamples',
      drift: {
        state: 'unknown' as const,
        reason: 'TooFewSamples' as const,
        message: 'the drift window holds 50 rows',
      },
      want: { status: 'Unknown', reason: 'TooFewSamples', message: /50 rows/ },
    },
    {
      name: 'is False with NoDrift and the sample count when no feature drifts',
      drift: { state: 'stable' as const, samples: 600, minSamples: 200 },
      want: { status: 'False', reason: 'NoDrift', message: /600 rows in the window, at least 200/ },
    },
    {
      name: 'is True with FeatureDrift naming the features by PSI and since when',
      drift: drifting,
      want: {
        status: 'True',
        reason: 'FeatureDrift',
        message: /2 input feature\(s\) drift since 2026-11-25T10:00:00Z: f0 \(PSI 0.900\), f3 \(PSI 0.310\)/,
      },
    },
  ])('$name', ({ drift, want }) => {
    const c = conditionsOf(modelDeployment(), { drift });
    expect(c.Drifting).toMatchObject({ status: want.status, reason: want.reason });
    expect(c.Drifting!.message).toMatch(want.message);
  });

  it('keeps the time drift started while it goes on', () => {
    const md = modelDeployment();
    md.status = { conditions: [cond('Drifting', 'True', 'FeatureDrift')] };
    const c = conditionsOf(md, { drift: drifting });
    expect(c.Drifting!.lastTransitionTime).toBe(earlier);
    expect(c.Drifting!.message).toMatch(`drift since ${earlier}`);
  });
});

describe('computeStatus of a Deployment that serves an earlier artifact', () => {
  const OLD = 's3://models/train/1764037000/';
  const serving = (conditions: DeploymentShape['conditions']) => {
    const d = deployment({ ready: 1, conditions });
    d.spec!.template = {
      spec: { containers: [{ name: 'server', env: [{ name: 'K2K_MODEL_URI', value: OLD }] }] },
    };
    return d;
  };
  it.each([
    {
      name: 'keeps describing it as available while the replaced TrainingJob trains',
      resolution: {
        state: 'waiting',
        reason: 'WaitingForTrainingJob',
        message: 'waiting for TrainingJob train',
      },
      expected: { Ready: 'False', Available: 'True', Reconciling: 'True', Stalled: 'False' },
    },
    {
      name: 'is stalled but still available when the replaced TrainingJob failed',
      resolution: { state: 'failed', reason: 'TrainingJobFailed', message: 'TrainingJob train failed' },
      expected: { Ready: 'False', Available: 'True', Reconciling: 'False', Stalled: 'True' },
    },
  ])('$name', ({ resolution, expected }) => {
    const md = modelDeployment({ trainingJobRef: { name: 'train' } });
    const status = computeStatus(md, {
      resolution: resolution as Resolution,
      deployment: serving([available, progressing]),
      pods: [],
      now,
    });
    const c = Object.fromEntries(status.conditions!.map((x) => [x.type, x]));
    for (const [type, s] of Object.entries(expected))
      expect({ type, status: c[type]?.status }).toEqual({ type, status: s });
    expect(c.Ready!.reason).toBe(resolution.reason);
    expect(c.Ready!.message).toMatch(`the Deployment keeps serving ${OLD}`);
    expect(status.artifact).toEqual({ uri: OLD, version: '1764037000' });
    expect(status.url).toBe('http://mnist.ml.svc:80');
  });
});

describe('statusChanged', () => {
  it.each([
    { name: 'is false for the status it just computed', change: () => {}, changed: false },
    {
      name: 'is true when Drifting changed (the operator owns it)',
      change: (md: ModelDeployment) => md.status!.conditions!.push(cond('Drifting', 'True', 'x')),
      changed: true,
    },
    {
      name: 'is true when the ready replica count moved',
      change: (md: ModelDeployment) => {
        md.status!.readyReplicas = 5;
      },
      changed: true,
    },
  ])('$name', ({ change, changed }) => {
    const md = modelDeployment();
    const observed = {
      resolution: resolved,
      deployment: deployment({ ready: 1, conditions: [available] }),
      pods: [],
      now,
    };
    md.status = structuredClone(computeStatus(md, observed));
    const next = computeStatus(md, observed);
    change(md);
    expect(statusChanged(md.status, next)).toBe(changed);
  });
});

describe('computeStatus of a model server that cannot load its model', () => {
  /** The server container after it gave up: its termination message, then waiting or running again. */
  const gaveUp = (
    code: string,
    message: string,
    state: 'crash-looping' | 'restarted' | 'terminated' = 'crash-looping',
  ): V1Pod =>
    pendingPod(
      {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'server',
            image: 'x',
            imageID: '',
            ready: false,
            restartCount: state === 'terminated' ? 0 : 2,
            state:
              state === 'crash-looping'
                ? { waiting: { reason: 'CrashLoopBackOff' } }
                : state === 'restarted'
                  ? { running: {} }
                  : { terminated: { exitCode: 75, message: JSON.stringify({ error: { code, message } }) } },
            ...(state === 'terminated'
              ? {}
              : {
                  lastState: {
                    terminated: { exitCode: 75, message: JSON.stringify({ error: { code, message } }) },
                  },
                }),
          },
        ],
      },
      'node-1',
    );
  const notFound = `${URI}: no manifest.json: the artifact is incomplete (still being written, or its writer failed) or does not exist`;

  it.each([
    {
      name: 'says the artifact is not found, and keeps reconciling while it may still be written',
      pod: gaveUp('ArtifactNotFound', notFound),
      reason: 'ArtifactNotFound',
      stalled: false,
    },
    {
      name: 'says so already when the server just exited, before the kubelet restarts it',
      pod: gaveUp('ArtifactNotFound', notFound, 'terminated'),
      reason: 'ArtifactNotFound',
      stalled: false,
    },
    {
      name: 'keeps saying why while the restarted server tries again',
      pod: gaveUp(
        'StorageUnreachable',
        `${URI}: cannot reach http://k2k-s3.k2k-system.svc:7070 (ENOTFOUND)`,
        'restarted',
      ),
      reason: 'StorageUnreachable',
      stalled: false,
    },
    {
      name: 'says the store refused access, and keeps reconciling while the Secret may be fixed',
      pod: gaveUp('StorageAccessDenied', `${URI}manifest.json: access denied`),
      reason: 'StorageAccessDenied',
      stalled: false,
    },
    {
      name: 'is stalled when the artifact was tampered with: the same bytes fail the same way',
      pod: gaveUp('ArtifactInvalid', `${URI}model.json: sha256 0f… does not match manifest.json (a1…)`),
      reason: 'ArtifactInvalid',
      stalled: true,
    },
    {
      name: 'is stalled when TensorFlow.js cannot build the model',
      pod: gaveUp('ModelLoadFailed', `${URI}: Unknown layer: NoSuchLayer`),
      reason: 'ModelLoadFailed',
      stalled: true,
    },
    {
      name: 'calls a crash whose message is not a load failure a crash loop',
      pod: gaveUp('SomethingElse', 'boom'),
      reason: 'ServerCrashLooping',
      stalled: false,
    },
  ])('$name', ({ pod, reason, stalled }) => {
    const c = conditionsOf(modelDeployment(), {
      deployment: deployment({ conditions: [unavailable, progressing] }),
      pods: [pod],
    });
    expect(c.Ready).toMatchObject({ status: 'False', reason });
    expect(c.Available).toMatchObject({ status: 'False', reason });
    expect(c.Stalled?.status).toBe(stalled ? 'True' : 'False');
    expect(c.Reconciling?.status).toBe(stalled ? 'False' : 'True');
    if (reason !== 'ServerCrashLooping') {
      expect(c.Ready!.message).toContain(
        'model server in pod mnist-abc-1 cannot load the model: s3://models/mnist/',
      );
    }
  });

  it('forgets an old load failure once the server is ready', () => {
    const pod = gaveUp('ArtifactNotFound', notFound, 'restarted');
    pod.status!.containerStatuses![0]!.ready = true;
    const c = conditionsOf(modelDeployment(), {
      deployment: deployment({ ready: 1, conditions: [available, progressing] }),
      pods: [pod],
    });
    expect(c.Ready).toMatchObject({ status: 'True', reason: 'Serving' });
  });

  it('names a new pod’s load failure while older pods keep serving during a rollout', () => {
    const c = conditionsOf(modelDeployment(), {
      deployment: deployment({
        generation: 2,
        replicas: 2,
        updated: 1,
        ready: 1,
        conditions: [available, progressing],
      }),
      pods: [gaveUp('ArtifactInvalid', `${URI}model.json: sha256 mismatch`)],
    });
    expect(c.Available).toMatchObject({ status: 'True' });
    expect(c.Progressing).toMatchObject({ status: 'True', reason: 'RolloutInProgress' });
    expect(c.Ready).toMatchObject({ status: 'False', reason: 'ArtifactInvalid' });
  });
});
