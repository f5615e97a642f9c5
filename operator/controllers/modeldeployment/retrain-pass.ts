// One reconcile's part of retraining on drift: read the retrains this ModelDeployment owns from the
// cache, let the pure state machine (retrain.ts) decide, and create the TrainingJob it says to
// start. The TrainingJob is applied before the status that counts it is written: a crash between
// the two leaves a TrainingJob that the next pass adopts by its index, never a second one.
import type { KubeConfig } from '@kubernetes/client-node';
import { type ModelDeployment, ModelDeploymentConditionType, type TrainingJob } from '../../../api/index.ts';
import type { Lister, Logger } from '../../runtime/index.ts';
import { findCondition, type Refusal } from '../conditions.ts';
import { applyChild } from '../invalid-spec.ts';
import { conflict, ownershipOf } from '../ownership.ts';
import { desiredRetrain, ownedRetrains } from './desired-retrain.ts';
import { nextRetrainState, type RetrainDecision } from './retrain.ts';
import type { Resolution } from './status.ts';

export async function retrainPass(
  kubeConfig: KubeConfig,
  md: ModelDeployment,
  resolution: Resolution,
  trainingJobs: Lister<TrainingJob>,
  now: Date,
  log: Logger,
): Promise<{ decision?: RetrainDecision; refusal?: Refusal }> {
  const spec = md.spec.retraining;
  // Without spec.canary (admission refuses that) a retrained artifact would replace the model in one step.
  if (!spec || !md.spec.canary) return {};
  const decision = nextRetrainState(
    md.status?.retraining,
    spec,
    {
      name: md.metadata.name!,
      drifting: findCondition(md.status?.conditions, ModelDeploymentConditionType.Drifting),
      canary: md.status?.canary,
      specModel: resolution.state === 'resolved' ? resolution.uri : undefined,
      retrains: ownedRetrains(md, trainingJobs.list(md.metadata.namespace)),
    },
    now,
  );
  if (decision.start) {
    // A TrainingJob of that name that is not ours is never taken over: the loop stops until it is gone.
    const taken = trainingJobs.get(md.metadata.namespace, decision.start.name);
    if (taken && ownershipOf(taken, md.metadata.uid!) === 'foreign') return { refusal: conflict(taken, md) };
    await applyChild(kubeConfig, desiredRetrain(md, decision.start));
    log.info('retrain started', { trainingJob: decision.start.name, index: decision.start.index });
  }
  return { decision };
}
