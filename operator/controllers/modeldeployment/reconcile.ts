// The ModelDeployment reconcile: resolve the artifact to serve (as given, or what the referenced
// TrainingJob produced), apply the desired children, compute the status once and patch it only
// when it changed. It follows the contract on the runtime's Reconciler type
// (operator/runtime/controller.ts).
import type {
  KubernetesObject,
  V1ConfigMap,
  V1Deployment,
  V1Pod,
  V1Service,
  V1ServiceAccount,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import {
  DriftingReason,
  type HyperparameterSweep,
  MODELDEPLOYMENT_PLURAL,
  type ModelDeployment,
  ModelDeploymentConditionType,
  ModelDeploymentReason,
  MonitoringReason,
  RefusalReason,
  type TrainingJob,
} from '../../../api/index.ts';
import type { DriftCache } from '../../monitoring/drift.ts';
import { modelScope } from '../../monitoring/rules.ts';
import type { KubeConfig } from '../../runtime/index.ts';
import {
  applyChildren,
  type ChildApply,
  type EventRecorder,
  getObject,
  type KindDiscovery,
  type Lister,
  type Logger,
  type ObjectKey,
  type ReconcileResult,
  type RuntimeMetrics,
  splitKey,
} from '../../runtime/index.ts';
import type { ConditionInput, Refusal } from '../conditions.ts';
import { classifyApplyError } from '../invalid-spec.ts';
import {
  type CachedChild,
  cachedConflict,
  conflictOf,
  ownedBy,
  ownershipOf,
  recheckAfter,
} from '../ownership.ts';
import { checkPodPolicy, type PodPolicy } from '../policy.ts';
import { publishStatus } from '../publish.ts';
import type { CanaryMetrics } from './canary-analysis.ts';
import { canaryPass } from './canary-pass.ts';
import {
  deploymentName,
  desiredChildren,
  LABEL_MODELDEPLOYMENT,
  type ServerOptions,
  serviceName,
} from './desired.ts';
import { canaryName, desiredCanaryDeployment, LABEL_TRACK, withCanaryChildren } from './desired-canary.ts';
import type { DriftObservation } from './drifting.ts';
import { MONITORING_KINDS, monitoringPlan } from './monitoring.ts';
import type { RetrainDecision } from './retrain.ts';
import { retrainPass } from './retrain-pass.ts';
import { computeStatus, resolveArtifact, servedURI, statusChanged } from './status.ts';

/** What a ModelDeployment reconcile reads (caches) and writes with (API client, events). */
export interface ModelDeploymentDeps {
  kubeConfig: KubeConfig;
  server: ServerOptions;
  policy: PodPolicy;
  events?: EventRecorder;
  metrics?: RuntimeMetrics;
  modelDeployments: Lister<ModelDeployment>;
  trainingJobs: Lister<TrainingJob>;
  sweeps: Lister<HyperparameterSweep>;
  deployments: Lister<V1Deployment>;
  services: Lister<V1Service>;
  hpas: Lister<V2HorizontalPodAutoscaler>;
  serviceAccounts: Lister<V1ServiceAccount>;
  pods: Lister<V1Pod>;
  /** The traffic ConfigMaps of canary rollouts (desired-canary.ts). */
  configMaps: Lister<V1ConfigMap>;
  /** How long a promoted canary keeps its pods after its weight went to 0 (canary-pass.ts's default). */
  canaryDrainSeconds?: number;
  /** A canary's numbers from Prometheus; undefined without --prometheus-url (analyses hold). */
  canaryMetrics?: CanaryMetrics;
  /** Whether the API server serves ServiceMonitor and PrometheusRule (undefined: never asked, as if not). */
  monitoringAPI?: Pick<KindDiscovery, 'current'>;
  /** Prometheus's last drift answer per ModelDeployment; undefined without --prometheus-url. */
  drift?: DriftCache;
}

/**
 * The children to apply, in three stages: the account the pods run as and the Service; then the
 * HPA, the canary's traffic ConfigMap and the monitoring objects; then the Deployments, last so
 * that no model server starts while a name the others need turns out to be someone else's (a
 * stage stops at a foreign object). An HPA made before its Deployment is harmless: the HPA
 * controller first looks at a new HPA a resync period (15 s) after it appears. Each child is
 * paired with its cached copy, so unchanged ones are skipped.
 */
function childStages(children: KubernetesObject[], live: CachedChild): ChildApply[][] {
  const stages: ChildApply[][] = [[], [], []];
  const stageOf = (kind?: string) =>
    kind === 'ServiceAccount' || kind === 'Service' ? 0 : kind === 'Deployment' ? 2 : 1;
  for (const desired of children) stages[stageOf(desired.kind)]!.push({ desired, live: live(desired) });
  return stages;
}

/** Ready reasons that need someone's attention are recorded as Warning events. */
const WARNING_REASONS = new Set<string>([
  ModelDeploymentReason.TrainingJobFailed,
  ModelDeploymentReason.SweepFailed,
  ModelDeploymentReason.ProgressDeadlineExceeded,
  ModelDeploymentReason.Unschedulable,
  ModelDeploymentReason.ImagePullFailed,
  ModelDeploymentReason.ServerCrashLooping,
  ModelDeploymentReason.ReconcileError,
  ...Object.values(RefusalReason),
  MonitoringReason.PrometheusOperatorMissing,
  DriftingReason.FeatureDrift,
]);

/** Besides Ready, these conditions' reason changes are recorded as events. */
const EVENT_CONDITIONS = [ModelDeploymentConditionType.Monitoring, ModelDeploymentConditionType.Drifting];

export async function reconcileModelDeployment(
  deps: ModelDeploymentDeps,
  key: ObjectKey,
  log: Logger,
): Promise<ReconcileResult> {
  const { namespace, name } = splitKey(key);
  const md = deps.modelDeployments.get(namespace, name);
  if (!md || md.metadata.deletionTimestamp) {
    deps.drift?.forget(key);
    return; // owner references let the garbage collector clean up
  }

  const { trainingJobRef, sweepRef } = md.spec.model;
  const sweep = sweepRef ? deps.sweeps.get(namespace, sweepRef.name) : undefined;
  // A sweep is served through its best trial's TrainingJob (status.bestTrial names it).
  const served = trainingJobRef?.name ?? sweep?.status?.bestTrial?.name;
  const resolution = resolveArtifact(
    md,
    served ? deps.trainingJobs.get(namespace, served) : undefined,
    sweep,
  );

  let error: Error | undefined;
  // A spec outside the operator's policy is refused even before there is an artifact to serve.
  let refusal: Refusal | undefined = checkPodPolicy(md.spec, deps.policy, md.kind);
  const cachedDeployment = deps.deployments.get(namespace, deploymentName(md));
  // A Deployment in the cache that is not this ModelDeployment's is neither described nor touched.
  let deployment = ownershipOf(cachedDeployment, md.metadata.uid!) === 'ours' ? cachedDeployment : undefined;
  const now = new Date();
  let retrain: RetrainDecision | undefined;
  if (!refusal) {
    const pass = await retrainPass(deps.kubeConfig, md, resolution, deps.trainingJobs, now, log);
    retrain = pass.decision;
    refusal = pass.refusal;
    error = pass.error;
    if (error) log.error('starting a retrain failed', { error: error.message });
  }
  const canaryDeployment = ours(deps.deployments.get(namespace, canaryName(md)), md);
  const pods = deps.pods.list(namespace).filter((p) => p.metadata?.labels?.[LABEL_MODELDEPLOYMENT] === name);
  const isCanary = (p: V1Pod) => p.metadata?.labels?.[LABEL_TRACK] === 'canary';
  // A retrained artifact rolls out as the canary in place of spec.model's (retrain.ts).
  const rollout = retrain?.artifact ? { state: 'resolved' as const, ...retrain.artifact } : resolution;
  const canary = await canaryPass(
    md,
    rollout,
    { stable: deployment, canary: canaryDeployment, canaryPods: pods.filter(isCanary) },
    deps.canaryMetrics,
    now,
    deps.canaryDrainSeconds,
  );
  const plan = monitoringPlan(md, (await deps.monitoringAPI?.current()) ?? { state: 'missing' });
  let monitoring: ConditionInput = {
    ...plan.condition,
    ...(plan.children.length > 0
      ? {
          status: 'False',
          reason: MonitoringReason.WaitingForServer,
          message: 'the ServiceMonitor and PrometheusRule are applied with the model server (see Ready)',
        }
      : {}),
  };
  // Until there is an artifact nothing is deployed; a Deployment already serving an earlier
  // artifact (the TrainingJob was replaced) keeps serving it rather than being torn down.
  if (resolution.state === 'resolved' && !refusal) {
    try {
      const served = canary
        ? withCanaryChildren(
            md,
            desiredChildren(md, canary.decision.stableArtifact.uri, deps.server),
            canary.plan,
            deps.server,
          )
        : [
            ...desiredChildren(md, resolution.uri, deps.server),
            // spec.canary removed: a canary left running is scaled to 0 (deleted with the ModelDeployment).
            ...(canaryDeployment?.spec?.replicas
              ? [
                  desiredCanaryDeployment(
                    md,
                    { uri: servedURI(canaryDeployment)!, weight: 0, replicas: 0 },
                    deps.server,
                  ),
                ]
              : []),
          ];
      const children = [...served, ...plan.children];
      const live = await liveChildren(deps, plan.children);
      refusal = cachedConflict(md, children, live);
      if (refusal) log.info('not applying children', { reason: refusal.reason, message: refusal.message });
      else {
        const stored = await applyChildren(deps.kubeConfig, childStages(children, live), {
          metrics: deps.metrics,
          owns: ownedBy(md),
          classifyError: classifyApplyError,
        });
        monitoring = plan.condition;
        // A stored Deployment is newer than the cache: its generation says whether the
        // Deployment controller has seen this spec yet, so Ready cannot describe an older one.
        deployment = (stored.find((c) => c.kind === 'Deployment') as V1Deployment | undefined) ?? deployment;
      }
    } catch (err) {
      refusal = conflictOf(err, md);
      if (refusal) log.info('not applying children', { reason: refusal.reason, message: refusal.message });
      else {
        error = err instanceof Error ? err : new Error(String(err));
        log.error('applying children failed', { error: error.message });
      }
    }
  }

  const serverPods = pods.filter((p) => !isCanary(p));
  const drift: DriftObservation = deps.drift
    ? await deps.drift.get(key, modelScope(namespace, serviceName(md)))
    : { state: 'not-configured' };
  const status = computeStatus(md, {
    resolution,
    deployment,
    pods: serverPods,
    error,
    refusal,
    monitoring,
    drift,
    ...(canary ? { canary: { status: canary.decision.status, stable: canary.decision.stableArtifact } } : {}),
    // A pass that did not get to retraining (a refused spec) keeps the loop's state as it was.
    ...(md.spec.retraining ? { retraining: retrain?.status ?? md.status?.retraining } : {}),
    now,
  });
  if (statusChanged(md.status, status)) {
    await publishStatus(md, status, {
      kubeConfig: deps.kubeConfig,
      plural: MODELDEPLOYMENT_PLURAL,
      events: deps.events,
      warningReasons: WARNING_REASONS,
      eventConditions: EVENT_CONDITIONS,
      log,
    });
  }
  // The retrain's and the canary's transitions are in the status just published, also in a pass
  // whose child applies failed: their events go with them, or the next pass (which no longer sees
  // a transition) would never record them.
  for (const event of [retrain?.event, canary?.decision.event]) {
    if (event) await deps.events?.record(md, event.type, event.reason, event.message);
  }
  // Returning the error retries with per-key backoff (a TerminalError is not retried); the status
  // above already tells the user.
  if (error) throw error;
  // Drift changes with traffic, which no informer sees: ask again once the answer is due.
  // A canary step is judged when its interval is over, also without any event.
  // Drift that has held long enough and a cooldown that ended are noticed the same way.
  const recheck = [
    recheckAfter(refusal)?.requeueAfterMs,
    deps.drift?.maxAgeMs,
    canary?.dueInMs,
    retrain?.dueInMs,
  ].filter((ms): ms is number => ms !== undefined);
  return recheck.length ? { requeueAfterMs: Math.min(...recheck) } : undefined;
}

/**
 * Children as the caches show them, and the monitoring objects (no informer caches them: their
 * kinds may not exist when the operator starts, and an informer of a missing kind fails
 * readiness) as read now, so unchanged ones are not applied again.
 */
async function liveChildren(deps: ModelDeploymentDeps, monitoring: KubernetesObject[]): Promise<CachedChild> {
  const read = new Map<string, KubernetesObject | undefined>();
  await Promise.all(
    monitoring.map(async (child) => {
      const plural = MONITORING_KINDS.find((k) => k.kind === child.kind)?.plural;
      read.set(child.kind!, await getObject(deps.kubeConfig, child, { plural }));
    }),
  );
  return (child) => cachedChild(deps, child) ?? read.get(child.kind!);
}

/** The cached object if this ModelDeployment owns it (a foreign one is neither read nor touched). */
function ours<T extends KubernetesObject>(obj: T | undefined, md: ModelDeployment): T | undefined {
  return ownershipOf(obj, md.metadata.uid!) === 'ours' ? obj : undefined;
}

/** A child as the informers show it (they hold only objects labelled as k2k's). */
function cachedChild(deps: ModelDeploymentDeps, child: KubernetesObject): KubernetesObject | undefined {
  const { namespace, name } = child.metadata!;
  const lister = {
    Deployment: deps.deployments,
    Service: deps.services,
    HorizontalPodAutoscaler: deps.hpas,
    ServiceAccount: deps.serviceAccounts,
    ConfigMap: deps.configMaps,
  }[child.kind as string] as Lister<KubernetesObject> | undefined;
  return lister?.get(namespace, name!);
}
