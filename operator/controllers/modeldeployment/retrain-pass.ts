// One reconcile's part of retraining on drift: read the retrains this ModelDeployment owns from the
// cache, let the pure state machine (retrain.ts) decide, and create the TrainingJob it says to
// start. The TrainingJob is applied before the status that counts it is written: a crash between
// the two leaves a TrainingJob that the next pass adopts by its index, never a second one.

import { type ModelDeployment, ModelDeploymentConditionType, type TrainingJob } from '../../../api/index.ts';
import type { KubeConfig, Lister, Logger } from '../../runtime/index.ts';
import { findCondition, type Refusal } from '../conditions.ts';
import { applyChild } from '../invalid-spec.ts';
import { conflict, ownershipOf } from '../ownership.ts';
import { desiredRetrain, ownedRetrains } from './desired-retrain.ts';
import { nextRetrainState, type RetrainDecision, retrainedArtifact } from './retrain.ts';
import type { Resolution } from './status.ts';

/**
 * This pass's retraining decision. When the TrainingJob to start cannot be created (a foreign one
 * has its name, or the apply failed), nothing is counted: the status stays as it was, and so does
 * the artifact the canary rolls out (a promoted retrained model must not give way to spec.model's).
 */
export async function retrainPass(
  kubeConfig: KubeConfig,
  md: ModelDeployment,
  resolution: Resolution,
  trainingJobs: Lister<TrainingJob>,
  now: Date,
  log: Logger,
): Promise<{ decision?: RetrainDecision; refusal?: Refusal; error?: Error }> {
  const spec = md.spec.retraining;
  // Without spec.canary (admission refuses that) a retrained artifact would replace the model in one step.
  if (!spec || !md.spec.canary) return {};
  const previous = md.status?.retraining;
  const specModel = resolution.state === 'resolved' ? resolution.uri : undefined;
  const decision = nextRetrainState(
    previous,
    spec,
    {
      name: md.metadata.name!,
      drifting: findCondition(md.status?.conditions, ModelDeploymentConditionType.Drifting),
      canary: md.status?.canary,
      specModel,
      retrains: ownedRetrains(md, trainingJobs.list(md.metadata.namespace)),
    },
    now,
  );
  if (!decision.start) return { decision };
  const unchanged = (): RetrainDecision => {
    const artifact = retrainedArtifact(previous, specModel);
    return { status: previous ?? { count: 0, message: '' }, ...(artifact ? { artifact } : {}) };
  };
  // A TrainingJob of that name that is not ours is never taken over: the loop stops until it is gone.
  const taken = trainingJobs.get(md.metadata.namespace, decision.start.name);
  if (taken && ownershipOf(taken, md.metadata.uid!) === 'foreign')
    return { decision: unchanged(), refusal: conflict(taken, md) };
  try {
    await applyChild(kubeConfig, desiredRetrain(md, decision.start));
  } catch (err) {
    return { decision: unchanged(), error: err instanceof Error ? err : new Error(String(err)) };
  }
  log.info('retrain started', { trainingJob: decision.start.name, index: decision.start.index });
  return { decision };
}
