// Wiring of the ModelDeployment controller: the informers it reads and which of their events
// concern which ModelDeployment. The logic is reconcileModelDeployment (reconcile.ts).
import type {
  V1ConfigMap,
  V1Deployment,
  V1Pod,
  V1Service,
  V1ServiceAccount,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import {
  API_VERSION,
  type HyperparameterSweep,
  MODELDEPLOYMENT_KIND,
  MODELDEPLOYMENT_PLURAL,
  MONITORING_API_VERSION,
  type ModelDeployment,
  SWEEP_KIND,
  SWEEP_PLURAL,
  TRAININGJOB_KIND,
  TRAININGJOB_PLURAL,
  type TrainingJob,
} from '../../../api/index.ts';
import { DriftCache, instantQuery, type PrometheusClient, queryDrift } from '../../monitoring/drift.ts';
import type { KubeConfig } from '../../runtime/index.ts';
import {
  Controller,
  type EventRecorder,
  KindDiscovery,
  keyOf,
  type Manager,
  type NamespaceScope,
} from '../../runtime/index.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../labels.ts';
import { ALLOW_ALL, type PodPolicy } from '../policy.ts';
import { prometheusCanaryMetrics } from './canary-analysis.ts';
import { LABEL_MODELDEPLOYMENT, type ServerOptions } from './desired.ts';
import { MONITORING_KINDS } from './monitoring.ts';
import { type ModelDeploymentDeps, reconcileModelDeployment } from './reconcile.ts';

export interface ModelDeploymentControllerOptions {
  kubeConfig: KubeConfig;
  server: ServerOptions;
  /** What spec.image and spec.serviceAccountName may be (default: anything). */
  policy?: PodPolicy;
  /** The namespaces watched (default: all). */
  scope?: NamespaceScope;
  workers?: number;
  events?: EventRecorder;
  /** Where to ask about drift (--prometheus-url); without it Drifting is Unknown. */
  prometheus?: PrometheusClient;
  /** How old a drift answer may get before Prometheus is asked again (default 60 s). */
  driftIntervalMs?: number;
  /** How long a promoted canary keeps its pods after its weight went to 0 (--canary-drain-seconds). */
  canaryDrainSeconds?: number;
  /** How often to ask the API server again whether it serves monitoring.coreos.com/v1 (default 60 s). */
  monitoringDiscoveryIntervalMs?: number;
}

export const DEFAULT_DRIFT_INTERVAL_MS = 60_000;
export const DEFAULT_MONITORING_DISCOVERY_INTERVAL_MS = 60_000;

export function setupModelDeploymentController(
  manager: Manager,
  opts: ModelDeploymentControllerOptions,
): Controller {
  const owned = `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_MODELDEPLOYMENT}`;
  const modelDeployments = manager.scopedInformers<ModelDeployment>(
    {
      apiVersion: API_VERSION,
      kind: MODELDEPLOYMENT_KIND,
      plural: MODELDEPLOYMENT_PLURAL,
    },
    opts.scope,
  );
  // The same ref as the TrainingJob controller's, so the manager shares one cache between them.
  const trainingJobs = manager.scopedInformers<TrainingJob>(
    {
      apiVersion: API_VERSION,
      kind: TRAININGJOB_KIND,
      plural: TRAININGJOB_PLURAL,
    },
    opts.scope,
  );
  // The same ref as the sweep controller's: one shared cache.
  const sweeps = manager.scopedInformers<HyperparameterSweep>(
    { apiVersion: API_VERSION, kind: SWEEP_KIND, plural: SWEEP_PLURAL },
    opts.scope,
  );
  const deployments = manager.scopedInformers<V1Deployment>(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      plural: 'deployments',
      labelSelector: owned,
    },
    opts.scope,
  );
  const services = manager.scopedInformers<V1Service>(
    {
      apiVersion: 'v1',
      kind: 'Service',
      plural: 'services',
      labelSelector: owned,
    },
    opts.scope,
  );
  const hpas = manager.scopedInformers<V2HorizontalPodAutoscaler>(
    {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      plural: 'horizontalpodautoscalers',
      labelSelector: owned,
    },
    opts.scope,
  );
  const serviceAccounts = manager.scopedInformers<V1ServiceAccount>(
    { apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', labelSelector: owned },
    opts.scope,
  );
  const configMaps = manager.scopedInformers<V1ConfigMap>(
    { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', labelSelector: owned },
    opts.scope,
  );
  const pods = manager.scopedInformers<V1Pod>(
    {
      apiVersion: 'v1',
      kind: 'Pod',
      plural: 'pods',
      labelSelector: LABEL_MODELDEPLOYMENT,
    },
    opts.scope,
  );

  const monitoringAPI = new KindDiscovery(
    opts.kubeConfig,
    MONITORING_API_VERSION,
    MONITORING_KINDS.map((k) => k.kind),
    { intervalMs: opts.monitoringDiscoveryIntervalMs ?? DEFAULT_MONITORING_DISCOVERY_INTERVAL_MS },
  );
  const prometheus = opts.prometheus;
  const deps: ModelDeploymentDeps = {
    kubeConfig: opts.kubeConfig,
    server: opts.server,
    policy: opts.policy ?? ALLOW_ALL,
    events: opts.events,
    metrics: manager.metrics,
    modelDeployments,
    trainingJobs,
    sweeps,
    deployments,
    services,
    hpas,
    serviceAccounts,
    pods,
    configMaps,
    monitoringAPI,
    ...(opts.canaryDrainSeconds !== undefined ? { canaryDrainSeconds: opts.canaryDrainSeconds } : {}),
    ...(prometheus
      ? { canaryMetrics: prometheusCanaryMetrics((query, time) => instantQuery(prometheus, query, time)) }
      : {}),
    drift: prometheus
      ? new DriftCache(
          (scope) => queryDrift(prometheus, scope),
          opts.driftIntervalMs ?? DEFAULT_DRIFT_INTERVAL_MS,
        )
      : undefined,
  };

  const referencing = (
    namespace: string | undefined,
    refers: (model: ModelDeployment['spec']['model']) => boolean,
  ) =>
    modelDeployments
      .list(namespace)
      .filter((md) => refers(md.spec.model))
      .map((md) => `${md.metadata.namespace}/${md.metadata.name}`);

  const owner = { apiVersion: API_VERSION, kind: MODELDEPLOYMENT_KIND };
  const controller = new Controller({
    name: 'modeldeployment',
    reconcile: (key, log) => reconcileModelDeployment(deps, key, log),
    workers: opts.workers,
  })
    .watches(modelDeployments)
    .owns(deployments, owner)
    .owns(services, owner)
    .owns(hpas, owner)
    .owns(serviceAccounts, owner)
    .owns(configMaps, owner)
    .watchesMapped(pods, (pod) => {
      const md = pod.metadata?.labels?.[LABEL_MODELDEPLOYMENT];
      return md && pod.metadata?.namespace ? [`${pod.metadata.namespace}/${md}`] : [];
    })
    // A TrainingJob concerns the ModelDeployments of its namespace that reference it by name, or
    // the sweep whose trial it is (its best trial's artifact may just have been recorded), and the
    // ModelDeployment whose retrain it is.
    .watchesMapped(trainingJobs, (tj) => {
      const controllerRef = tj.metadata.ownerReferences?.find((r) => r.controller);
      const sweep = controllerRef?.kind === SWEEP_KIND ? controllerRef.name : undefined;
      const retrainOf =
        controllerRef?.kind === MODELDEPLOYMENT_KIND
          ? [`${tj.metadata.namespace}/${controllerRef.name}`]
          : [];
      return [
        ...retrainOf,
        ...referencing(tj.metadata.namespace, (model) =>
          model.trainingJobRef
            ? model.trainingJobRef.name === tj.metadata.name
            : sweep !== undefined && model.sweepRef?.name === sweep,
        ),
      ];
    })
    // A sweep concerns the ModelDeployments that serve its best trial.
    .watchesMapped(sweeps, (sweep) =>
      referencing(sweep.metadata.namespace, (model) => model.sweepRef?.name === sweep.metadata.name),
    );
  // CRDs installed (or removed) later concern every ModelDeployment.
  monitoringAPI.start(() => {
    for (const md of modelDeployments.list()) controller.enqueue(keyOf(md));
  });
  manager.add(controller);
  return controller;
}
