import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import {
  CREDENTIALS_DIR,
  TrainerConfig,
  TrainerExitCode,
  type TrainingJob,
  TrainingJobSpec,
} from '../../../api/index.ts';
import {
  artifactVersion,
  desiredChildren,
  desiredJob,
  desiredRole,
  GPU_RESOURCE,
  trainerConfig,
} from './desired.ts';

const images = { cpu: 'k2k/trainer:cpu', gpu: 'k2k/trainer:gpu' };

/** A TrainingJob as the API server returns it: defaults applied, uid and creation time set. */
function trainingJob(spec: Partial<TrainingJob['spec']> = {}, name = 'mnist'): TrainingJob {
  const raw = {
    model: { architecture: 'mnist-mlp' },
    dataset: { format: 'mnist-idx', uri: 's3://datasets/mnist/' },
    output: { uri: 's3://models/' },
    ...spec,
  };
  return {
    apiVersion: 'k2k.dev/v1alpha1',
    kind: 'TrainingJob',
    metadata: {
      name,
      namespace: 'ml',
      uid: 'uid-1',
      generation: 1,
      creationTimestamp: new Date('2026-11-25T00:00:00Z'),
    },
    spec: Value.Default(TrainingJobSpec, raw) as TrainingJob['spec'],
  };
}

const container = (tj: TrainingJob) => desiredJob(tj, images).spec!.template.spec!.containers[0]!;
const env = (tj: TrainingJob) => Object.fromEntries((container(tj).env ?? []).map((e) => [e.name, e.value]));

describe('desiredJob', () => {
  it.each([
    {
      name: 'requests and limits the asked GPUs and uses the GPU image',
      gpus: 2,
      image: images.gpu,
      gpu: '2',
    },
    {
      name: 'asks for no GPU and uses the CPU image when gpus is 0',
      gpus: 0,
      image: images.cpu,
      gpu: undefined,
    },
  ])('$name', ({ gpus, image, gpu }) => {
    const c = container(trainingJob({ resources: { gpus } }));
    expect(c.image).toBe(image);
    expect(c.resources?.limits?.[GPU_RESOURCE]).toBe(gpu);
    expect(c.resources?.requests?.[GPU_RESOURCE]).toBe(gpu);
  });

  it('tolerates the nvidia.com/gpu taint only when GPUs are requested', () => {
    const tolerations = (tj: TrainingJob) => desiredJob(tj, images).spec!.template.spec!.tolerations ?? [];
    expect(tolerations(trainingJob({ resources: { gpus: 1 } }))).toContainEqual(
      expect.objectContaining({ key: GPU_RESOURCE, operator: 'Exists' }),
    );
    expect(tolerations(trainingJob())).toEqual([]);
  });

  it('is owned by its TrainingJob as controller, so garbage collection removes it', () => {
    expect(desiredJob(trainingJob(), images).metadata?.ownerReferences).toEqual([
      {
        apiVersion: 'k2k.dev/v1alpha1',
        kind: 'TrainingJob',
        name: 'mnist',
        uid: 'uid-1',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });

  it('does not retry a trainer that exited because its input is invalid, nor count evictions', () => {
    const rules = desiredJob(trainingJob(), images).spec!.podFailurePolicy!.rules;
    expect(rules[0]).toMatchObject({
      action: 'FailJob',
      onExitCodes: { containerName: 'trainer', operator: 'In', values: [TrainerExitCode.InvalidInput] },
    });
    expect(rules.find((r) => r.onPodConditions)).toMatchObject({
      action: 'Ignore',
      onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }],
    });
    expect(desiredJob(trainingJob(), images).spec!.template.spec!.restartPolicy).toBe('Never');
  });

  it.each([
    {
      outcome: 'exit 65 (invalid input) fails the Job at once',
      rule: {
        action: 'FailJob',
        onExitCodes: { containerName: 'trainer', operator: 'In', values: [65] },
      },
    },
    {
      outcome: 'exit 143 (stopped by SIGTERM: deleted, evicted) is not counted',
      rule: {
        action: 'Ignore',
        onExitCodes: { containerName: 'trainer', operator: 'In', values: [143] },
      },
    },
    {
      outcome: 'a DisruptionTarget pod (evicted, preempted, node lost) is not counted, whatever its exit',
      rule: { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
    },
  ])('has a pod failure policy rule by which $outcome', ({ rule }) => {
    expect(desiredJob(trainingJob(), images).spec!.podFailurePolicy!.rules).toContainEqual(rule);
  });

  it('counts every other exit against backoffLimit: 75 (transient), 137 (out of memory), 1', () => {
    const byExit = desiredJob(trainingJob(), images).spec!.podFailurePolicy!.rules.flatMap(
      (r) => r.onExitCodes?.values ?? [],
    );
    expect(byExit).not.toContain(TrainerExitCode.Transient);
    expect(byExit).not.toContain(137);
    expect(byExit).not.toContain(1);
  });

  it('replaces a stopped trainer pod only once it has terminated, so two never write checkpoints at once', () => {
    expect(desiredJob(trainingJob(), images).spec!.podReplacementPolicy).toBe('Failed');
  });

  it.each([
    ['backoffLimit', { backoffLimit: 7 }, 'backoffLimit', 7],
    ['activeDeadlineSeconds', { activeDeadlineSeconds: 3600 }, 'activeDeadlineSeconds', 3600],
    ['ttlSecondsAfterFinished', { ttlSecondsAfterFinished: 60 }, 'ttlSecondsAfterFinished', 60],
    ['suspend', { suspend: true }, 'suspend', true],
  ] as const)('passes spec.%s through to the Job', (_field, spec, jobField, value) => {
    expect(desiredJob(trainingJob(spec as never), images).spec![jobField]).toBe(value);
  });

  it.each([
    ['runs a Job that is neither suspended nor stopped', {}, false],
    [
      'suspends the Job of a stopped TrainingJob, so the Job controller deletes its pod',
      { stop: { reason: 'EarlyStopped' } },
      true,
    ],
    [
      'keeps a stopped TrainingJob’s Job suspended when spec.suspend is false again',
      { suspend: false, stop: { reason: 'Stopped' } },
      true,
    ],
  ] as const)('%s', (_name, spec, suspended) => {
    expect(desiredJob(trainingJob(spec as never), images).spec!.suspend).toBe(suspended);
  });

  it('passes nodeSelector, tolerations and serviceAccountName through to the pod', () => {
    const tj = trainingJob({
      nodeSelector: { pool: 'gpu' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ml', effect: 'NoSchedule' }],
      serviceAccountName: 'ml-trainer',
    });
    const pod = desiredJob(tj, images).spec!.template.spec!;
    expect(pod.nodeSelector).toEqual({ pool: 'gpu' });
    expect(pod.tolerations).toContainEqual({
      key: 'dedicated',
      operator: 'Equal',
      value: 'ml',
      effect: 'NoSchedule',
    });
    expect(pod.serviceAccountName).toBe('ml-trainer');
  });

  it('runs non-root with a read-only root filesystem and no capabilities', () => {
    const tj = trainingJob();
    const pod = desiredJob(tj, images).spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container(tj).securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
  });

  it('mounts storage credentials from the Secret by reference and never copies them', () => {
    const tj = trainingJob({
      storage: {
        endpoint: 'http://s3.local:9000',
        region: 'eu-1',
        forcePathStyle: true,
        credentialsSecretRef: { name: 'creds' },
      },
    });
    const job = desiredJob(tj, images);
    expect(job.spec!.template.spec!.volumes).toContainEqual({
      name: 'storage-credentials',
      secret: { secretName: 'creds' },
    });
    expect(env(tj)).toMatchObject({
      AWS_ENDPOINT_URL_S3: 'http://s3.local:9000',
      AWS_REGION: 'eu-1',
      K2K_S3_FORCE_PATH_STYLE: 'true',
      K2K_S3_CREDENTIALS_DIR: CREDENTIALS_DIR,
    });
    expect(JSON.stringify(job)).not.toMatch(/AWS_SECRET_ACCESS_KEY/);
  });

  it('keeps the pod template of an existing Job, which Kubernetes does not let change', () => {
    const existing = desiredJob(trainingJob(), { cpu: 'old-image', gpu: 'old-gpu' });
    expect(desiredJob(trainingJob(), images, existing).spec!.template.spec!.containers[0]!.image).toBe(
      'old-image',
    );
  });

  it('keeps the pod failure policy of an existing Job, which Kubernetes does not let change', () => {
    const existing = desiredJob(trainingJob(), images);
    const older = { rules: existing.spec!.podFailurePolicy!.rules.slice(0, 1) };
    existing.spec!.podFailurePolicy = older;
    expect(desiredJob(trainingJob(), images, existing).spec!.podFailurePolicy).toEqual(older);
  });
});

describe('trainerConfig', () => {
  it('is a valid TrainerConfig for the trainer, with the model name and version filled in', () => {
    const config = trainerConfig(trainingJob());
    expect(Value.Errors(TrainerConfig, config)).toEqual([]);
    expect(config.model.name).toBe('mnist');
    expect(config.output.version).toBe(String(Date.parse('2026-11-25T00:00:00Z') / 1000));
    expect(config.trainingJob).toEqual({ namespace: 'ml', name: 'mnist', uid: 'uid-1' });
  });

  it.each([
    [
      'uses spec.output.version when set',
      { output: { uri: 's3://m/', version: '7', checkpointEvery: 1 } },
      '7',
    ],
    ['uses the creation time in Unix seconds otherwise', {}, '1795564800'],
  ])('artifactVersion %s', (_name, spec, version) => {
    expect(artifactVersion(trainingJob(spec as never))).toBe(version);
  });
});

describe('trainer RBAC', () => {
  it('lets the trainer patch only its own TrainingJob status', () => {
    expect(desiredRole(trainingJob()).rules).toEqual([
      {
        apiGroups: ['k2k.dev'],
        resources: ['trainingjobs/status'],
        resourceNames: ['mnist'],
        verbs: ['get', 'patch'],
      },
    ]);
  });

  it('creates no ServiceAccount when the user names one, and binds the Role to theirs', () => {
    const children = desiredChildren(trainingJob({ serviceAccountName: 'mine' }), images);
    expect(children.map((c) => c.kind)).toEqual(['Role', 'RoleBinding', 'Job']);
    const binding = children[1] as { subjects: { name: string }[] };
    expect(binding.subjects[0]!.name).toBe('mine');
  });

  it('applies the Job last, after the account its pod runs as', () => {
    expect(desiredChildren(trainingJob(), images).map((c) => c.kind)).toEqual([
      'ServiceAccount',
      'Role',
      'RoleBinding',
      'Job',
    ]);
  });
});
