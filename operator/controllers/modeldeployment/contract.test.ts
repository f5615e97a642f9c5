// The operator ↔ model server contract: what serverEnv() writes into the server container is what
// the server's loadConfig (and lib/storage) read back as the ModelDeployment's spec.
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import {
  type ModelDeployment,
  ModelDeploymentSpec,
  SERVER_VARIABLES,
  StorageEnv,
} from '../../../api/index.ts';
import { storageOptionsFromEnv } from '../../../lib/storage/index.ts';
import { loadConfig } from '../../../server/config.ts';
import { podEnvironment, STORAGE_CASES, STORAGE_SECRETS } from '../pod-environment.testkit.ts';
import {
  desiredDeployment,
  desiredService,
  GRPC_PORT,
  GRPC_PORT_NAME,
  SERVER_CONTAINER,
  SERVER_PORT,
  SHUTDOWN_DELAY_SECONDS,
} from './desired.ts';

function modelDeployment(spec: Record<string, unknown>): ModelDeployment {
  return {
    apiVersion: 'k2k.dev/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name: 'md', namespace: 'ml', uid: 'uid-1', generation: 1 },
    spec: Value.Default(ModelDeploymentSpec, spec) as ModelDeployment['spec'],
  };
}

/** The environment of the server container serving `artifactUri`. */
function serverPod(md: ModelDeployment, artifactUri: string) {
  const pod = desiredDeployment(md, artifactUri, { image: 'k2k/model-server' }).spec!.template.spec!;
  const container = pod.containers.find((c) => c.name === SERVER_CONTAINER)!;
  return podEnvironment(pod, container, STORAGE_SECRETS);
}

describe('the model server reads back the ModelDeployment the operator wrote', () => {
  it.each([
    {
      name: 'a version URI with every default',
      spec: { model: { artifactURI: 's3://models/mnist/1764037200/' } },
      uri: 's3://models/mnist/1764037200/',
      modelName: 'mnist',
    },
    {
      name: 'a model URI with its own batching and drift thresholds',
      spec: {
        model: { artifactURI: 's3://models/fraud/' },
        batching: { maxBatchSize: 64, maxDelayMs: 2.5 },
        drift: { windowSize: 500, psiThreshold: 0.25, ksPValueThreshold: 0.01, minSamples: 100 },
      },
      uri: 's3://models/fraud/',
      modelName: 'fraud',
    },
    {
      name: 'what a TrainingJob produced, with the largest batch and window the CRD allows',
      spec: {
        model: { trainingJobRef: { name: 'tj' } },
        batching: { maxBatchSize: 4096, maxDelayMs: 1000 },
        drift: { windowSize: 1_000_000, psiThreshold: 3, ksPValueThreshold: 0.999, minSamples: 1 },
      },
      uri: 'file:///data/out/houses/17/',
      modelName: 'houses',
    },
  ])('$name', ({ spec, uri, modelName }) => {
    const md = modelDeployment(spec);
    const settings = loadConfig(serverPod(md, uri));
    expect(settings.batching).toEqual(md.spec.batching);
    expect(settings.drift).toEqual(md.spec.drift);
    expect(settings).toMatchObject({
      modelUri: uri,
      modelName,
      host: '0.0.0.0',
      port: SERVER_PORT,
      grpcPort: GRPC_PORT,
      shutdownDelaySeconds: SHUTDOWN_DELAY_SECONDS,
    });
  });

  it('serves gRPC on the container port the Service sends gRPC to', () => {
    const md = modelDeployment({ model: { artifactURI: 's3://models/mnist/' } });
    const settings = loadConfig(serverPod(md, 's3://models/mnist/'));
    const container = desiredDeployment(md, 's3://models/mnist/', { image: 'k2k/model-server' }).spec!
      .template.spec!.containers[0]!;
    const named = container.ports!.find((p) => p.name === GRPC_PORT_NAME)!;
    expect(named.containerPort).toBe(settings.grpcPort);
    const servicePort = desiredService(md).spec!.ports!.find((p) => p.name === GRPC_PORT_NAME)!;
    expect(servicePort).toMatchObject({ targetPort: GRPC_PORT_NAME, appProtocol: 'grpc' });
  });

  it.each(STORAGE_CASES)('storage: $name', ({ storage, options }) => {
    const md = modelDeployment({
      model: { artifactURI: 's3://models/mnist/' },
      ...(storage ? { storage } : {}),
    });
    expect(storageOptionsFromEnv(serverPod(md, 's3://models/mnist/'))).toEqual(options);
  });

  it('is given only variables the server reads', () => {
    const md = modelDeployment({
      model: { artifactURI: 's3://models/mnist/' },
      storage: { endpoint: 'http://s3.local:9000', credentialsSecretRef: { name: 'creds' } },
    });
    const known = new Set<string>([...SERVER_VARIABLES.map((v) => v.name), ...Object.values(StorageEnv)]);
    expect(Object.keys(serverPod(md, 's3://models/mnist/')).filter((name) => !known.has(name))).toEqual([]);
  });
});
