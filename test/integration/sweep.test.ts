// The HyperparameterSweep controller against a real kube-apiserver + kube-controller-manager +
// kube-scheduler, with the operator as its own process under config/rbac. Trials are TrainingJobs
// whose pods never run here: the test plays the kubelet and ends each trial's trainer pod as the
// trainer would (exit 0 with its result as termination message, or exit 65 for invalid input).
import {
  AppsV1Api,
  BatchV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  type HyperparameterSweep,
  type ModelDeployment,
  TrainerExitCode,
  type TrainingJob,
} from '../../api/index.ts';
import { eventually } from '../harness/eventually.ts';
import { createModelDeployment, freshNamespace, rejection, testKubeConfig } from '../harness/kube.ts';
import { operatorsPerTest } from '../harness/operator.ts';
import { epochProgress, reportProgress, setPodStatus, trainerPod } from '../harness/trainer-pod.ts';

const kc = testKubeConfig();
const custom = kc.makeApiClient(CustomObjectsApi);
const batch = kc.makeApiClient(BatchV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const modelDeployments = { group: 'k2k.dev', version: 'v1alpha1', plural: 'modeldeployments' };
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const sweeps = { group: 'k2k.dev', version: 'v1alpha1', plural: 'hyperparametersweeps' };
const trainingJobs = { group: 'k2k.dev', version: 'v1alpha1', plural: 'trainingjobs' };
const startOperator = operatorsPerTest();

function sweepManifest(name: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'k2k.dev/v1alpha1',
    kind: 'HyperparameterSweep',
    metadata: { name },
    spec: {
      trialTemplate: {
        model: { architecture: 'mnist-mlp' },
        dataset: { format: 'mnist-idx', uri: 's3://datasets/mnist/' },
        hyperparameters: { epochs: 2 },
        output: { uri: 's3://models/sweeps/' },
        storage: { endpoint: 'http://127.0.0.1:9', credentialsSecretRef: { name: 'storage' } },
      },
      parameters: [{ name: 'learningRate', type: 'double', min: 0.0001, max: 0.1, scale: 'log' }],
      objective: { metric: 'val_loss', goal: 'minimize' },
      ...spec,
    },
  };
}

const createSweep = (namespace: string, name: string, spec?: Record<string, unknown>) =>
  custom.createNamespacedCustomObject({ ...sweeps, namespace, body: sweepManifest(name, spec) });
const getSweep = async (namespace: string, name: string) =>
  (await custom.getNamespacedCustomObject({ ...sweeps, namespace, name })) as HyperparameterSweep;
const patchSweep = (namespace: string, name: string, spec: Record<string, unknown>) =>
  custom.patchNamespacedCustomObject({ ...sweeps, namespace, name, body: { spec } }, mergePatch);
const listTrials = async (namespace: string) =>
  ((await custom.listNamespacedCustomObject({ ...trainingJobs, namespace })) as { items: TrainingJob[] })
    .items;
const condition = (
  obj: { status?: { conditions?: { type: string; status: string; reason: string }[] } },
  type: string,
) => obj.status?.conditions?.find((c) => c.type === type);
const finished = (tj: TrainingJob) =>
  ['Succeeded', 'Failed'].some((t) => condition(tj, t)?.status === 'True');

/** Waits until the sweep's status passes `check`; returns the sweep. */
const eventuallySweep = (
  namespace: string,
  name: string,
  what: string,
  check: (s: HyperparameterSweep) => boolean,
  timeoutMs = 60_000,
) =>
  eventually(
    async () => {
      const s = await getSweep(namespace, name);
      return check(s) ? s : undefined;
    },
    { what: `sweep ${name}: ${what}`, timeoutMs },
  );

const waitForTrials = (namespace: string, count: number) =>
  eventually(
    async () => ((await listTrials(namespace)).length >= count ? listTrials(namespace) : undefined),
    {
      what: `${count} trials`,
    },
  );

/** Ends trial `name` as its trainer would: a committed artifact and its metrics, or invalid input. */
async function endTrial(namespace: string, name: string, valLoss?: number, manifestSha256 = `sha-${name}`) {
  const pod = await trainerPod(namespace, name);
  if (valLoss === undefined)
    await setPodStatus(pod, 'Failed', TrainerExitCode.InvalidInput, 'the dataset is empty');
  else
    await setPodStatus(
      pod,
      'Succeeded',
      0,
      JSON.stringify({
        artifact: { uri: `s3://models/sweeps/${name}/1/`, version: '1', manifestSha256 },
        metrics: { val_loss: valLoss },
      }),
    );
  await eventually(
    async () =>
      finished(
        (await custom.getNamespacedCustomObject({ ...trainingJobs, namespace, name })) as TrainingJob,
      ) || undefined,
    { what: `trial ${name} finished` },
  );
}

const unfinished = (trials: TrainingJob[]) => trials.filter((t) => !finished(t));
const getTrial = async (namespace: string, name: string) =>
  (await custom.getNamespacedCustomObject({ ...trainingJobs, namespace, name })) as TrainingJob;

describe('the HyperparameterSweep controller', () => {
  it('runs trials up to parallelTrials and never more, and reports the best once maxTrials finished', async () => {
    const ns = await freshNamespace(kc);
    startOperator({ identity: 'sweep', namespace: ns });
    await createSweep(ns, 'lr', { maxTrials: 4, parallelTrials: 2 });
    const first = await waitForTrials(ns, 2);
    expect(first.map((t) => t.metadata.name).sort()).toEqual(['lr-0', 'lr-1']);
    await eventuallySweep(ns, 'lr', 'two running or pending', (s) => s.status?.trialsCreated === 2);
    // Nothing frees a slot: give the operator time to make a mistake.
    await new Promise((r) => setTimeout(r, 2000));
    expect(await listTrials(ns)).toHaveLength(2);

    const outcomes: Record<string, number | undefined> = {
      'lr-0': 0.5,
      'lr-1': undefined,
      'lr-2': 0.2,
      'lr-3': 0.3,
    };
    for (const [name, loss] of Object.entries(outcomes)) {
      await waitForTrials(ns, Number(name.split('-')[1]) + 1);
      expect(unfinished(await listTrials(ns)).length).toBeLessThanOrEqual(2);
      await endTrial(ns, name, loss);
    }

    const done = await eventuallySweep(
      ns,
      'lr',
      'Succeeded',
      (s) => condition(s, 'Succeeded')?.status === 'True',
    );
    expect(await listTrials(ns)).toHaveLength(4);
    expect(done.status).toMatchObject({
      trialsCreated: 4,
      trialsSucceeded: 3,
      trialsFailed: 1,
      progress: '4/4',
      bestObjective: 0.2,
      bestTrial: {
        name: 'lr-2',
        index: 2,
        objective: 0.2,
        artifact: { uri: 's3://models/sweeps/lr-2/1/', manifestSha256: 'sha-lr-2' },
      },
    });
    expect(condition(done, 'Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    const trial = (await listTrials(ns)).find((t) => t.metadata.name === 'lr-2')!;
    expect(trial.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'HyperparameterSweep',
      name: 'lr',
      controller: true,
    });
    expect(String(trial.spec.hyperparameters.learningRate)).toBe(
      done.status!.bestTrial!.parameters.learningRate,
    );
  });

  it('runs an ASHA promotion as a trial that continues the promoted trial’s artifact, and reports the best', async () => {
    const ns = await freshNamespace(kc);
    startOperator({ identity: 'sweep-asha', namespace: ns });
    await createSweep(ns, 'halving', {
      algorithm: 'asha',
      asha: { minEpochs: 1, maxEpochs: 3, reductionFactor: 3 },
      maxTrials: 4,
      parallelTrials: 1,
    });
    const digest = (i: number) => String(i).repeat(64);
    // Three configurations at rung 0 (1 epoch); the best third of them, halving-1, goes on to 3.
    for (const [i, loss] of [0.5, 0.2, 0.4].entries()) {
      await waitForTrials(ns, i + 1);
      await endTrial(ns, `halving-${i}`, loss, digest(i));
    }
    await waitForTrials(ns, 4);
    const [promoted, source] = await Promise.all([getTrial(ns, 'halving-3'), getTrial(ns, 'halving-1')]);
    expect(promoted.metadata.annotations).toMatchObject({
      'k2k.dev/trial-resumes': '1',
      'k2k.dev/trial-epochs': '3',
    });
    expect(promoted.spec.resumeFrom).toEqual({
      artifactURI: 's3://models/sweeps/halving-1/1/',
      manifestSha256: digest(1),
    });
    expect(promoted.spec.hyperparameters).toMatchObject({
      epochs: 3,
      learningRate: source.spec.hyperparameters.learningRate,
    });
    for (const i of [0, 1, 2])
      expect((await getTrial(ns, `halving-${i}`)).spec.resumeFrom, `halving-${i}`).toBeUndefined();

    await endTrial(ns, 'halving-3', 0.1, digest(3));
    const done = await eventuallySweep(
      ns,
      'halving',
      'Succeeded',
      (s) => condition(s, 'Succeeded')?.status === 'True',
    );
    expect(done.status).toMatchObject({
      trialsCreated: 4,
      trialsSucceeded: 4,
      bestObjective: 0.1,
      bestTrial: {
        name: 'halving-3',
        artifact: { uri: 's3://models/sweeps/halving-3/1/', manifestSha256: digest(3) },
      },
    });
  });

  it('fails the sweep once maxFailedTrials trials failed and starts no more', async () => {
    const ns = await freshNamespace(kc);
    startOperator({ identity: 'sweep-failing', namespace: ns });
    await createSweep(ns, 'bad', { maxTrials: 6, parallelTrials: 2, maxFailedTrials: 2 });
    await waitForTrials(ns, 2);
    await endTrial(ns, 'bad-0');
    await endTrial(ns, 'bad-1');
    const failed = await eventuallySweep(
      ns,
      'bad',
      'Failed',
      (s) => condition(s, 'Failed')?.status === 'True',
    );
    expect(condition(failed, 'Ready')).toMatchObject({ status: 'False', reason: 'TooManyFailedTrials' });
    expect(condition(failed, 'Stalled')?.status).toBe('True');
    // A slot freed when bad-0 failed, so bad-2 may have started before the second failure; no later one.
    const names = (await listTrials(ns)).map((t) => t.metadata.name);
    await new Promise((r) => setTimeout(r, 2000));
    expect((await listTrials(ns)).map((t) => t.metadata.name)).toEqual(names);
    expect(names.length).toBeLessThanOrEqual(3);
  });

  it('suspends its running trials and starts none while suspended, then resumes', async () => {
    const ns = await freshNamespace(kc);
    startOperator({ identity: 'sweep-suspend', namespace: ns });
    await createSweep(ns, 'pause', { maxTrials: 3, parallelTrials: 2 });
    await waitForTrials(ns, 2);
    await patchSweep(ns, 'pause', { suspend: true });
    await eventually(async () => (await listTrials(ns)).every((t) => t.spec.suspend === true) || undefined, {
      what: 'every trial suspended',
    });
    await eventuallySweep(ns, 'pause', 'Suspended', (s) => condition(s, 'Suspended')?.status === 'True');
    await eventuallySweep(ns, 'pause', 'suspended trials counted', (s) => s.status?.trialsSuspended === 2);
    await patchSweep(ns, 'pause', { suspend: false });
    await eventually(async () => (await listTrials(ns)).every((t) => t.spec.suspend === false) || undefined, {
      what: 'every trial resumed',
    });
    await endTrial(ns, 'pause-0', 0.4);
    await waitForTrials(ns, 3);
    const resumed = await getSweep(ns, 'pause');
    expect(condition(resumed, 'Suspended')?.status).toBe('False');
  });

  it('runs every index exactly once when the operator is killed mid-sweep again and again', async () => {
    const ns = await freshNamespace(kc);
    const maxTrials = 9;
    await createSweep(ns, 'crash', {
      maxTrials,
      parallelTrials: 3,
      algorithm: 'tpe',
      maxFailedTrials: maxTrials,
    });
    let ended = 0;
    for (let round = 0; ended < maxTrials; round++) {
      const op = startOperator({ identity: `crashy-${round}`, namespace: ns, workers: 2 });
      // Let it start a trial or two, end one, and kill it while it reacts.
      const trials = await waitForTrials(ns, Math.min(maxTrials, ended + 1));
      const open = unfinished(trials).map((t) => t.metadata.name!);
      if (open.length > 0) {
        await endTrial(ns, open[0]!, 1 / (ended + 2));
        ended++;
      }
      await new Promise((r) => setTimeout(r, 150 * (round % 4)));
      await op.kill();
    }
    startOperator({ identity: 'final', namespace: ns });
    const done = await eventuallySweep(
      ns,
      'crash',
      'Succeeded',
      (s) => condition(s, 'Succeeded')?.status === 'True',
    );
    const trials = await listTrials(ns);
    const indices = trials
      .map((t) => Number(t.metadata.annotations!['k2k.dev/trial-index']))
      .sort((a, b) => a - b);
    expect(indices).toEqual(Array.from({ length: maxTrials }, (_, i) => i));
    for (const t of trials)
      expect(t.metadata.name).toBe(`crash-${t.metadata.annotations!['k2k.dev/trial-index']}`);
    expect(done.status).toMatchObject({
      trialsCreated: maxTrials,
      trialsSucceeded: maxTrials,
      progress: `${maxTrials}/${maxTrials}`,
    });
  }, 240_000);
});

describe('HyperparameterSweep early stopping', () => {
  it('stops the running trial worse than the median, keeps it stopped across an operator restart, and never counts it as failed', async () => {
    const ns = await freshNamespace(kc);
    let op = startOperator({ identity: 'sweep-prune', namespace: ns });
    await createSweep(ns, 'prune', {
      maxTrials: 3,
      parallelTrials: 3,
      maxFailedTrials: 1,
      earlyStopping: { rule: 'median', minEpochs: 1, minTrials: 2 },
    });
    await waitForTrials(ns, 3);
    for (const name of ['prune-0', 'prune-1', 'prune-2'])
      await setPodStatus(await trainerPod(ns, name), 'Running');
    // Two good trials report epoch 1, then the bad one: it is compared with their median (0.35).
    await reportProgress(ns, 'prune-0', epochProgress('val_loss', [0.3], 2));
    await reportProgress(ns, 'prune-1', epochProgress('val_loss', [0.4], 2));
    const bad = epochProgress('val_loss', [2.3], 2);
    await reportProgress(ns, 'prune-2', bad);

    const stopped = await eventually(
      async () => {
        const tj = await getTrial(ns, 'prune-2');
        return tj.status?.phase === 'Stopped' ? tj : undefined;
      },
      { what: 'trial prune-2 stopped' },
    );
    expect(stopped.spec.stop).toMatchObject({ reason: 'EarlyStopped' });
    expect(stopped.spec.stop!.message).toMatch(
      /best 2\.3 at epoch 1 is worse than the median 0\.35 of 2 other trials/,
    );
    expect(stopped.status).toMatchObject({ progress: bad });
    expect(condition(stopped, 'Failed')).toMatchObject({ status: 'True', reason: 'EarlyStopped' });
    await eventually(
      async () =>
        (await batch.readNamespacedJob({ namespace: ns, name: 'prune-2' })).spec!.suspend || undefined,
      { what: 'the stopped trial’s Job suspended' },
    );
    // The good trials were judged too, and kept.
    expect((await getTrial(ns, 'prune-0')).spec.stop).toBeUndefined();
    expect((await getTrial(ns, 'prune-1')).spec.stop).toBeUndefined();
    const counted = await eventuallySweep(
      ns,
      'prune',
      'one early-stopped trial',
      (s) => s.status?.trialsEarlyStopped === 1,
    );
    expect(counted.status).toMatchObject({ trialsFailed: 0, trialsRunning: 2 });
    expect(counted.status!.trials!.find((t) => t.name === 'prune-2')).toMatchObject({
      state: 'EarlyStopped',
      objective: 2.3,
    });

    // A new operator derives the same from the trials: the same three, prune-2 still stopped.
    await op.kill();
    op = startOperator({ identity: 'sweep-prune-again', namespace: ns });
    await endTrial(ns, 'prune-0', 0.25);
    await endTrial(ns, 'prune-1', 0.35);
    const done = await eventuallySweep(
      ns,
      'prune',
      'Succeeded',
      (s) => condition(s, 'Succeeded')?.status === 'True',
    );
    expect((await listTrials(ns)).map((t) => t.metadata.name).sort()).toEqual([
      'prune-0',
      'prune-1',
      'prune-2',
    ]);
    expect((await getTrial(ns, 'prune-2')).status).toMatchObject({ phase: 'Stopped', progress: bad });
    expect(done.status).toMatchObject({
      trialsCreated: 3,
      trialsSucceeded: 2,
      trialsFailed: 0,
      trialsEarlyStopped: 1,
      progress: '3/3',
      bestTrial: { name: 'prune-0', objective: 0.25 },
    });
  });
});

describe('HyperparameterSweep trials as children', () => {
  it('refuses with Conflict, touching nothing, when a TrainingJob it did not create has a trial’s name', async () => {
    const ns = await freshNamespace(kc);
    startOperator({ identity: 'sweep-conflict', namespace: ns });
    const foreign = sweepManifest('x').spec.trialTemplate;
    await custom.createNamespacedCustomObject({
      ...trainingJobs,
      namespace: ns,
      body: {
        apiVersion: 'k2k.dev/v1alpha1',
        kind: 'TrainingJob',
        metadata: { name: 'clash-0' },
        spec: { ...foreign, suspend: true },
      },
    });
    await createSweep(ns, 'clash', { maxTrials: 2, parallelTrials: 1 });
    const refused = await eventuallySweep(
      ns,
      'clash',
      'Conflict',
      (s) => condition(s, 'Ready')?.reason === 'Conflict',
    );
    expect(condition(refused, 'Stalled')?.status).toBe('True');
    expect(condition(refused, 'Ready')).toMatchObject({ status: 'False' });
    expect(
      (refused.status!.conditions!.find((c) => c.type === 'Ready') as { message: string }).message,
    ).toMatch(/TrainingJob clash-0 already exists and is not managed by this HyperparameterSweep/);
    const other = await getTrial(ns, 'clash-0');
    expect(other.metadata.ownerReferences).toBeUndefined();
    expect(other.metadata.annotations?.['k2k.dev/trial-index']).toBeUndefined();
    expect(other.spec.suspend).toBe(true);
    expect((await listTrials(ns)).map((t) => t.metadata.name)).toEqual(['clash-0']);
  });

  it('stalls with InvalidSpec, naming the field, when the API server refuses the trials its spec makes', async () => {
    const ns = await freshNamespace(kc);
    startOperator({ identity: 'sweep-invalid', namespace: ns });
    // Admitted (a learningRate range is not checked against TrainingJob's limit), refused per trial.
    await createSweep(ns, 'huge', {
      maxTrials: 2,
      parallelTrials: 1,
      parameters: [{ name: 'learningRate', type: 'double', min: 20, max: 30 }],
    });
    const stalled = await eventuallySweep(
      ns,
      'huge',
      'InvalidSpec',
      (s) => condition(s, 'Ready')?.reason === 'InvalidSpec',
    );
    expect(condition(stalled, 'Stalled')?.status).toBe('True');
    expect(condition(stalled, 'Reconciling')?.status).toBe('False');
    expect(
      (stalled.status!.conditions!.find((c) => c.type === 'Ready') as { message: string }).message,
    ).toMatch(/refused the TrainingJob built from this spec.*spec\.hyperparameters\.learningRate/);
    expect(await listTrials(ns)).toHaveLength(0);
  });
});

describe('a ModelDeployment with sweepRef', () => {
  const servedURI = async (namespace: string, name: string) => {
    const d = await apps.readNamespacedDeployment({ namespace, name }).catch(() => undefined);
    return d?.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === 'K2K_MODEL_URI')?.value;
  };
  const readyReason = async (namespace: string, name: string) => {
    const md = (await custom.getNamespacedCustomObject({
      ...modelDeployments,
      namespace,
      name,
    })) as ModelDeployment;
    return md.status?.conditions?.find((c) => c.type === 'Ready');
  };

  it('waits for the sweep and its best trial, serves that trial’s artifact, and follows a better best', async () => {
    const ns = await freshNamespace(kc);
    startOperator({ identity: 'sweep-serve', namespace: ns });
    await createModelDeployment(kc, ns, 'best', { model: { sweepRef: { name: 'serve' } } });
    await eventually(async () => (await readyReason(ns, 'best'))?.reason === 'SweepNotFound' || undefined, {
      what: 'Ready reason SweepNotFound',
    });

    await createSweep(ns, 'serve', { maxTrials: 2, parallelTrials: 1 });
    const waiting = await eventually(
      async () => {
        const ready = await readyReason(ns, 'best');
        return ready?.reason === 'WaitingForSweep' ? ready : undefined;
      },
      { what: 'Ready reason WaitingForSweep' },
    );
    expect(waiting.message).toMatch(
      /waiting for HyperparameterSweep serve to have a succeeded trial with an artifact/,
    );
    expect(await servedURI(ns, 'best')).toBeUndefined();

    await endTrial(ns, 'serve-0', 0.5);
    expect(
      await eventually(async () => servedURI(ns, 'best'), { what: 'a Deployment serving serve-0' }),
    ).toBe('s3://models/sweeps/serve-0/1/');
    await waitForTrials(ns, 2);
    await endTrial(ns, 'serve-1', 0.2);
    await eventually(
      async () => (await servedURI(ns, 'best')) === 's3://models/sweeps/serve-1/1/' || undefined,
      { what: 'the Deployment to follow the better best trial serve-1' },
    );
    const md = (await custom.getNamespacedCustomObject({
      ...modelDeployments,
      namespace: ns,
      name: 'best',
    })) as ModelDeployment;
    expect(md.status?.artifact).toEqual({ uri: 's3://models/sweeps/serve-1/1/', version: '1' });
  });
});

describe('HyperparameterSweep admission', () => {
  const base = sweepManifest('x').spec;
  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'optimizer searched as a double',
      { parameters: [{ name: 'optimizer', type: 'double', min: 0, max: 1 }] },
      /spec\.parameters\[0\]\.type.*optimizer is searched as a categorical parameter/,
    ],
    [
      'epochs searched as a double',
      { parameters: [{ name: 'epochs', type: 'double', min: 1, max: 5 }] },
      /spec\.parameters\[0\]\.type.*epochs, batchSize, seed are searched as int parameters/,
    ],
    [
      'an unknown optimizer value',
      { parameters: [{ name: 'optimizer', type: 'categorical', values: ['adam', 'lion'] }] },
      /spec\.parameters\[0\]\.values.*optimizer values must be among/,
    ],
    [
      'a grid step on a categorical parameter',
      { parameters: [{ name: 'optimizer', type: 'categorical', values: ['adam'], step: 1 }] },
      /spec\.parameters\[0\]\.step.*step and points apply to double and int parameters/,
    ],
    ['asha without its settings', { algorithm: 'asha' }, /spec\.asha.*required with algorithm asha/],
    [
      'asha searching epochs',
      {
        algorithm: 'asha',
        asha: { minEpochs: 1, maxEpochs: 9 },
        parameters: [{ name: 'epochs', type: 'int', min: 1, max: 9 }],
      },
      /spec\.parameters.*asha sets each trial’s epochs itself/,
    ],
    [
      'a fixed artifact version for every trial',
      { trialTemplate: { ...base.trialTemplate, output: { uri: 's3://models/', version: '7' } } },
      /spec\.trialTemplate\.output\.version.*leave output\.version unset/,
    ],
  ])('rejects %s, naming the field', async (_name, spec, expected) => {
    const ns = await freshNamespace(kc);
    const result = await rejection(() => createSweep(ns, 'invalid', spec));
    expect(result, 'the API server accepted an invalid sweep').toBeDefined();
    expect(result!.code).toBe(422);
    expect(result!.message).toMatch(expected);
  });
});
