// The children a ModelDeployment with spec.canary adds: a canary Deployment and Service (its own
// pods, never selected by the model's Service), and the traffic ConfigMap the stable pods read
// their split from. The stable pods are the ones clients reach; each forwards its exact share of
// requests to the canary Service (server/canary/, docs/decisions/0029-canary-split-in-the-stable-pods.md).
import type { KubernetesObject, V1ConfigMap, V1Deployment, V1Service } from '@kubernetes/client-node';
import { type ModelDeployment, serverEnvName } from '../../../api/index.ts';
import {
  desiredDeployment,
  desiredService,
  GRPC_PORT,
  LABEL_MODELDEPLOYMENT,
  SERVER_CONTAINER,
  SERVICE_PORT,
  type ServerOptions,
} from './desired.ts';

export const LABEL_TRACK = 'k2k.dev/track';
export const canaryName = (md: ModelDeployment) => `${md.metadata.name}-canary`;
export const trafficConfigMapName = (md: ModelDeployment) => `${md.metadata.name}-traffic`;
export const TRAFFIC_KEY = 'traffic.json';
const TRAFFIC_DIR = '/etc/k2k/traffic';
const TRAFFIC_VOLUME = 'traffic';

/** What the canary children serve in this pass (canary-pass.ts, from nextCanaryState's answer). */
export interface CanaryPlan {
  /** The artifact under test (the last one when no rollout runs). */
  uri: string;
  /** Percent of requests the stable pods forward. */
  weight: number;
  /** The canary Deployment's pods: canaryReplicas of the weight it is sized for, 0 when no rollout runs. */
  replicas: number;
}

export const canaryURL = (md: ModelDeployment) =>
  `http://${canaryName(md)}.${md.metadata.namespace}.svc:${SERVICE_PORT}`;
export const canaryGrpcAddress = (md: ModelDeployment) =>
  `${canaryName(md)}.${md.metadata.namespace}.svc:${GRPC_PORT}`;

/**
 * The canary's pods while a rollout runs at `weight`: as many per unit of model work as the stable
 * track has. At weight w the canary does w% of the predictions and the stable pods (100 − w)%, so
 * it gets stable × w / (100 − w) pods, rounded up; at least spec.canary.replicas, at most
 * spec.replicas.max. `stableReplicas` is what the stable HPA set (spec.replicas.min before there
 * is a count), so the count follows both the steps and the HPA. The split is per request in the
 * stable pods, so this count never changes the share
 * (docs/decisions/0029-canary-split-in-the-stable-pods.md); it decides when a step's weight may be
 * served (canary.ts).
 */
export function canaryReplicas(md: ModelDeployment, weight: number, stableReplicas?: number): number {
  const least = md.spec.canary?.replicas ?? 1;
  const stable = stableReplicas ?? md.spec.replicas.min;
  const matched = weight >= 100 ? md.spec.replicas.max : Math.ceil((stable * weight) / (100 - weight));
  return Math.max(least, Math.min(md.spec.replicas.max, matched));
}

/**
 * The canary's pods carry a different instance label, so neither the stable Deployment's
 * (immutable) selector nor the model's Service ever selects them: a client connection can only
 * reach the canary through a stable pod's split.
 */
export function canarySelectorLabels(md: ModelDeployment): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'k2k-model-server',
    'app.kubernetes.io/instance': canaryName(md),
    [LABEL_MODELDEPLOYMENT]: md.metadata.name!,
    [LABEL_TRACK]: 'canary',
  };
}

function setEnv(d: V1Deployment, env: Record<string, string>): void {
  const server = d.spec!.template.spec!.containers.find((c) => c.name === SERVER_CONTAINER)!;
  const rest = (server.env ?? []).filter((e) => !(e.name in env));
  server.env = [...rest, ...Object.entries(env).map(([name, value]) => ({ name, value }))];
}

/** The stable Deployment, reading its split from the traffic ConfigMap (mounted: updates need no restart). */
export function withTrafficSplit(stable: V1Deployment, md: ModelDeployment): V1Deployment {
  const d = structuredClone(stable);
  const pod = d.spec!.template;
  pod.metadata!.labels = { ...pod.metadata!.labels, [LABEL_TRACK]: 'stable' };
  setEnv(d, {
    [serverEnvName('track')]: 'stable',
    [serverEnvName('trafficFile')]: `${TRAFFIC_DIR}/${TRAFFIC_KEY}`,
  });
  const server = pod.spec!.containers.find((c) => c.name === SERVER_CONTAINER)!;
  server.volumeMounts = [
    ...(server.volumeMounts ?? []),
    { name: TRAFFIC_VOLUME, mountPath: TRAFFIC_DIR, readOnly: true },
  ];
  pod.spec!.volumes = [
    ...(pod.spec!.volumes ?? []),
    // Optional: a stable pod starts (and serves everything) before the ConfigMap exists.
    { name: TRAFFIC_VOLUME, configMap: { name: trafficConfigMapName(md), optional: true } },
  ];
  return d;
}

export function desiredTrafficConfigMap(md: ModelDeployment, plan: CanaryPlan): V1ConfigMap {
  const service = desiredService(md);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { ...service.metadata!, name: trafficConfigMapName(md) },
    data: {
      [TRAFFIC_KEY]: JSON.stringify({
        canaryURL: canaryURL(md),
        canaryGrpcAddress: canaryGrpcAddress(md),
        weight: plan.weight,
      }),
    },
  };
}

export function desiredCanaryService(md: ModelDeployment): V1Service {
  const s = desiredService(md);
  return {
    ...s,
    metadata: {
      ...s.metadata!,
      name: canaryName(md),
      labels: { ...s.metadata!.labels, [LABEL_TRACK]: 'canary' },
    },
    spec: { ...s.spec!, selector: canarySelectorLabels(md) },
  };
}

/** The canary Deployment: the stable one's pod spec serving the canary artifact, `plan.replicas` pods. */
export function desiredCanaryDeployment(
  md: ModelDeployment,
  plan: CanaryPlan,
  opts: ServerOptions,
): V1Deployment {
  const d = desiredDeployment(md, plan.uri, opts);
  const labels = { ...d.spec!.template.metadata!.labels, ...canarySelectorLabels(md) };
  d.metadata = {
    ...d.metadata!,
    name: canaryName(md),
    labels: { ...d.metadata!.labels, [LABEL_TRACK]: 'canary' },
  };
  d.spec!.selector = { matchLabels: canarySelectorLabels(md) };
  d.spec!.replicas = plan.replicas;
  d.spec!.template.metadata!.labels = labels;
  setEnv(d, { [serverEnvName('track')]: 'canary' });
  return d;
}

/**
 * Every child of a ModelDeployment with spec.canary: the usual ones (the Deployment reading its
 * split), then the traffic ConfigMap and the canary's Service and Deployment.
 */
export function withCanaryChildren(
  md: ModelDeployment,
  children: KubernetesObject[],
  plan: CanaryPlan,
  opts: ServerOptions,
): KubernetesObject[] {
  return [
    ...children.map((c) => (c.kind === 'Deployment' ? withTrafficSplit(c as V1Deployment, md) : c)),
    desiredTrafficConfigMap(md, plan),
    desiredCanaryService(md),
    desiredCanaryDeployment(md, plan, opts),
  ];
}
