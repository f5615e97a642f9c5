// The ModelDeployment reconcile: resolve the artifact to serve (as given, or what the referenced
// TrainingJob produced), apply the desired children, compute the status once and patch it only
// when it changed. It follows the contract on the runtime's Reconciler type
// (operator/runtime/controller.ts).
import type {
  KubeConfig,
  KubernetesObject,
  V1Deployment,
  V1Pod,
  V1Service,
  V1ServiceAccount,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import {
  MODELDEPLOYMENT_PLURAL,
  type ModelDeployment,
  ModelDeploymentReason,
  RefusalReason,
  type TrainingJob,
} from '../../../api/index.ts';
import {
  applyChildren,
  type ChildApply,
  type EventRecorder,
  type Lister,
  type Logger,
  type ObjectKey,
  type ReconcileResult,
  type RuntimeMetrics,
  splitKey,
} from '../../runtime/index.ts';
import type { Refusal } from '../conditions.ts';
import { applyChild } from '../invalid-spec.ts';
import { findConflict, ownershipOf, recheckAfter } from '../ownership.ts';
import { checkPodPolicy, type PodPolicy } from '../policy.ts';
import { publishStatus } from '../publish.ts';
import { deploymentName, desiredChildren, LABEL_MODELDEPLOYMENT, type ServerOptions } from './desired.ts';
import { computeStatus, resolveArtifact, statusChanged } from './status.ts';

/** What a ModelDeployment reconcile reads (caches) and writes with (API client, events). */
export interface ModelDeploymentDeps {
  kubeConfig: KubeConfig;
  server: ServerOptions;
  policy: PodPolicy;
  events?: EventRecorder;
  metrics?: RuntimeMetrics;
  modelDeployments: Lister<ModelDeployment>;
  trainingJobs: Lister<TrainingJob>;
  deployments: Lister<V1Deployment>;
  services: Lister<V1Service>;
  hpas: Lister<V2HorizontalPodAutoscaler>;
  serviceAccounts: Lister<V1ServiceAccount>;
  pods: Lister<V1Pod>;
}

/**
 * The children to apply, in two stages: the account and the Service together, then the
 * Deployment whose pods run as that account and the HPA that scales it. Each is paired with its
 * cached copy, so unchanged ones are skipped.
 */
function childStages(deps: ModelDeploymentDeps, children: KubernetesObject[]): ChildApply[][] {
  const stages: ChildApply[][] = [[], []];
  for (const desired of children) {
    const later = desired.kind === 'Deployment' || desired.kind === 'HorizontalPodAutoscaler';
    stages[later ? 1 : 0]!.push({ desired, live: cachedChild(deps, desired) });
  }
  return stages;
}

/** Ready reasons that need someone's attention are recorded as Warning events. */
const WARNING_REASONS = new Set<string>([
  ModelDeploymentReason.TrainingJobFailed,
  ModelDeploymentReason.ProgressDeadlineExceeded,
  ModelDeploymentReason.Unschedulable,
  ModelDeploymentReason.ImagePullFailed,
  ModelDeploymentReason.ServerCrashLooping,
  ModelDeploymentReason.ReconcileError,
  ...Object.values(RefusalReason),
]);

export async function reconcileModelDeployment(
  deps: ModelDeploymentDeps,
  key: ObjectKey,
  log: Logger,
): Promise<ReconcileResult> {
  const { namespace, name } = splitKey(key);
  const md = deps.modelDeployments.get(namespace, name);
  if (!md || md.metadata.deletionTimestamp) return; // owner references let the garbage collector clean up

  const ref = md.spec.model.trainingJobRef;
  const resolution = resolveArtifact(md, ref ? deps.trainingJobs.get(namespace, ref.name) : undefined);

  let error: Error | undefined;
  // A spec outside the operator's policy is refused even before there is an artifact to serve.
  let refusal: Refusal | undefined = checkPodPolicy(md.spec, deps.policy, md.kind);
  const cachedDeployment = deps.deployments.get(namespace, deploymentName(md));
  // A Deployment in the cache that is not this ModelDeployment's is neither described nor touched.
  let deployment = ownershipOf(cachedDeployment, md.metadata.uid!) === 'ours' ? cachedDeployment : undefined;
  // Until there is an artifact nothing is deployed; a Deployment already serving an earlier
  // artifact (the TrainingJob was replaced) keeps serving it rather than being torn down.
  if (resolution.state === 'resolved' && !refusal) {
    try {
      const children = desiredChildren(md, resolution.uri, deps.server);
      refusal = await findConflict(deps.kubeConfig, md, children, (c) => cachedChild(deps, c));
      if (refusal) log.info('not applying children', { reason: refusal.reason, message: refusal.message });
      else {
        const stored = await applyChildren(
          deps.kubeConfig,
          childStages(deps, children),
          deps.metrics,
          applyChild,
        );
        // A stored Deployment is newer than the cache: its generation says whether the
        // Deployment controller has seen this spec yet, so Ready cannot describe an older one.
        deployment = (stored.find((c) => c.kind === 'Deployment') as V1Deployment | undefined) ?? deployment;
      }
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
      log.error('applying children failed', { error: error.message });
    }
  }

  const serverPods = deps.pods
    .list(namespace)
    .filter((p) => p.metadata?.labels?.[LABEL_MODELDEPLOYMENT] === name);
  const status = computeStatus(md, {
    resolution,
    deployment,
    pods: serverPods,
    error,
    refusal,
    now: new Date(),
  });
  if (statusChanged(md.status, status)) {
    await publishStatus(md, status, {
      kubeConfig: deps.kubeConfig,
      plural: MODELDEPLOYMENT_PLURAL,
      events: deps.events,
      warningReasons: WARNING_REASONS,
      log,
    });
  }
  // Returning the error retries with per-key backoff (a TerminalError is not retried); the status
  // above already tells the user.
  if (error) throw error;
  return recheckAfter(refusal);
}

/** A child as the informers show it (they hold only objects labelled as k2k's). */
function cachedChild(deps: ModelDeploymentDeps, child: KubernetesObject): KubernetesObject | undefined {
  const { namespace, name } = child.metadata!;
  const lister = {
    Deployment: deps.deployments,
    Service: deps.services,
    HorizontalPodAutoscaler: deps.hpas,
    ServiceAccount: deps.serviceAccounts,
  }[child.kind as string] as Lister<KubernetesObject> | undefined;
  return lister?.get(namespace, name!);
}
