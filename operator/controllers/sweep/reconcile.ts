// The HyperparameterSweep reconcile: read the sweep and its trials from the caches, make the
// unfinished trials follow the sweep's suspend, stop the running trials its early-stopping rule
// rejects, start the trials the algorithm suggests for the free slots, compute the status once and
// patch it only when it changed.

import {
  type HyperparameterSweep,
  RefusalReason,
  SWEEP_PLURAL,
  SweepReason,
  TRAININGJOB_PLURAL,
  type TrainingJob,
} from '../../../api/index.ts';
import type { KubeConfig } from '../../runtime/index.ts';
import {
  createOrRead,
  type EventRecorder,
  ForeignObjectError,
  type Lister,
  type Logger,
  type ObjectKey,
  type ReconcileResult,
  splitKey,
} from '../../runtime/index.ts';
import type { Refusal } from '../conditions.ts';
import { applyChild, classifyApplyError, invalidSpecRefusal } from '../invalid-spec.ts';
import { conflict, ownedBy, recheckAfter } from '../ownership.ts';
import { publishStatus } from '../publish.ts';
import { desiredExistingTrial, desiredStoppedTrial, desiredTrial } from './desired.ts';
import { planTrials, type SearchEnd } from './plan.ts';
import { trialsToStop } from './prune.ts';
import { computeSweepStatus, invalidSearchSpace, sweepOutcome, sweepStatusChanged } from './status.ts';
import { forAlgorithm, isFinishedState, sweepTrials, type TrialView } from './trials.ts';

export interface SweepDeps {
  kubeConfig: KubeConfig;
  events?: EventRecorder;
  sweeps: Lister<HyperparameterSweep>;
  /** TrainingJobs labelled as trials. */
  trials: Lister<TrainingJob>;
}

const WARNING_REASONS = new Set<string>([
  SweepReason.TooManyFailedTrials,
  SweepReason.NoTrialSucceeded,
  SweepReason.InvalidSearchSpace,
  SweepReason.ReconcileError,
  ...Object.values(RefusalReason),
]);

/**
 * Starts the planned trials. A trial the cache does not show yet may exist (the watch lags behind
 * our own writes): it is created, and when the name is taken, what is there is read and, when it
 * is ours, counted as it is rather than applied again with a suggestion made from a different view.
 */
async function startTrials(
  deps: SweepDeps,
  sweep: HyperparameterSweep,
  trials: TrialView[],
  log: Logger,
): Promise<{ trials: TrialView[]; end?: SearchEnd; refusal?: Refusal }> {
  const plan = planTrials(sweep, forAlgorithm(trials));
  for (const { index, suggestion } of plan.start) {
    const promoted =
      suggestion.kind === 'promote'
        ? trials.find((t) => t.index === suggestion.trial)?.trainingJob
        : undefined;
    const trial = desiredTrial(sweep, index, suggestion, promoted);
    const started = await createOrRead(deps.kubeConfig, trial, ownedBy(sweep), {
      plural: TRAININGJOB_PLURAL,
    }).catch((err: unknown) => {
      if (err instanceof ForeignObjectError) return err;
      throw classifyApplyError(err, trial);
    });
    if (started instanceof ForeignObjectError)
      return { trials, end: plan.end, refusal: conflict(started.existing, sweep) };
    if (started.created) log.info('trial started', { trial: trial.metadata.name, index });
    trials = [...trials, ...sweepTrials(sweep, [started.stored])];
  }
  return { trials, end: plan.end };
}

/** Stops the running trials the early-stopping rule rejects: spec.stop on each (ADR 0020). */
async function stopTrials(deps: SweepDeps, sweep: HyperparameterSweep, trials: TrialView[], log: Logger) {
  for (const { trial, decision } of trialsToStop(sweep, trials)) {
    const name = trial.trainingJob.metadata.name!;
    await applyChild(deps.kubeConfig, desiredStoppedTrial(sweep, trial.trainingJob, decision.reason));
    log.info('trial stopped early', { trial: name, epoch: decision.epoch, reason: decision.reason });
    await deps.events?.record(
      sweep,
      'Normal',
      'TrialEarlyStopped',
      `stopped trial ${name}: ${decision.reason}`,
    );
  }
}

export async function reconcileSweep(deps: SweepDeps, key: ObjectKey, log: Logger): Promise<ReconcileResult> {
  const { namespace, name } = splitKey(key);
  const sweep = deps.sweeps.get(namespace, name);
  if (!sweep || sweep.metadata.deletionTimestamp) return; // owner references let the garbage collector clean up

  let trials = sweepTrials(sweep, deps.trials.list(namespace));
  let outcome = sweepOutcome(sweep, trials);
  let stalled: Refusal | undefined;
  let error: Error | undefined;
  try {
    const suspend = sweep.spec.suspend ?? false;
    for (const t of trials) {
      if (!isFinishedState(t.state) && (t.trainingJob.spec.suspend ?? false) !== suspend)
        await applyChild(deps.kubeConfig, desiredExistingTrial(sweep, t.trainingJob));
    }
    if (!outcome && !suspend) await stopTrials(deps, sweep, trials, log);
    if (!outcome && !suspend) {
      const started = await startTrials(deps, sweep, trials, log);
      trials = started.trials;
      stalled = invalidSearchSpace(started.end) ?? started.refusal;
      outcome = sweepOutcome(sweep, trials, started.end);
    }
  } catch (err) {
    error = err instanceof Error ? err : new Error(String(err));
    log.error('writing trials failed', { error: error.message });
    // The API server refusing a trial built from this spec stalls the sweep until the spec changes.
    stalled ??= invalidSpecRefusal(error);
  }

  const status = computeSweepStatus(sweep, { trials, outcome, stalled, error, now: new Date() });
  if (sweepStatusChanged(sweep.status, status)) {
    await publishStatus(sweep, status, {
      kubeConfig: deps.kubeConfig,
      plural: SWEEP_PLURAL,
      events: deps.events,
      warningReasons: WARNING_REASONS,
      log,
      logFields: { progress: status.progress },
    });
  }
  if (error) throw error;
  return recheckAfter(stalled);
}
