// Pure builders of the objects a ModelDeployment owns: the model server Deployment, its Service,
// the HorizontalPodAutoscaler that sizes it, and the ServiceAccount its pods run as.
import type {
  V1Deployment,
  V1EnvVar,
  V1ObjectMeta,
  V1OwnerReference,
  V1Service,
  V1ServiceAccount,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import { encodeServerEnv, type ModelDeployment, serverEnvName, TERMINATION_LOG } from '../../../api/index.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../labels.ts';
import { controllerReference } from '../ownership.ts';
import {
  resourceRequirements,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  tolerationsFor,
} from '../pod.ts';
import { storageAccess } from '../storage.ts';

export const LABEL_MODELDEPLOYMENT = 'k2k.dev/modeldeployment';
export const SERVER_CONTAINER = 'server';
/** The model server's REST port: both protocols, health and /metrics (server/README.md). */
export const SERVER_PORT = 8080;
export const SERVICE_PORT = 80;
/** The model server's gRPC port, on the container and the Service alike (TensorFlow Serving's). */
export const GRPC_PORT = 8500;
export const GRPC_PORT_NAME = 'grpc';
/** The variable the served artifact is read back from (status.ts). */
export const MODEL_URI_ENV = serverEnvName('modelUri');
export const PORT_NAME = 'http';
/**
 * The model server's CPU request when spec.resources sets neither cpu nor cpuLimit (with only a
 * limit, Kubernetes requests the limit). The HorizontalPodAutoscaler's target is a percentage of
 * the request: without one it has no denominator and never scales (docs/decisions/0017).
 */
export const DEFAULT_SERVER_CPU = '250m';
/** The server keeps serving (not ready) this long after SIGTERM, while endpoints drop the pod. */
export const SHUTDOWN_DELAY_SECONDS = 5;

export interface ServerOptions {
  /** Model server image when spec.image is unset. */
  image: string;
}

export const ownerReference = (md: ModelDeployment): V1OwnerReference => controllerReference(md);

/** The labels that select a ModelDeployment's pods (also the Deployment's immutable selector). */
export function selectorLabels(md: ModelDeployment): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'k2k-model-server',
    'app.kubernetes.io/instance': md.metadata.name!,
    [LABEL_MODELDEPLOYMENT]: md.metadata.name!,
  };
}

/** The labels of every child: the selector's, the component and who manages it. */
export function labels(md: ModelDeployment): Record<string, string> {
  return {
    ...selectorLabels(md),
    'app.kubernetes.io/component': 'model-server',
    [LABEL_MANAGED_BY]: MANAGED_BY,
  };
}

export function childMetadata(md: ModelDeployment, name: string): V1ObjectMeta {
  return {
    name,
    namespace: md.metadata.namespace!,
    labels: labels(md),
    ownerReferences: [ownerReference(md)],
  };
}

/** Every child is named like its ModelDeployment (the Service name is what clients use). */
export const deploymentName = (md: ModelDeployment) => md.metadata.name!;
export const serviceName = (md: ModelDeployment) => md.metadata.name!;
export const hpaName = (md: ModelDeployment) => md.metadata.name!;
export const serverAccountName = (md: ModelDeployment) => `${md.metadata.name}-server`;

/** What the model server reads (api/server.ts), from the spec and the resolved artifact. */
export function serverEnv(md: ModelDeployment, artifactUri: string): V1EnvVar[] {
  return [
    ...encodeServerEnv({
      modelUri: artifactUri,
      host: '0.0.0.0',
      port: SERVER_PORT,
      grpcPort: GRPC_PORT,
      batching: md.spec.batching,
      drift: md.spec.drift,
      shutdownDelaySeconds: SHUTDOWN_DELAY_SECONDS,
    }),
    ...storageAccess(md.spec.storage).env,
  ];
}

/**
 * The model server Deployment. spec.replicas is left out on purpose: the HorizontalPodAutoscaler
 * owns the replica count, and a field this manager applied would be reset on every reconcile.
 */
export function desiredDeployment(
  md: ModelDeployment,
  artifactUri: string,
  opts: ServerOptions,
): V1Deployment {
  const { spec } = md;
  const gpus = spec.resources.gpus ?? 0;
  const storage = storageAccess(spec.storage);
  const tolerations = tolerationsFor(spec.tolerations, gpus);
  const httpGet = (path: string) => ({ path, port: PORT_NAME });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: childMetadata(md, deploymentName(md)),
    spec: {
      selector: { matchLabels: selectorLabels(md) },
      revisionHistoryLimit: 3,
      // Serving capacity never drops during a rollout: a new pod must be ready before an old one goes.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
      template: {
        metadata: {
          labels: labels(md),
          annotations: {
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': String(SERVER_PORT),
            'prometheus.io/path': '/metrics',
          },
        },
        spec: {
          serviceAccountName: spec.serviceAccountName ?? serverAccountName(md),
          // The server never talks to the Kubernetes API.
          automountServiceAccountToken: false,
          securityContext: restrictedPodSecurityContext(),
          terminationGracePeriodSeconds: SHUTDOWN_DELAY_SECONDS + 30,
          ...(spec.nodeSelector ? { nodeSelector: spec.nodeSelector } : {}),
          ...(tolerations.length > 0 ? { tolerations } : {}),
          containers: [
            {
              name: SERVER_CONTAINER,
              image: spec.image ?? opts.image,
              imagePullPolicy: 'IfNotPresent',
              ports: [
                { name: PORT_NAME, containerPort: SERVER_PORT, protocol: 'TCP' },
                { name: GRPC_PORT_NAME, containerPort: GRPC_PORT, protocol: 'TCP' },
              ],
              env: serverEnv(md, artifactUri),
              resources: resourceRequirements(
                spec.resources.cpu === undefined && spec.resources.cpuLimit === undefined
                  ? { ...spec.resources, cpu: DEFAULT_SERVER_CPU }
                  : spec.resources,
              ),
              // /readyz turns 200 once the model is loaded and warmed up; /healthz while the process lives.
              readinessProbe: { httpGet: httpGet('/readyz'), periodSeconds: 5, failureThreshold: 2 },
              livenessProbe: {
                httpGet: httpGet('/healthz'),
                initialDelaySeconds: 10,
                periodSeconds: 10,
                timeoutSeconds: 5,
                failureThreshold: 3,
              },
              securityContext: restrictedContainerSecurityContext(),
              // A server that gives up loading writes its coded reason here (api/model-load.ts),
              // which status.ts turns into the Ready reason; a crash leaves its log tail instead.
              terminationMessagePath: TERMINATION_LOG,
              terminationMessagePolicy: 'FallbackToLogsOnError',
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...storage.volumeMounts],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: {} }, ...storage.volumes],
        },
      },
    },
  };
}

/**
 * A ClusterIP Service: port 80 to the server's REST port and GRPC_PORT to its gRPC port (metrics
 * are scraped from the pods). appProtocol grpc lets gRPC-aware proxies and load balancers (Istio,
 * Linkerd, Gateway API implementations) balance per call rather than per HTTP/2 connection.
 */
export function desiredService(md: ModelDeployment): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMetadata(md, serviceName(md)),
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(md),
      ports: [
        { name: PORT_NAME, port: SERVICE_PORT, targetPort: PORT_NAME, protocol: 'TCP' },
        {
          name: GRPC_PORT_NAME,
          port: GRPC_PORT,
          targetPort: GRPC_PORT_NAME,
          protocol: 'TCP',
          appProtocol: 'grpc',
        },
      ],
    },
  };
}

/** Scales the Deployment between spec.replicas.min and max on average CPU utilisation. */
export function desiredHPA(md: ModelDeployment): V2HorizontalPodAutoscaler {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: childMetadata(md, hpaName(md)),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: deploymentName(md) },
      minReplicas: md.spec.replicas.min,
      maxReplicas: md.spec.replicas.max,
      metrics: [
        {
          type: 'Resource',
          resource: {
            name: 'cpu',
            target: { type: 'Utilization', averageUtilization: md.spec.autoscaling.targetCPUUtilization },
          },
        },
      ],
    },
  };
}

export function desiredServiceAccount(md: ModelDeployment): V1ServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: childMetadata(md, serverAccountName(md)),
    automountServiceAccountToken: false,
  };
}

/** Every child, in the order they are applied (the Deployment after its account). */
export function desiredChildren(md: ModelDeployment, artifactUri: string, opts: ServerOptions) {
  return [
    ...(md.spec.serviceAccountName ? [] : [desiredServiceAccount(md)]),
    desiredService(md),
    desiredDeployment(md, artifactUri, opts),
    desiredHPA(md),
  ];
}
