// The ModelDeployment reconciler: resolve the artifact to serve (as given, or what the referenced
// TrainingJob produced), apply the desired children, compute the status once and patch it only
// when it changed. It never looks at which event woke it up.
import type {
  KubeConfig,
  V1Deployment,
  V1Pod,
  V1Service,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import {
  API_VERSION,
  MODELDEPLOYMENT_KIND,
  MODELDEPLOYMENT_PLURAL,
  type ModelDeployment,
  ModelDeploymentReason,
  TRAININGJOB_KIND,
  TRAININGJOB_PLURAL,
  type TrainingJob,
} from '../../../api/index.ts';
import {
  apply,
  Controller,
  type EventRecorder,
  type Logger,
  type Manager,
  type ObjectKey,
  type ReconcileResult,
  splitKey,
} from '../../runtime/index.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../labels.ts';
import { publishStatus } from '../publish.ts';
import { deploymentName, desiredChildren, LABEL_MODELDEPLOYMENT, type ServerOptions } from './desired.ts';
import { computeStatus, resolveArtifact, statusChanged } from './status.ts';

export interface ModelDeploymentControllerOptions {
  kubeConfig: KubeConfig;
  server: ServerOptions;
  /** Watch one namespace only; all namespaces if unset. */
  namespace?: string;
  workers?: number;
  events?: EventRecorder;
}

/** Ready reasons that need someone's attention are recorded as Warning events. */
const WARNING_REASONS = new Set<string>([
  ModelDeploymentReason.TrainingJobFailed,
  ModelDeploymentReason.ProgressDeadlineExceeded,
  ModelDeploymentReason.Unschedulable,
  ModelDeploymentReason.ImagePullFailed,
  ModelDeploymentReason.ServerCrashLooping,
  ModelDeploymentReason.ReconcileError,
]);

export function setupModelDeploymentController(
  manager: Manager,
  opts: ModelDeploymentControllerOptions,
): Controller {
  const ns = opts.namespace ? { namespace: opts.namespace } : {};
  const owned = `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_MODELDEPLOYMENT}`;
  const modelDeployments = manager.informer<ModelDeployment>({
    apiVersion: API_VERSION,
    kind: MODELDEPLOYMENT_KIND,
    plural: MODELDEPLOYMENT_PLURAL,
    ...ns,
  });
  // The same ref as the TrainingJob controller's, so the manager shares one cache between them.
  const trainingJobs = manager.informer<TrainingJob>({
    apiVersion: API_VERSION,
    kind: TRAININGJOB_KIND,
    plural: TRAININGJOB_PLURAL,
    ...ns,
  });
  const deployments = manager.informer<V1Deployment>({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    plural: 'deployments',
    labelSelector: owned,
    ...ns,
  });
  const services = manager.informer<V1Service>({
    apiVersion: 'v1',
    kind: 'Service',
    plural: 'services',
    labelSelector: owned,
    ...ns,
  });
  const hpas = manager.informer<V2HorizontalPodAutoscaler>({
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    plural: 'horizontalpodautoscalers',
    labelSelector: owned,
    ...ns,
  });
  const pods = manager.informer<V1Pod>({
    apiVersion: 'v1',
    kind: 'Pod',
    plural: 'pods',
    labelSelector: LABEL_MODELDEPLOYMENT,
    ...ns,
  });

  const reconcile = async (key: ObjectKey, log: Logger): Promise<ReconcileResult> => {
    const { namespace, name } = splitKey(key);
    const md = modelDeployments.get(namespace, name);
    if (!md || md.metadata.deletionTimestamp) return; // owner references let the garbage collector clean up

    const ref = md.spec.model.trainingJobRef;
    const resolution = resolveArtifact(md, ref ? trainingJobs.get(namespace, ref.name) : undefined);

    let error: Error | undefined;
    let deployment = deployments.get(namespace, deploymentName(md));
    // Until there is an artifact nothing is deployed; a Deployment already serving an earlier
    // artifact (the TrainingJob was replaced) keeps serving it rather than being torn down.
    if (resolution.state === 'resolved') {
      try {
        for (const child of desiredChildren(md, resolution.uri, opts.server)) {
          const stored = await apply(opts.kubeConfig, child);
          // The stored Deployment is newer than the cache: its generation says whether the
          // Deployment controller has seen this spec yet, so Ready cannot describe an older one.
          if (stored.kind === 'Deployment') deployment = stored as V1Deployment;
        }
      } catch (err) {
        error = err instanceof Error ? err : new Error(String(err));
        log.error('applying children failed', { error: error.message });
      }
    }

    const serverPods = pods
      .list(namespace)
      .filter((p) => p.metadata?.labels?.[LABEL_MODELDEPLOYMENT] === name);
    const status = computeStatus(md, { resolution, deployment, pods: serverPods, error, now: new Date() });
    if (statusChanged(md.status, status)) {
      await publishStatus(md, status, {
        kubeConfig: opts.kubeConfig,
        plural: MODELDEPLOYMENT_PLURAL,
        events: opts.events,
        warningReasons: WARNING_REASONS,
        log,
      });
    }
    // Returning the error retries with per-key backoff; the status above already tells the user.
    if (error) throw error;
  };

  const owner = { apiVersion: API_VERSION, kind: MODELDEPLOYMENT_KIND };
  const controller = new Controller({ name: 'modeldeployment', reconcile, workers: opts.workers })
    .watches(modelDeployments)
    .owns(deployments, owner)
    .owns(services, owner)
    .owns(hpas, owner)
    .watchesMapped(pods, (pod) => {
      const md = pod.metadata?.labels?.[LABEL_MODELDEPLOYMENT];
      return md && pod.metadata?.namespace ? [`${pod.metadata.namespace}/${md}`] : [];
    })
    // A TrainingJob concerns the ModelDeployments of its namespace that reference it by name.
    .watchesMapped(trainingJobs, (tj) =>
      modelDeployments
        .list(tj.metadata.namespace)
        .filter((md) => md.spec.model.trainingJobRef?.name === tj.metadata.name)
        .map((md) => `${md.metadata.namespace}/${md.metadata.name}`),
    );
  manager.add(controller);
  return controller;
}
