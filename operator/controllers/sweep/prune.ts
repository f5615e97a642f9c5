// Which running trials the sweep's early-stopping rule stops in this pass, from the trials' live
// status.progress alone (no sidecar): a pure function of the sweep and its trials, so a restarted
// operator decides the same.
import type { HyperparameterSweep } from '../../../api/index.ts';
import { PRUNERS, type PruneDecision } from './pruners/index.ts';
import { forAlgorithm, type TrialView } from './trials.ts';

export interface TrialStop {
  trial: TrialView;
  decision: Extract<PruneDecision, { stop: true }>;
}

/**
 * The running trials `spec.earlyStopping` rejects now. A trial already asked to stop is not asked
 * again; every other trial, finished or not, is a peer it is compared with.
 */
export function trialsToStop(sweep: HyperparameterSweep, trials: readonly TrialView[]): TrialStop[] {
  const rule = sweep.spec.earlyStopping;
  if (!rule) return [];
  const pruner = PRUNERS[rule.rule];
  const settings = { goal: sweep.spec.objective.goal, minEpochs: rule.minEpochs, minTrials: rule.minTrials };
  const peers = forAlgorithm(trials);
  return trials.flatMap((trial, i): TrialStop[] => {
    if (trial.state !== 'Running' || trial.trainingJob.spec.stop) return [];
    const decision = pruner.shouldStop(settings, peers[i]!, peers);
    return decision.stop ? [{ trial, decision }] : [];
  });
}
