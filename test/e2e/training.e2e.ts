// The sample TrainingJob's path end to end on the local node: the operator (in-cluster, from its
// image) creates the trainer Job; the trainer pod (localhost/k2k/trainer-gpu:dev, which is the CPU
// trainer: the node advertises nvidia.com/gpu but has none) reads MNIST from the real S3 server
// and trains on native TensorFlow (the image carries the tfjs-node addon, ADR 0030), faster than
// the same image on WebAssembly, and writes a verified artifact there; a ModelDeployment then serves it with the model-server
// image behind a Service, autoscaled by an HPA. A TrainingJob whose Job ttlSecondsAfterFinished
// deletes keeps its result. A .keras file made by Keras 3 fine-tunes in a pod; one with a layer
// TensorFlow.js lacks fails as invalid input, naming the layer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExposedPort } from '../../hack/cluster/node.ts';
import { call, grpcClients } from '../../server/grpc/client.ts';
import { freshBucket, storeFor } from '../../trainer/testkit.ts';
import { eventually } from '../harness/eventually.ts';
import { kerasFixtures } from '../harness/keras-fixtures.ts';
import { type S3Server, startS3Server } from '../harness/s3.ts';
import {
  apply,
  clusterPace,
  exposeS3,
  installOperator,
  kubectl,
  kubectlJson,
  storageSecret,
  waitForModelDeployment,
} from './kube.ts';
import { DIGIT_SIZE, digits, mnistTrainingJob, putDigits } from './mnist.ts';

const namespace = `e2e-training-${Date.now().toString(36)}`;

interface TrainingJobStatus {
  metadata: { generation: number };
  status?: {
    observedGeneration?: number;
    phase?: string;
    metrics?: Record<string, number>;
    artifact?: { uri: string; manifestSha256?: string };
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
    progress?: { backend?: string; stepEngine?: string };
    startTime?: string;
    completionTime?: string;
  };
}

describe('a TrainingJob on the local node', () => {
  let s3: S3Server | undefined;
  let exposed: ExposedPort | undefined;
  let bucket = '';
  let artifactURI = '';

  const trainingJob = (
    name: string,
    port: ExposedPort,
    server: S3Server,
    spec: Record<string, unknown> = {},
  ) => mnistTrainingJob(name, { namespace, bucket, endpoint: port.url, region: server.region }, spec);
  /** samplesPerSecond of the last epoch the trainer pod logged (one JSON object per line). */
  const lastEpochRate = async (name: string) => {
    const logs = await kubectl(['logs', '-n', namespace, '-l', `k2k.dev/trainingjob=${name}`, '--tail=-1']);
    const rates = logs
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg?: string; samplesPerSecond?: number })
      .filter((entry) => entry.msg === 'epoch' && typeof entry.samplesPerSecond === 'number')
      .map((entry) => entry.samplesPerSecond as number);
    expect(rates.length, `epoch lines in the logs of ${name}:\n${logs}`).toBeGreaterThan(0);
    return rates[rates.length - 1] as number;
  };
  const getTrainingJob = (name: string) =>
    kubectlJson<TrainingJobStatus>(['get', 'trainingjob', '-n', namespace, name]);
  const finished = (name: string) =>
    eventually(
      async () => {
        const got = await getTrainingJob(name);
        const phase = got.status?.phase;
        return phase === 'Succeeded' || phase === 'Failed' ? got : undefined;
      },
      { what: `TrainingJob ${name} to finish`, ...clusterPace, timeoutMs: 280_000 },
    );

  beforeAll(async () => {
    s3 = await startS3Server();
    const env = { ...s3, region: s3.region };
    bucket = await freshBucket(env, 'k2k-e2e');
    const store = storeFor(env);
    await putDigits(store, `s3://${bucket}/mnist/`, 60, 20);
    const keras = await kerasFixtures();
    for (const name of ['mnist-mlp.keras', 'unsupported-layer.keras']) {
      await store.put(`s3://${bucket}/keras/${name}`, keras.file(name));
    }

    await installOperator();
    await kubectl(['create', 'namespace', namespace]);
    exposed = await exposeS3(s3, namespace);
  });

  afterAll(async () => {
    await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => '');
    await exposed?.stop();
    await s3?.stop();
  });

  it('trains in a GPU-requesting pod on the CPU and reports a verified artifact', async () => {
    if (!s3 || !exposed) throw new Error('setup failed');
    await apply([
      storageSecret(s3, namespace),
      trainingJob('mnist-mlp', exposed, s3, { resources: { gpus: 1, cpu: '1', memory: '1Gi' } }),
    ]);
    const tj = await finished('mnist-mlp');
    expect(tj.status?.conditions?.filter((c) => c.status === 'True').map((c) => c.type)).toContain(
      'Succeeded',
    );
    expect(tj.status?.phase).toBe('Succeeded');
    expect(tj.status?.progress?.backend).toBe('tensorflow');
    expect(tj.status?.progress?.stepEngine).toBe('graph');
    expect(tj.status?.artifact?.uri).toMatch(new RegExp(`^s3://${bucket}/models/`));
    artifactURI = tj.status!.artifact!.uri;
    const pods = await kubectlJson<{
      items: Array<{
        spec: { containers: Array<{ image: string; resources: { limits?: Record<string, string> } }> };
      }>;
    }>(['get', 'pods', '-n', namespace, '-l', 'k2k.dev/trainingjob=mnist-mlp']);
    expect(pods.items[0]?.spec.containers[0]?.resources.limits?.['nvidia.com/gpu']).toBe('1');
  });
  it('trains on the image’s native TensorFlow by default and on WebAssembly when the spec asks', async () => {
    if (!s3 || !exposed) throw new Error('setup failed');
    const spec = { epochs: 3 };
    // One after the other: on two shared cores, TensorFlow's thread pools lose most of their
    // speed to a concurrent pod (measured: 498 samples/s side by side, 3,238 alone).
    await apply([storageSecret(s3, namespace), trainingJob('speed-native', exposed, s3, spec)]);
    const native = await finished('speed-native');
    await apply(trainingJob('speed-wasm', exposed, s3, { ...spec, backend: 'wasm' }));
    const wasm = await finished('speed-wasm');
    expect(native.status?.progress?.backend).toBe('tensorflow');
    expect(wasm.status?.progress?.backend).toBe('wasm');
    // In the pod the native backend's steps run as one TensorFlow graph each (trainer/graph/:
    // it writes its SavedModel under the pod's /tmp emptyDir); wasm keeps tfjs's eager step.
    expect(native.status?.progress?.stepEngine).toBe('graph');
    expect(wasm.status?.progress?.stepEngine).toBe('eager (backend wasm)');
    const [nativeRate, wasmRate] = await Promise.all([
      lastEpochRate('speed-native'),
      lastEpochRate('speed-wasm'),
    ]);
    const podSeconds = (tj: TrainingJobStatus) =>
      (Date.parse(tj.status?.completionTime ?? '') - Date.parse(tj.status?.startTime ?? '')) / 1000;
    // Logged, not asserted: timings on a shared machine belong in benchmarks (docs/benchmarks.md
    // records this ratio), and a test must not fail because a neighbour was busy.
    console.log(
      `in-cluster training: native ${nativeRate} samples/s, wasm ${wasmRate} samples/s (${(nativeRate / wasmRate).toFixed(1)}x); Job start to completion native ${podSeconds(native)} s, wasm ${podSeconds(wasm)} s`,
    );
  });

  it('serves the trained model through a ModelDeployment: the operator’s Deployment, Service and HPA', async () => {
    if (!s3 || !exposed || !artifactURI) throw new Error('the training test did not produce an artifact');
    await apply({
      apiVersion: 'k2k.dev/v1alpha1',
      kind: 'ModelDeployment',
      metadata: { name: 'mnist-mlp', namespace },
      spec: {
        model: { trainingJobRef: { name: 'mnist-mlp' } },
        storage: { endpoint: exposed.url, region: s3.region, credentialsSecretRef: { name: 'k2k-storage' } },
        replicas: { min: 1, max: 2 },
        resources: { cpu: '250m', memory: '512Mi' },
      },
    });
    const md = await waitForModelDeployment(namespace, 'mnist-mlp', { timeoutMs: 240_000 });
    expect(md.status?.artifact?.uri).toBe(artifactURI);
    expect(md.status?.readyReplicas).toBeGreaterThanOrEqual(1);

    // What the operator made from it: the model-server image, non-root on a read-only root
    // filesystem, the storage credentials by reference; an HPA within the spec's bounds.
    const deployment = await kubectlJson<{
      spec: {
        template: {
          spec: {
            containers: Array<{
              image: string;
              securityContext?: { readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean };
            }>;
            securityContext?: { runAsNonRoot?: boolean };
            volumes?: Array<{ secret?: { secretName: string } }>;
          };
        };
      };
    }>(['get', 'deployment', '-n', namespace, 'mnist-mlp']);
    const pod = deployment.spec.template.spec;
    expect(pod.containers[0]?.image).toBe('localhost/k2k/model-server:dev');
    expect(pod.containers[0]?.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(pod.securityContext?.runAsNonRoot ?? pod.containers[0]?.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.volumes?.map((v) => v.secret?.secretName)).toContain('k2k-storage');
    const hpa = await kubectlJson<{ spec: { minReplicas: number; maxReplicas: number } }>([
      'get',
      'hpa',
      '-n',
      namespace,
      'mnist-mlp',
    ]);
    expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([1, 2]);

    const ip = (
      await kubectl(['get', 'service', '-n', namespace, 'mnist-mlp', '-o', 'jsonpath={.spec.clusterIP}'])
    ).trim();
    const digit = digits(1, 90);
    const response = await eventually(
      async () => {
        const resp = await fetch(`http://${ip}/v2/models/mnist-mlp/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            inputs: [
              {
                name: 'input',
                shape: [1, 28, 28, 1],
                datatype: 'FP32',
                data: Array.from(digit.images.subarray(0, DIGIT_SIZE)),
              },
            ],
          }),
          signal: AbortSignal.timeout(5000),
        });
        return resp.ok
          ? ((await resp.json()) as {
              model_name: string;
              outputs: Array<{ shape: number[]; data: number[] }>;
            })
          : undefined;
      },
      { what: 'a prediction', ...clusterPace },
    );
    expect(response.model_name).toBe('mnist-mlp');
    expect(response.outputs[0]!.shape).toEqual([1, 10]);
    expect(response.outputs[0]!.data.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);

    // The same digit over gRPC through the Service's grpc port (status.grpcURL), from the image's
    // own .proto files: the same probabilities as REST.
    expect(md.status?.grpcURL).toBe(`dns:///mnist-mlp.${namespace}.svc:8500`);
    const grpc = grpcClients(`${ip}:8500`);
    try {
      const answer = await call(grpc.inference.ModelInfer.bind(grpc.inference), {
        model_name: 'mnist-mlp',
        inputs: [
          {
            name: 'input',
            datatype: 'FP32',
            shape: [1, 28, 28, 1],
            contents: { fp32_contents: Array.from(digit.images.subarray(0, DIGIT_SIZE)) },
          },
        ],
      });
      expect(answer.outputs[0]!.shape).toEqual(['1', '10']);
      expect(answer.outputs[0]!.contents!.fp32_contents).toEqual(response.outputs[0]!.data);
    } finally {
      grpc.close();
    }
  });

  it('fine-tunes a Keras 3 .keras file in its pod, with frozen layers', async () => {
    if (!s3 || !exposed) throw new Error('setup failed');
    await apply([
      storageSecret(s3, namespace),
      trainingJob('from-keras', exposed, s3, {
        model: { kerasURI: `s3://${bucket}/keras/mnist-mlp.keras`, freezeLayers: 2 },
      }),
    ]);
    const tj = await finished('from-keras');
    expect(tj.status?.phase, JSON.stringify(tj.status?.conditions)).toBe('Succeeded');
    expect(tj.status?.artifact?.uri).toMatch(new RegExp(`^s3://${bucket}/models/from-keras/`));
    expect(tj.status?.metrics?.test_acc).toBeTypeOf('number');
  });

  it('fails a .keras file with a layer TensorFlow.js lacks as invalid input, naming the layer', async () => {
    if (!s3 || !exposed) throw new Error('setup failed');
    await apply([
      storageSecret(s3, namespace),
      trainingJob('unsupported-keras', exposed, s3, {
        model: { kerasURI: `s3://${bucket}/keras/unsupported-layer.keras` },
      }),
    ]);
    const tj = await finished('unsupported-keras');
    expect(tj.status?.phase).toBe('Failed');
    const ready = tj.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.reason).toBe('InvalidInput');
    expect(ready?.message).toMatch(/layer "unit_normalization" \(class UnitNormalization\)/);
  });

  it('keeps a trained TrainingJob Succeeded with its artifact after ttlSecondsAfterFinished deletes its Job', async () => {
    if (!s3 || !exposed) throw new Error('setup failed');
    const keptJobs = async () =>
      (
        await kubectlJson<{ items: unknown[] }>([
          'get',
          'jobs',
          '-n',
          namespace,
          '-l',
          'k2k.dev/trainingjob=kept',
        ])
      ).items;
    await apply([
      storageSecret(s3, namespace),
      trainingJob('kept', exposed, s3, { ttlSecondsAfterFinished: 0 }),
    ]);
    const done = await finished('kept');
    expect(done.status?.phase).toBe('Succeeded');
    expect(done.status?.artifact?.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(done.status?.metrics?.loss).toBeTypeOf('number');
    await eventually(
      async () => {
        return (await keptJobs()).length === 0 || undefined;
      },
      { what: 'the TTL controller to delete the Job', ...clusterPace },
    );
    // A new generation makes the operator reconcile it with the Job gone.
    await kubectl([
      'patch',
      'trainingjob',
      '-n',
      namespace,
      'kept',
      '--type=merge',
      '-p',
      '{"spec":{"activeDeadlineSeconds":3600}}',
    ]);
    const after = await eventually(
      async () => {
        const got = await getTrainingJob('kept');
        return got.status?.observedGeneration === got.metadata.generation ? got : undefined;
      },
      { what: 'the operator to reconcile the new generation', ...clusterPace },
    );
    expect(after.status?.phase).toBe('Succeeded');
    expect(after.status?.artifact).toEqual(done.status?.artifact);
    expect(after.status?.metrics).toEqual(done.status?.metrics);
    expect(await keptJobs()).toEqual([]);
  });
});
