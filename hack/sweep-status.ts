// What hack/sweep-watch.ts prints for one look at a HyperparameterSweep: the sweep's Ready
// condition, the best trial so far, and one line per trial with its state, searched values and
// the epochs it reported (a trial stopped early shows where it stopped).
import type { HyperparameterSweep, TrainingJob } from '../api/index.ts';
import { trialState } from '../operator/controllers/sweep/trials.ts';
import { progressBar } from './demo-status.ts';

const round = (v: number) => Number(v.toPrecision(4));

function trialLine(tj: TrainingJob, metric: string, best: string | undefined): string {
  const name = tj.metadata.name ?? '?';
  const parameters = Object.entries(
    JSON.parse(tj.metadata.annotations?.['k2k.dev/trial-parameters'] ?? '{}') as Record<string, unknown>,
  )
    .map(([k, v]) => `${k}=${typeof v === 'number' ? round(v) : v}`)
    .join(' ');
  const progress = tj.status?.progress;
  const value = progress?.metrics[metric];
  const epochs = progress
    ? ` ${progressBar(progress.epoch, progress.epochs, 10)}${value === undefined ? '' : ` ${metric}=${value.toFixed(4)}`}`
    : '';
  const mark = name === best ? '  <- best' : '';
  return `        ${name.padEnd(14)} ${trialState(tj).padEnd(12)} ${parameters}${epochs}${mark}`;
}

export function sweepFrame(sweep: HyperparameterSweep, trials: readonly TrainingJob[]): string {
  const ready = sweep.status?.conditions?.find((c) => c.type === 'Ready');
  if (!ready) return 'waiting for the operator to report status';
  const { metric } = sweep.spec.objective;
  const best = sweep.status?.bestTrial;
  const bestText = best ? `; best ${metric} ${round(best.objective!)} (${best.name})` : '';
  const index = (tj: TrainingJob) => Number(tj.metadata.annotations?.['k2k.dev/trial-index'] ?? 0);
  const lines = [...trials].sort((a, b) => index(a) - index(b)).map((t) => trialLine(t, metric, best?.name));
  return [`${ready.reason}: ${ready.message}${bestText}`, ...lines].join('\n');
}
