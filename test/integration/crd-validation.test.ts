// The CRDs make the API server itself reject bad resources, with messages that name the field.
import { ApiextensionsV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshNamespace, objectApi, rejection, testKubeConfig } from '../harness/kube.ts';

const kc = testKubeConfig();
const client = objectApi(kc);
let namespace: string;

beforeAll(async () => {
  namespace = await freshNamespace(kc, 'k2k-crd-');
});

// biome-ignore lint/suspicious/noExplicitAny: manifests are free-form JSON in these tests
type Manifest = KubernetesObject & { spec: Record<string, any> };

const trainingJob = (spec: Record<string, unknown> = {}): Manifest => ({
  apiVersion: 'k2k.dev/v1alpha1',
  kind: 'TrainingJob',
  metadata: { generateName: 'tj-' },
  spec: {
    model: { architecture: 'mnist-mlp' },
    dataset: { format: 'mnist-idx', uri: 's3://datasets/mnist/' },
    output: { uri: 's3://models/' },
    ...spec,
  },
});

const sweep = (spec: Record<string, unknown> = {}): Manifest => ({
  apiVersion: 'k2k.dev/v1alpha1',
  kind: 'HyperparameterSweep',
  metadata: { generateName: 'sweep-' },
  spec: {
    trialTemplate: trainingJob().spec,
    parameters: [{ name: 'learningRate', type: 'double', min: 0.0001, max: 0.1, scale: 'log' }],
    objective: { metric: 'val_loss', goal: 'minimize' },
    ...spec,
  },
});

const modelDeployment = (spec: Record<string, unknown> = {}): Manifest => ({
  apiVersion: 'k2k.dev/v1alpha1',
  kind: 'ModelDeployment',
  metadata: { generateName: 'md-' },
  spec: { model: { artifactURI: 's3://models/mnist-mlp/' }, ...spec },
});

const create = (obj: Manifest) => client.create({ ...obj, metadata: { ...obj.metadata, namespace } });

describe('CRDs', () => {
  it('are installed and served with the k2k category and short names', async () => {
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    for (const [name, short] of [
      ['trainingjobs.k2k.dev', 'tj'],
      ['hyperparametersweeps.k2k.dev', 'hps'],
      ['modeldeployments.k2k.dev', 'md'],
    ] as const) {
      const crd = await ext.readCustomResourceDefinition({ name });
      expect(crd.status?.conditions?.find((c) => c.type === 'Established')?.status).toBe('True');
      expect(crd.spec.names.categories).toContain('k2k');
      expect(crd.spec.names.shortNames).toContain(short);
    }
  });

  it.each([
    ['a valid TrainingJob', trainingJob()],
    ['a valid HyperparameterSweep', sweep()],
    ['a valid ModelDeployment', modelDeployment()],
  ])('accept %s and apply the schema defaults', async (_name, manifest) => {
    const created = (await create(manifest)) as Manifest;
    expect(created.metadata?.uid).toBeTruthy();
    if (created.kind === 'TrainingJob') {
      expect(created.spec.hyperparameters).toMatchObject({
        epochs: 10,
        batchSize: 32,
        optimizer: 'adam',
        seed: 42,
      });
      expect(created.spec.resources).toEqual({ gpus: 0 });
      expect(created.spec.backoffLimit).toBe(3);
    }
  });
});

describe('the API server rejects', () => {
  const cases: Array<[string, Manifest, RegExp]> = [
    [
      'a TrainingJob with zero epochs',
      trainingJob({ hyperparameters: { epochs: 0 } }),
      /spec\.hyperparameters\.epochs.*greater than or equal to 1/,
    ],
    [
      'a TrainingJob with an unknown optimizer',
      trainingJob({ hyperparameters: { optimizer: 'adamw2' } }),
      /spec\.hyperparameters\.optimizer.*Unsupported value: "adamw2"/,
    ],
    [
      'a TrainingJob whose validationSplit is 1',
      trainingJob({ hyperparameters: { validationSplit: 1 } }),
      /spec\.hyperparameters\.validationSplit.*less than 1/,
    ],
    [
      'a TrainingJob with a negative learning rate',
      trainingJob({ hyperparameters: { learningRate: -0.1 } }),
      /spec\.hyperparameters\.learningRate.*greater than 0/,
    ],
    [
      'a TrainingJob with both an architecture and a topology',
      trainingJob({ model: { architecture: 'cnn', topology: { class_name: 'Sequential' } } }),
      /spec\.model.*exactly one of architecture, topology and topologyURI/,
    ],
    [
      'a TrainingJob with neither an architecture nor a topology',
      trainingJob({ model: {} }),
      /spec\.model.*exactly one of architecture, topology and topologyURI/,
    ],
    [
      'a TrainingJob whose dataset URI is not s3:// or file://',
      trainingJob({ dataset: { format: 'csv', uri: 'http://example.com/data.csv', label: 'y' } }),
      /spec\.dataset\.uri.*should match/,
    ],
    [
      'a CSV TrainingJob without a label column',
      trainingJob({ dataset: { format: 'csv', uri: 's3://datasets/data.csv' } }),
      /spec\.dataset\.label.*dataset\.label is required/,
    ],
    [
      'a TrainingJob asking for 17 GPUs',
      trainingJob({ resources: { gpus: 17 } }),
      /spec\.resources\.gpus.*less than or equal to 16/,
    ],
    [
      'a TrainingJob with an artifact version that is not a number',
      trainingJob({ output: { uri: 's3://models/', version: 'latest' } }),
      /spec\.output\.version.*should match/,
    ],
    [
      'a TrainingJob with an unknown architecture',
      trainingJob({ model: { architecture: 'resnet-9000' } }),
      /spec\.model\.architecture.*Unsupported value: "resnet-9000"/,
    ],
    [
      'augmentation on a CSV dataset',
      trainingJob({
        dataset: { format: 'csv', uri: 's3://d/x.csv', label: 'y', augmentation: { flip: true } },
      }),
      /spec\.dataset\.augmentation.*augmentation applies to image datasets/,
    ],
    [
      'a sweep whose log-scale parameter starts at 0',
      sweep({ parameters: [{ name: 'learningRate', type: 'double', min: 0, max: 0.1, scale: 'log' }] }),
      /spec\.parameters\[0\]\.min.*log scale needs min > 0/,
    ],
    [
      'a sweep with more parallel trials than trials',
      sweep({ maxTrials: 2, parallelTrials: 4 }),
      /spec\.parallelTrials.*must not exceed maxTrials/,
    ],
    [
      'a sweep with a categorical parameter without values',
      sweep({ parameters: [{ name: 'optimizer', type: 'categorical' }] }),
      /spec\.parameters\[0\].*categorical parameters need values/,
    ],
    [
      'a sweep with an unknown objective goal',
      sweep({ objective: { metric: 'val_loss', goal: 'lowest' } }),
      /spec\.objective\.goal.*Unsupported value: "lowest"/,
    ],
    [
      'a ModelDeployment with min replicas above max',
      modelDeployment({ replicas: { min: 5, max: 2 } }),
      /spec\.replicas.*replicas\.min must not exceed replicas\.max/,
    ],
    [
      'a ModelDeployment naming both an artifact and a TrainingJob',
      modelDeployment({ model: { artifactURI: 's3://m/x/', trainingJobRef: { name: 'x' } } }),
      /spec\.model.*exactly one of artifactURI and trainingJobRef/,
    ],
    [
      'a ModelDeployment with a KS threshold of 1',
      modelDeployment({ drift: { ksPValueThreshold: 1 } }),
      /spec\.drift\.ksPValueThreshold.*less than 1/,
    ],
  ];

  it.each(cases)('%s, naming the field', async (_name, manifest, expected) => {
    const result = await rejection(() => create(manifest));
    expect(result, 'the API server accepted an invalid resource').toBeDefined();
    expect(result!.code).toBe(422);
    expect(result!.message).toMatch(expected);
  });

  it('a change to an immutable part of a TrainingJob spec', async () => {
    const created = (await create(trainingJob())) as Manifest;
    const result = await rejection(() =>
      client.patch(
        {
          apiVersion: created.apiVersion,
          kind: created.kind,
          metadata: { name: created.metadata!.name, namespace },
          spec: { ...created.spec, hyperparameters: { ...created.spec.hyperparameters, epochs: 99 } },
        },
        undefined,
        undefined,
        'k2k-test',
        true,
        'application/apply-patch+yaml' as never,
      ),
    );
    expect(result?.message).toMatch(/spec\.hyperparameters.*spec\.hyperparameters is immutable/);
  });
});
