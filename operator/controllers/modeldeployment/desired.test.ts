import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { CREDENTIALS_DIR, type ModelDeployment, ModelDeploymentSpec } from '../../../api/index.ts';
import {
  desiredChildren,
  desiredDeployment,
  desiredHPA,
  desiredService,
  GRPC_PORT,
  LABEL_MODELDEPLOYMENT,
  SERVER_PORT,
} from './desired.ts';
import { monitoringPlan } from './monitoring.ts';

const opts = { image: 'k2k/model-server:default' };
const URI = 's3://models/mnist/1764037200/';

/** A ModelDeployment as the API server returns it: defaults applied, uid set. */
function modelDeployment(spec: Partial<ModelDeployment['spec']> = {}, name = 'mnist'): ModelDeployment {
  const raw = { model: { artifactURI: URI }, ...spec };
  return {
    apiVersion: 'k2k.dev/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name, namespace: 'ml', uid: 'uid-1', generation: 1 },
    spec: Value.Default(ModelDeploymentSpec, raw) as ModelDeployment['spec'],
  };
}

const podSpec = (md: ModelDeployment) => desiredDeployment(md, URI, opts).spec!.template.spec!;
const container = (md: ModelDeployment) => podSpec(md).containers[0]!;
const env = (md: ModelDeployment) =>
  Object.fromEntries((container(md).env ?? []).map((e) => [e.name, e.value]));

describe('desiredDeployment', () => {
  it.each([
    {
      name: 'passes the artifact, batching and drift settings to the server as its variables',
      spec: {
        batching: { maxBatchSize: 64, maxDelayMs: 5 },
        drift: { windowSize: 500, psiThreshold: 0.25, ksPValueThreshold: 0.01, minSamples: 100 },
      },
      expected: {
        K2K_MODEL_URI: URI,
        K2K_HOST: '0.0.0.0',
        K2K_PORT: '8080',
        K2K_GRPC_PORT: '8500',
        K2K_BATCHING_MAX_BATCH_SIZE: '64',
        K2K_BATCHING_MAX_DELAY_MS: '5',
        K2K_DRIFT_WINDOW_SIZE: '500',
        K2K_DRIFT_PSI_THRESHOLD: '0.25',
        K2K_DRIFT_KS_P_VALUE_THRESHOLD: '0.01',
        K2K_DRIFT_MIN_SAMPLES: '100',
      },
    },
    {
      name: 'uses the schema defaults for batching and drift when the spec leaves them out',
      spec: {},
      expected: {
        K2K_BATCHING_MAX_BATCH_SIZE: '32',
        K2K_BATCHING_MAX_DELAY_MS: '0',
        K2K_DRIFT_WINDOW_SIZE: '1000',
        K2K_DRIFT_PSI_THRESHOLD: '0.2',
        K2K_DRIFT_KS_P_VALUE_THRESHOLD: '0.05',
        K2K_DRIFT_MIN_SAMPLES: '200',
      },
    },
  ])('$name', ({ spec, expected }) => {
    expect(env(modelDeployment(spec as Partial<ModelDeployment['spec']>))).toMatchObject(expected);
  });

  it('mounts storage credentials from the Secret by reference and never copies them', () => {
    const md = modelDeployment({
      storage: {
        endpoint: 'http://s3.local:9000',
        region: 'eu-1',
        forcePathStyle: true,
        credentialsSecretRef: { name: 'creds' },
      },
    });
    expect(podSpec(md).volumes).toContainEqual({
      name: 'storage-credentials',
      secret: { secretName: 'creds' },
    });
    expect(container(md).volumeMounts).toContainEqual({
      name: 'storage-credentials',
      mountPath: CREDENTIALS_DIR,
      readOnly: true,
    });
    expect(env(md)).toMatchObject({
      AWS_ENDPOINT_URL_S3: 'http://s3.local:9000',
      AWS_REGION: 'eu-1',
      K2K_S3_FORCE_PATH_STYLE: 'true',
      K2K_S3_CREDENTIALS_DIR: CREDENTIALS_DIR,
    });
    expect(JSON.stringify(desiredDeployment(md, URI, opts))).not.toMatch(/AWS_SECRET_ACCESS_KEY/);
  });

  it('sets no storage variables and mounts no Secret without spec.storage', () => {
    const md = modelDeployment();
    expect(Object.keys(env(md)).filter((k) => k.startsWith('AWS_') || k.includes('S3'))).toEqual([]);
    expect(podSpec(md).volumes).toEqual([{ name: 'tmp', emptyDir: {} }]);
  });

  it('runs non-root with a read-only root filesystem, no privilege escalation, no capabilities and RuntimeDefault seccomp', () => {
    const md = modelDeployment();
    expect(podSpec(md).securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container(md).securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(podSpec(md).automountServiceAccountToken).toBe(false);
  });

  it('probes readiness on /readyz and liveness on /healthz of the server port', () => {
    const c = container(modelDeployment());
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.ports).toEqual([
      { name: 'http', containerPort: SERVER_PORT, protocol: 'TCP' },
      { name: 'grpc', containerPort: GRPC_PORT, protocol: 'TCP' },
    ]);
  });

  it('leaves spec.replicas unset so that it does not fight the HorizontalPodAutoscaler', () => {
    const spec = desiredDeployment(modelDeployment({ replicas: { min: 2, max: 5 } }), URI, opts).spec!;
    expect(spec).not.toHaveProperty('replicas');
  });

  it('asks Prometheus to scrape /metrics on the server port', () => {
    const annotations = desiredDeployment(modelDeployment(), URI, opts).spec!.template.metadata!.annotations;
    expect(annotations).toEqual({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '8080',
      'prometheus.io/path': '/metrics',
    });
  });

  it.each([
    { name: 'uses the operator’s server image when spec.image is unset', spec: {}, image: opts.image },
    { name: 'uses spec.image when set', spec: { image: 'registry/custom:1' }, image: 'registry/custom:1' },
  ])('$name', ({ spec, image }) => {
    expect(container(modelDeployment(spec)).image).toBe(image);
  });

  it.each([
    {
      name: 'requests CPU and memory and limits memory from spec.resources',
      resources: { gpus: 0, cpu: '500m', memory: '1Gi' },
      expected: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '1Gi' } },
    },
    {
      name: 'requests and limits GPUs alike',
      resources: { gpus: 1 },
      expected: { requests: { cpu: '250m', 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': '1' } },
    },
    {
      name: 'requests the default CPU when none is asked, so the CPU autoscaler has a denominator',
      resources: { gpus: 0 },
      expected: { requests: { cpu: '250m' } },
    },
    {
      name: 'leaves the CPU request to Kubernetes (the limit) when only a CPU limit is asked',
      resources: { gpus: 0, cpuLimit: '2' },
      expected: { limits: { cpu: '2' } },
    },
  ])('$name', ({ resources, expected }) => {
    expect(container(modelDeployment({ resources })).resources).toEqual(expected);
  });

  it('lets the server report why it gave up loading through its termination message', () => {
    expect(container(modelDeployment({}))).toMatchObject({
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'FallbackToLogsOnError',
    });
  });

  it('passes nodeSelector, tolerations and serviceAccountName through', () => {
    const md = modelDeployment({
      nodeSelector: { pool: 'serving' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ml', effect: 'NoSchedule' }],
      serviceAccountName: 'reader',
    });
    expect(podSpec(md).nodeSelector).toEqual({ pool: 'serving' });
    expect(podSpec(md).tolerations).toEqual([
      { key: 'dedicated', operator: 'Equal', value: 'ml', effect: 'NoSchedule' },
    ]);
    expect(podSpec(md).serviceAccountName).toBe('reader');
    expect(desiredChildren(md, URI, opts).map((c) => c.kind)).not.toContain('ServiceAccount');
  });

  it('runs as its own token-less ServiceAccount unless spec.serviceAccountName is set', () => {
    const md = modelDeployment();
    expect(podSpec(md).serviceAccountName).toBe('mnist-server');
    const children = desiredChildren(md, URI, opts);
    expect(children.map((c) => c.kind)).toEqual([
      'ServiceAccount',
      'Service',
      'Deployment',
      'HorizontalPodAutoscaler',
    ]);
    expect(children[0]).toMatchObject({
      metadata: { name: 'mnist-server' },
      automountServiceAccountToken: false,
    });
  });

  it('selects its pods by the ModelDeployment label, which the pod template carries', () => {
    const d = desiredDeployment(modelDeployment(), URI, opts);
    expect(d.spec!.selector.matchLabels).toMatchObject({ [LABEL_MODELDEPLOYMENT]: 'mnist' });
    expect(d.spec!.template.metadata!.labels).toMatchObject(d.spec!.selector.matchLabels!);
  });

  it('builds the same object from the same input', () => {
    const md = modelDeployment({
      storage: { region: 'x', forcePathStyle: true, credentialsSecretRef: { name: 's' } },
    });
    expect(JSON.stringify(desiredChildren(md, URI, opts))).toBe(
      JSON.stringify(desiredChildren(md, URI, opts)),
    );
  });
});

describe('every child', () => {
  it.each(
    [
      ...desiredChildren(modelDeployment(), URI, opts),
      ...monitoringPlan(modelDeployment(), { state: 'served' }).children,
    ].map((child) => ({ kind: child.kind, child })),
  )('the $kind is owned by its ModelDeployment as controller and labelled as k2k’s', ({ child }) => {
    expect(child.metadata!.namespace).toBe('ml');
    expect(child.metadata!.ownerReferences).toEqual([
      {
        apiVersion: 'k2k.dev/v1alpha1',
        kind: 'ModelDeployment',
        name: 'mnist',
        uid: 'uid-1',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(child.metadata!.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'k2k',
      'app.kubernetes.io/name': 'k2k-model-server',
      'app.kubernetes.io/instance': 'mnist',
      [LABEL_MODELDEPLOYMENT]: 'mnist',
    });
  });
});

describe('desiredService', () => {
  it('exposes port 80 as http and 8500 as grpc (appProtocol grpc) to the server ports of the selected pods, inside the cluster', () => {
    const md = modelDeployment();
    const svc = desiredService(md);
    expect(svc.spec).toEqual({
      type: 'ClusterIP',
      selector: desiredDeployment(md, URI, opts).spec!.selector.matchLabels,
      ports: [
        { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
        { name: 'grpc', port: 8500, targetPort: 'grpc', protocol: 'TCP', appProtocol: 'grpc' },
      ],
    });
  });
});

describe('desiredHPA', () => {
  it.each([
    { name: 'scales between the spec bounds on the CPU target', replicas: { min: 2, max: 7 }, cpu: 55 },
    { name: 'uses the defaults of 1 to 3 replicas at 70% CPU', replicas: undefined, cpu: undefined },
  ])('$name', ({ replicas, cpu }) => {
    const md = modelDeployment({
      ...(replicas ? { replicas } : {}),
      ...(cpu ? { autoscaling: { targetCPUUtilization: cpu } } : {}),
    });
    expect(desiredHPA(md).spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'mnist' },
      minReplicas: replicas?.min ?? 1,
      maxReplicas: replicas?.max ?? 3,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: cpu ?? 70 } },
        },
      ],
    });
  });
});
