// Asynchronous successive halving (Li et al., "A System for Massively Parallel Hyperparameter
// Tuning", 2020) over epochs. Rung k trains to minEpochs·eta^k epochs (the last rung to maxEpochs).
// Whenever a trial slot frees up: promote the best not-yet-promoted trial among the top 1/eta of
// the highest rung that has one, else start a new random configuration at rung 0. A promotion is
// a new trial that continues the promoted trial's checkpoint, so finished trials stay as they are.
import { randomAssignment } from './random.ts';
import { InvalidSpaceError } from './space.ts';
import {
  type Algorithm,
  compareObjective,
  type EpochResource,
  type Suggestion,
  type Trial,
} from './types.ts';

/**
 * Epochs of each rung: minEpochs·eta^k below maxEpochs, then maxEpochs itself. A rung within a
 * factor eta of maxEpochs is dropped (1, 3, 9, 10 becomes 1, 3, 10) so every promotion trains at
 * least eta times longer; rung 0 always stays.
 */
export function rungEpochs({ minEpochs, maxEpochs, reductionFactor }: EpochResource): number[] {
  const rungs: number[] = [];
  for (let e = minEpochs; e < maxEpochs; e *= reductionFactor) rungs.push(e);
  if (rungs.length > 1 && rungs.at(-1)! * reductionFactor > maxEpochs) rungs.pop();
  rungs.push(maxEpochs);
  return rungs;
}

function checkResource(resource: EpochResource | undefined): EpochResource {
  if (!resource)
    throw new InvalidSpaceError('spec.asha', 'asha needs minEpochs, maxEpochs and reductionFactor');
  const { minEpochs, maxEpochs, reductionFactor } = resource;
  if (!Number.isInteger(minEpochs) || minEpochs < 1)
    throw new InvalidSpaceError('spec.asha.minEpochs', 'minEpochs must be an integer >= 1');
  if (!Number.isInteger(maxEpochs) || maxEpochs < minEpochs)
    throw new InvalidSpaceError('spec.asha.maxEpochs', 'maxEpochs must be an integer >= minEpochs');
  if (!Number.isInteger(reductionFactor) || reductionFactor < 2)
    throw new InvalidSpaceError('spec.asha.reductionFactor', 'reductionFactor must be an integer >= 2');
  return resource;
}

export const asha: Algorithm = {
  name: 'asha',
  suggest({ space, seed, index, goal, trials, resource }): Suggestion {
    const rungs = rungEpochs(checkResource(resource));
    const epochsParameter = space.find((d) => d.name === 'epochs');
    if (epochsParameter)
      throw new InvalidSpaceError(
        `${epochsParameter.field}.name`,
        'asha sets epochs itself; do not search it',
      );

    const rungOf = (t: Trial) => rungs.indexOf(t.epochs ?? rungs[0]!);
    // A promoted trial counts as promoted whatever became of its continuation, so a failed
    // continuation is not retried forever.
    const promoted = new Set(trials.flatMap((t) => (t.resumes === undefined ? [] : [t.resumes])));
    for (let k = rungs.length - 2; k >= 0; k--) {
      const done = trials
        .filter((t) => t.state === 'Succeeded' && rungOf(t) === k && Number.isFinite(t.objective))
        .sort((a, b) => compareObjective(goal, a.objective!, b.objective!) || a.index - b.index);
      const top = done.slice(0, Math.floor(done.length / resource!.reductionFactor));
      const next = top.find((t) => !promoted.has(t.index));
      if (next)
        return {
          kind: 'promote',
          trial: next.index,
          rung: k + 1,
          epochs: rungs[k + 1]!,
          parameters: next.parameters,
        };
    }
    return { kind: 'trial', parameters: randomAssignment(space, seed, index), epochs: rungs[0]! };
  },
};
