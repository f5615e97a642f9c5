// What hack/demo-watch.ts prints for one look at a TrainingJob: the Ready condition's message and,
// while it trains, a progress bar with the last epoch's metrics.
//
// Two writers feed those lines. The trainer writes status.progress after each epoch; the operator,
// woken by that write, repeats the epoch in its Ready message (", epoch 2/5") a moment later. A
// look between the two writes saw the new bar beside the old message, one epoch behind, and the
// next look printed the frame again. So the epoch comes from the trainer's progress alone, and the
// operator's echo of it is left out: each epoch prints one frame, and its two lines agree.
import type { TrainingJob } from '../api/index.ts';

/** The epoch the operator appends to its Running message (operator/controllers/trainingjob/status.ts). */
const OPERATOR_EPOCH = /, epoch \d+\/\d+$/;

export function progressBar(done: number, total: number, width = 30): string {
  const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

export function watchFrame(tj: TrainingJob): string {
  const ready = tj.status?.conditions?.find((c) => c.type === 'Ready');
  if (!ready) return 'waiting for the operator to report status';
  const progress = tj.status?.progress;
  const message = progress ? ready.message.replace(OPERATOR_EPOCH, '') : ready.message;
  const head = `${tj.status?.phase ?? '?'} (${ready.reason}): ${message}`;
  if (!progress) return head;
  const metrics = Object.entries(progress.metrics)
    .map(([k, v]) => `${k}=${v.toFixed(4)}`)
    .join(' ');
  return `${head}\n        epoch ${progressBar(progress.epoch, progress.epochs)} ${metrics}`;
}
