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

const named = (obj: Manifest, name: string): Manifest => ({ ...obj, metadata: { name } });

const withDataset = (uri: string) => trainingJob({ dataset: { format: 'csv', uri, label: 'y' } });

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
    [
      'a ModelDeployment whose drift alerts fire after 1h30m',
      modelDeployment({ monitoring: { alerts: { driftFor: '1h30m' } } }),
    ],
    [
      'a TrainingJob with a 63-character name, a file:// dataset and a CPU request under its limit',
      named(
        trainingJob({
          dataset: { format: 'csv', uri: 'file:///data/iris.csv', label: 'species' },
          resources: { cpu: '500m', cpuLimit: 1, memory: '1Gi' },
          tolerations: [{ key: 'example.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
          nodeSelector: { 'kubernetes.io/arch': 'amd64' },
        }),
        'a'.repeat(63),
      ),
    ],
    ['a ModelDeployment with a 63-character name', named(modelDeployment(), `m${'0'.repeat(62)}`)],
    [
      'a TrainingJob fine-tuning a saved Keras model with frozen layers',
      trainingJob({ model: { kerasURI: 's3://models/keras/mnist.keras', freezeLayers: 2 } }),
    ],
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
      expect(created.spec.resources).toEqual({ gpus: 0, ...manifest.spec.resources });
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
      /spec\.model.*exactly one of architecture, topology, topologyURI and kerasURI/,
    ],
    [
      'a TrainingJob with both a Keras file and a topology',
      trainingJob({ model: { kerasURI: 's3://models/a.keras', topology: { class_name: 'Sequential' } } }),
      /spec\.model.*exactly one of architecture, topology, topologyURI and kerasURI/,
    ],
    [
      'a TrainingJob freezing layers without a Keras file',
      trainingJob({ model: { architecture: 'cnn', freezeLayers: 1 } }),
      /spec\.model\.freezeLayers.*applies to kerasURI/,
    ],
    [
      'a TrainingJob asking a classifier for an anomaly percentile',
      trainingJob({ model: { architecture: 'cnn', anomalyPercentile: 95 } }),
      /spec\.model\.anomalyPercentile.*applies to task anomaly/,
    ],
    [
      'a TrainingJob starting from both a Keras file and a base artifact',
      trainingJob({ model: { kerasURI: 's3://models/a.keras', baseArtifact: { uri: 's3://models/x/1/' } } }),
      /spec\.model\.baseArtifact.*cannot be combined with baseArtifact/,
    ],
    [
      'a TrainingJob continuing a run and starting from a base artifact',
      trainingJob({
        model: { architecture: 'mnist-mlp', baseArtifact: { uri: 's3://models/x/1/' } },
        resumeFrom: { artifactURI: 's3://models/y/1/' },
      }),
      /spec\.resumeFrom.*cannot be combined with model\.baseArtifact/,
    ],
    [
      'a TrainingJob continuing a run and starting from a Keras file',
      trainingJob({
        model: { kerasURI: 's3://models/a.keras' },
        resumeFrom: { artifactURI: 's3://models/y/1/' },
      }),
      /spec\.resumeFrom.*cannot be combined with model\.kerasURI/,
    ],
    [
      'a TrainingJob continuing a run pinned by a digest that is not a sha256',
      trainingJob({ resumeFrom: { artifactURI: 's3://models/y/1/', manifestSha256: 'abc' } }),
      /spec\.resumeFrom\.manifestSha256/,
    ],
    [
      'a TrainingJob continuing a run under /proc',
      trainingJob({ resumeFrom: { artifactURI: 'file:///proc/1/' } }),
      /spec\.resumeFrom\.artifactURI.*must not name/,
    ],
    [
      'a TrainingJob with neither an architecture nor a topology',
      trainingJob({ model: {} }),
      /spec\.model.*exactly one of architecture, topology, topologyURI and kerasURI/,
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
      /spec\.model.*exactly one of artifactURI, trainingJobRef and sweepRef/,
    ],
    [
      'a ModelDeployment naming both a TrainingJob and a sweep',
      modelDeployment({ model: { trainingJobRef: { name: 'x' }, sweepRef: { name: 'y' } } }),
      /spec\.model.*exactly one of artifactURI, trainingJobRef and sweepRef/,
    ],
    [
      'a ModelDeployment naming nothing to serve',
      modelDeployment({ model: {} }),
      /spec\.model.*exactly one of artifactURI, trainingJobRef and sweepRef/,
    ],
    [
      'a ModelDeployment with a KS threshold of 1',
      modelDeployment({ drift: { ksPValueThreshold: 1 } }),
      /spec\.drift\.ksPValueThreshold.*less than 1/,
    ],
    [
      'a TrainingJob name too long for its trainer Job and labels',
      named(trainingJob(), 'a'.repeat(64)),
      /metadata\.name must be at most 63 characters/,
    ],
    [
      'a ModelDeployment name that is not a Service name (it starts with a digit)',
      named(modelDeployment(), '1model'),
      /metadata\.name must be a DNS-1035 label/,
    ],
    [
      'a ModelDeployment name too long for its Service',
      named(modelDeployment(), `m${'0'.repeat(63)}`),
      /metadata\.name must be a DNS-1035 label/,
    ],
    [
      'a memory with a minus sign',
      trainingJob({ resources: { memory: '-1Gi' } }),
      /spec\.resources\.memory.*should match/,
    ],
    [
      'a memory that is not a quantity',
      trainingJob({ resources: { memory: '2 GB' } }),
      /spec\.resources\.memory.*should match/,
    ],
    [
      'a memory of zero',
      modelDeployment({ resources: { memory: 0 } }),
      /spec\.resources\.memory.*must be a positive quantity/,
    ],
    [
      'a CPU request above its limit',
      trainingJob({ resources: { cpu: '2', cpuLimit: '1500m' } }),
      /spec\.resources\.cpu.*must not exceed cpuLimit/,
    ],
    [
      'a CPU request above its limit in a ModelDeployment',
      modelDeployment({ resources: { cpu: 2, cpuLimit: '1' } }),
      /spec\.resources\.cpu.*must not exceed cpuLimit/,
    ],
    [
      'a dataset that is the storage credentials mount',
      withDataset('file:///var/run/secrets/k2k.dev/storage/AWS_SECRET_ACCESS_KEY'),
      /spec\.dataset\.uri.*file:\/\/ URIs must not name \/var\/run\/secrets/,
    ],
    [
      'a dataset that is the service-account token (through /run and a doubled slash)',
      withDataset('file:///run//secrets/kubernetes.io/serviceaccount/token'),
      /spec\.dataset\.uri.*(must not name|must not be empty)/,
    ],
    [
      'a dataset under /proc',
      withDataset('file:///proc/self/environ'),
      /spec\.dataset\.uri.*file:\/\/ URIs must not name/,
    ],
    [
      'a dataset that walks out of its directory with ..',
      withDataset('file:///data/../etc/passwd'),
      /spec\.dataset\.uri.*path segments must not be empty, "\." or "\.\."/,
    ],
    [
      'a dataset path hidden behind percent-encoding',
      withDataset('file:///var/run/%73ecrets/kubernetes.io/serviceaccount/token'),
      /spec\.dataset\.uri.*must not contain percent-encoding/,
    ],
    [
      'an output URI under /etc',
      trainingJob({ output: { uri: 'file:///etc/k2k/' } }),
      /spec\.output\.uri.*must not name/,
    ],
    [
      'a topology URI that is the service-account token',
      trainingJob({
        model: { topologyURI: 'file:///var/run/secrets/kubernetes.io/serviceaccount/token' },
      }),
      /spec\.model\.topologyURI.*must not name/,
    ],
    [
      'a base artifact under /proc',
      trainingJob({ model: { architecture: 'cnn', baseArtifact: { uri: 'file:///proc/1/' } } }),
      /spec\.model\.baseArtifact\.uri.*must not name/,
    ],
    [
      'a ModelDeployment serving the credentials mount',
      modelDeployment({ model: { artifactURI: 'file:///var/run/secrets/k2k.dev/storage/' } }),
      /spec\.model\.artifactURI.*must not name/,
    ],
    [
      'an S3 URI with an empty path segment',
      trainingJob({ output: { uri: 's3://models//x/' } }),
      /spec\.output\.uri.*path segments must not be empty/,
    ],
    [
      'a URI with a space',
      modelDeployment({ model: { artifactURI: 's3://models/my model/' } }),
      /spec\.model\.artifactURI.*must not contain whitespace/,
    ],
    [
      'a toleration with operator Exists and a value',
      trainingJob({ tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] }),
      /spec\.tolerations\[0\]\.value.*value must be empty when operator is Exists/,
    ],
    [
      'a toleration without a key that is not Exists',
      trainingJob({ tolerations: [{ value: 'v' }] }),
      /spec\.tolerations\[0\]\.operator.*operator must be Exists when key is empty/,
    ],
    [
      'a toleration with tolerationSeconds but not NoExecute',
      modelDeployment({ tolerations: [{ key: 'k', effect: 'NoSchedule', tolerationSeconds: 5 }] }),
      /spec\.tolerations\[0\]\.tolerationSeconds.*needs effect NoExecute/,
    ],
    [
      'a nodeSelector with a key that is not a label key',
      trainingJob({ nodeSelector: { 'not a key': 'x' } }),
      /spec\.nodeSelector.*keys must be label keys/,
    ],
    [
      'a nodeSelector value too long for a label',
      trainingJob({ nodeSelector: { zone: 'z'.repeat(64) } }),
      /spec\.nodeSelector\.zone.*Too long/,
    ],
    [
      'an image with whitespace',
      modelDeployment({ image: 'registry.example/server:1 ' }),
      /spec\.image.*should match/,
    ],
    [
      'a ttlSecondsAfterFinished that does not fit the Job’s int32',
      trainingJob({ ttlSecondsAfterFinished: 2147483648 }),
      /spec\.ttlSecondsAfterFinished.*less than or equal to 2147483647/,
    ],
    [
      'a drift alert that waits longer than a day',
      modelDeployment({ monitoring: { alerts: { driftFor: '25h' } } }),
      /spec\.monitoring\.alerts\.driftFor.*must be at most 24h/,
    ],
    [
      'a drift alert timed in days (Prometheus says 1d, the schema takes hours)',
      modelDeployment({ monitoring: { alerts: { driftFor: '1d' } } }),
      /spec\.monitoring\.alerts\.driftFor.*should match/,
    ],
    [
      'a canary progress deadline too short for a pod to pull its image and load its model',
      modelDeployment({ canary: { progressDeadlineSeconds: 10 } }),
      /spec\.canary\.progressDeadlineSeconds.*greater than or equal to 30/,
    ],
    [
      'drift judged on more rows than its window holds',
      modelDeployment({ drift: { windowSize: 100, minSamples: 200 } }),
      /spec\.drift\.minSamples.*must not exceed drift\.windowSize/,
    ],
  ];

  it.each(cases)('%s, naming the field', async (_name, manifest, expected) => {
    const result = await rejection(() => create(manifest));
    expect(result, 'the API server accepted an invalid resource').toBeDefined();
    expect(result!.code).toBe(422);
    expect(result!.message).toMatch(expected);
  });

  const apply = (created: Manifest, spec: Record<string, unknown>) =>
    client.patch(
      {
        apiVersion: created.apiVersion,
        kind: created.kind,
        metadata: { name: created.metadata!.name, namespace },
        spec,
      },
      undefined,
      undefined,
      'k2k-test',
      true,
      'application/apply-patch+yaml' as never,
    );

  const immutableChanges: Array<[string, (spec: Manifest['spec']) => Manifest['spec'], RegExp]> = [
    [
      'the epochs of its hyperparameters',
      (spec) => ({ ...spec, hyperparameters: { ...spec.hyperparameters, epochs: 99 } }),
      /spec\.hyperparameters.*spec\.hyperparameters is immutable/,
    ],
    [
      'its memory',
      (spec) => ({ ...spec, resources: { ...spec.resources, memory: '8Gi' } }),
      /spec\.resources.*spec\.resources is immutable/,
    ],
    [
      'an image added after creation',
      (spec) => ({ ...spec, image: 'registry.example/trainer:2' }),
      /spec\.image.*spec\.image is immutable/,
    ],
    [
      'the run it continues',
      (spec) => ({ ...spec, resumeFrom: { artifactURI: 's3://models/y/1/' } }),
      /spec\.resumeFrom.*spec\.resumeFrom is immutable/,
    ],
    [
      'its tolerations',
      (spec) => ({ ...spec, tolerations: [{ key: 'k', operator: 'Exists' }] }),
      /spec\.tolerations.*spec\.tolerations is immutable/,
    ],
  ];

  it.each(immutableChanges)(
    'a change to %s of a TrainingJob (its pod is built from it)',
    async (_name, change, expected) => {
      const created = (await create(trainingJob())) as Manifest;
      const result = await rejection(() => apply(created, change(created.spec)));
      expect(result, 'the API server accepted the change').toBeDefined();
      expect(result!.message).toMatch(expected);
    },
  );

  it('nothing of the run limits of a TrainingJob: suspend, backoffLimit, activeDeadlineSeconds and ttlSecondsAfterFinished change', async () => {
    const created = (await create(trainingJob())) as Manifest;
    const changed = {
      ...created.spec,
      suspend: true,
      backoffLimit: 5,
      activeDeadlineSeconds: 600,
      ttlSecondsAfterFinished: 60,
    };
    const updated = (await apply(created, changed)) as Manifest;
    expect(updated.spec).toMatchObject({
      suspend: true,
      backoffLimit: 5,
      activeDeadlineSeconds: 600,
      ttlSecondsAfterFinished: 60,
    });
  });
});
