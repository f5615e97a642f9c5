// The operator ↔ trainer contract: what desiredChildren() writes into the trainer container is
// what the trainer's own loaders read back as the TrainingJob's spec.
import type { V1Job } from '@kubernetes/client-node';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import {
  StorageEnv,
  TERMINATION_LOG,
  TrainerEnv,
  type TrainingJob,
  TrainingJobSpec,
  TrainingSpecProperties,
} from '../../../api/index.ts';
import { storageOptionsFromEnv } from '../../../lib/storage/index.ts';
import { parseConfig } from '../../../trainer/config.ts';
import { podEnvironment, STORAGE_CASES, STORAGE_SECRETS } from '../pod-environment.testkit.ts';
import { desiredChildren, TRAINER_CONTAINER } from './desired.ts';

const images = { cpu: 'k2k/trainer:cpu', gpu: 'k2k/trainer:gpu' };
function trainingJob(spec: Record<string, unknown>): TrainingJob {
  return {
    apiVersion: 'k2k.dev/v1alpha1',
    kind: 'TrainingJob',
    metadata: {
      name: 'tj',
      namespace: 'ml',
      uid: 'uid-1',
      generation: 1,
      creationTimestamp: new Date('2026-11-25T00:00:00Z'),
    },
    spec: Value.Default(TrainingJobSpec, spec) as TrainingJob['spec'],
  };
}

/** The trainer container and the environment it runs in. */
function trainerPod(tj: TrainingJob) {
  const job = desiredChildren(tj, images).find((c): c is V1Job => c.kind === 'Job')!;
  const pod = job.spec!.template.spec!;
  const container = pod.containers.find((c) => c.name === TRAINER_CONTAINER)!;
  return { container, env: podEnvironment(pod, container, STORAGE_SECRETS) };
}

describe('the trainer reads back the TrainingJob the operator wrote', () => {
  it.each([
    {
      name: 'an MNIST job with every default',
      spec: {
        model: { architecture: 'mnist-mlp' },
        dataset: { format: 'mnist-idx', uri: 's3://datasets/mnist/' },
        output: { uri: 's3://models/' },
      },
    },
    {
      name: 'a CSV regression with every hyperparameter, a fixed version and a backend',
      spec: {
        model: { name: 'houses', task: 'regression', architecture: 'regression-mlp', units: [64, 32] },
        dataset: {
          format: 'csv',
          uri: 'file:///data/houses.csv',
          features: ['rooms', 'area'],
          label: 'price',
          normalize: false,
        },
        hyperparameters: {
          epochs: 3,
          batchSize: 16,
          learningRate: 0.01,
          optimizer: 'sgd',
          loss: 'huber',
          metrics: ['mae', 'mse'],
          validationSplit: 0.1,
          earlyStoppingPatience: 2,
          seed: 7,
        },
        output: { uri: 'file:///out/', version: '17', checkpointEvery: 0 },
        backend: 'wasm',
      },
    },
    {
      name: 'a text classifier on JSONL with its tokenizer settings',
      spec: {
        model: { architecture: 'lstm-text' },
        dataset: {
          format: 'jsonl',
          uri: 's3://datasets/reviews.jsonl',
          label: 'sentiment',
          textField: 'body',
          vocabularySize: 500,
          maxLength: 40,
        },
        output: { uri: 's3://models/' },
      },
    },
    {
      name: 'a Keras topology fine-tuned from a base artifact, with augmentation',
      spec: {
        model: {
          topology: { class_name: 'Sequential', config: { layers: [] } },
          baseArtifact: { uri: 's3://models/base/1/', freezeLayers: 2 },
        },
        dataset: {
          format: 'mnist-idx',
          uri: 's3://datasets/mnist/',
          augmentation: { shift: 0.1, rotate: 10, flip: true },
        },
        output: { uri: 's3://models/' },
      },
    },
    {
      name: 'a run that continues another run’s artifact, pinned by its digest',
      spec: {
        model: { architecture: 'mnist-mlp' },
        dataset: { format: 'mnist-idx', uri: 's3://datasets/mnist/' },
        hyperparameters: { epochs: 9 },
        output: { uri: 's3://models/' },
        resumeFrom: { artifactURI: 's3://models/tj/1/', manifestSha256: 'a'.repeat(64) },
      },
    },
  ])('$name', ({ spec }) => {
    const tj = trainingJob(spec);
    const config = parseConfig(trainerPod(tj).env[TrainerEnv.Config]!);
    // Every part of the training spec arrives as it is, but for the name and version the operator resolves.
    for (const key of Object.keys(TrainingSpecProperties) as Array<keyof typeof TrainingSpecProperties>) {
      if (key === 'model' || key === 'output') continue;
      expect(config[key], key).toEqual(tj.spec[key]);
    }
    expect(config.model).toEqual({ ...tj.spec.model, name: tj.spec.model.name ?? 'tj' });
    expect(config.output).toEqual({ ...tj.spec.output, version: tj.spec.output.version ?? '1795564800' });
    expect(config.trainingJob).toEqual({ namespace: 'ml', name: 'tj', uid: 'uid-1' });
    expect(config.resumeFrom).toEqual(tj.spec.resumeFrom);
  });

  it.each(STORAGE_CASES)('storage: $name', ({ storage, options }) => {
    const tj = trainingJob({
      model: { architecture: 'mnist-mlp' },
      dataset: { format: 'mnist-idx', uri: 's3://datasets/mnist/' },
      output: { uri: 's3://models/' },
      ...(storage ? { storage } : {}),
    });
    expect(storageOptionsFromEnv(trainerPod(tj).env)).toEqual(options);
  });

  it('writes its termination message where the pod looks for it', () => {
    const tj = trainingJob({
      model: { architecture: 'mnist-mlp' },
      dataset: { format: 'mnist-idx', uri: 's3://datasets/mnist/' },
      output: { uri: 's3://models/' },
    });
    const { container, env } = trainerPod(tj);
    expect(env[TrainerEnv.TerminationLog]).toBe(container.terminationMessagePath);
    expect(container.terminationMessagePath).toBe(TERMINATION_LOG);
  });

  it('is given only variables the trainer reads', () => {
    const tj = trainingJob({
      model: { architecture: 'mnist-mlp' },
      dataset: { format: 'mnist-idx', uri: 's3://datasets/mnist/' },
      output: { uri: 's3://models/' },
      storage: { endpoint: 'http://s3.local:9000', credentialsSecretRef: { name: 'creds' } },
    });
    const known = new Set<string>([
      ...Object.values(TrainerEnv),
      ...Object.values(StorageEnv),
      'NODE_OPTIONS',
    ]);
    expect(Object.keys(trainerPod(tj).env).filter((name) => !known.has(name))).toEqual([]);
  });
});
