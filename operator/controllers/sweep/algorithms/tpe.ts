// Tree-structured Parzen Estimator (Bergstra et al. 2011) with the defaults of Optuna 5's
// TPESampler: the finished trials split into the best gamma(n) ("below", density l) and the rest
// ("above", g, which also holds the running trials: the constant liar); 24 candidates are drawn
// jointly from l (Optuna 5's multivariate default) and the one with the best l/g is suggested.
import { type Estimator, type Point, parzenEstimator } from './parzen.ts';
import { randomAssignment } from './random.ts';
import { prng, Stream } from './rng.ts';
import { numericValue, sameAssignment, sampleAssignment } from './space.ts';
import {
  type Algorithm,
  type Assignment,
  compareObjective,
  type Dimension,
  type Goal,
  type ParameterValue,
  type SuggestContext,
  type Suggestion,
  type Trial,
} from './types.ts';

/** Optuna's defaults, and where k2k departs from them. */
export const TPE_DEFAULTS = {
  /**
   * Optuna starts with 10 random trials, sized for studies of 40+ trials. k2k sweeps are often
   * 10–30 trials, where 10 random trials would leave TPE little or nothing: so a quarter of the
   * budget, at least 3 (TPE needs a few points to split) and at most Optuna's 10.
   */
  startupTrials: (budget: number): number => Math.min(10, Math.max(3, Math.ceil(budget / 4))),
  /** Optuna's default_gamma: the best 10% (rounded up) make l, never more than 25 trials. */
  gamma: (n: number): number => Math.min(Math.ceil(0.1 * n), 25),
  eiCandidates: 24,
  priorWeight: 1,
  /** Draws before giving up on a point distinct from every running trial (then: a random point). */
  liarAttempts: 8,
} as const;

const hasObjective = (t: Trial): boolean => t.objective !== undefined && Number.isFinite(t.objective);

const epochsReached = (t: Trial): number => Math.max(0, ...(t.progress ?? []).map((p) => p.epoch));

/**
 * Trials ranked best first, as Optuna's split ranks them: succeeded by objective, then early
 * stopped ones (further trained first, then by objective), then running and pending trials — the
 * constant liar: each counts as worse than every result, so g grows around it and the next
 * suggestion moves away from what is already being tried. Failed trials say nothing about the
 * objective and are left out.
 */
export function rankTrials(trials: readonly Trial[], goal: Goal): { ranked: Trial[]; finished: number } {
  const byObjective = (a: Trial, b: Trial) =>
    compareObjective(goal, a.objective!, b.objective!) || a.index - b.index;
  const succeeded = trials.filter((t) => t.state === 'Succeeded' && hasObjective(t)).sort(byObjective);
  const stopped = trials
    .filter((t) => t.state === 'EarlyStopped' && hasObjective(t))
    .sort((a, b) => epochsReached(b) - epochsReached(a) || byObjective(a, b));
  const running = trials.filter((t) => t.state === 'Running' || t.state === 'Pending');
  return { ranked: [...succeeded, ...stopped, ...running], finished: succeeded.length + stopped.length };
}

/** The trial's value of d as the estimator's number (a category index), or undefined if outside today's space. */
function coordinate(d: Dimension, value: ParameterValue | undefined): number | undefined {
  if (d.type !== 'categorical') return numericValue(d, value);
  const i = d.values.indexOf(String(value));
  return i < 0 ? undefined : i;
}

/** Trials as points, oldest first so Optuna's weight ramp (beyond 25) discounts the oldest; trials outside today's space are left out. */
function estimator(space: readonly Dimension[], trials: readonly Trial[]): Estimator {
  const points = [...trials]
    .sort((a, b) => a.index - b.index)
    .map((t) => space.map((d) => coordinate(d, t.parameters[d.name])))
    .filter((x): x is number[] => x.every((v) => v !== undefined));
  return parzenEstimator(space, points, TPE_DEFAULTS.priorWeight);
}

const toAssignment = (space: readonly Dimension[], x: Point): Assignment =>
  Object.fromEntries(space.map((d, j) => [d.name, d.type === 'categorical' ? d.values[x[j]!]! : x[j]!]));

export function tpeSuggest(ctx: SuggestContext): Suggestion {
  const { space, seed, index, goal } = ctx;
  const { ranked, finished } = rankTrials(ctx.trials, goal);
  // Like Optuna, only finished trials count towards the startup and gamma: running ones are liars.
  if (finished < TPE_DEFAULTS.startupTrials(ctx.budget))
    return { kind: 'trial', parameters: randomAssignment(space, seed, index) };

  const nBelow = TPE_DEFAULTS.gamma(finished);
  const l = estimator(space, ranked.slice(0, nBelow));
  const g = estimator(space, ranked.slice(nBelow));
  const running = ctx.trials.filter((t) => t.state === 'Running' || t.state === 'Pending');
  const collides = (a: Assignment) => running.some((t) => sameAssignment(space, t.parameters, a));
  const rng = prng(seed, index, Stream.Tpe);

  for (let attempt = 0; attempt < TPE_DEFAULTS.liarAttempts; attempt++) {
    let best: Point | undefined;
    let bestScore = -Infinity;
    for (let c = 0; c < TPE_DEFAULTS.eiCandidates; c++) {
      const x = l.sample(rng);
      const score = l.logPdf(x) - g.logPdf(x);
      if (best === undefined || score > bestScore) {
        best = x;
        bestScore = score;
      }
    }
    const parameters = toAssignment(space, best!);
    // The liar makes a running point unlikely, not impossible (a small discrete space): never
    // start the same point twice at once.
    if (!collides(parameters)) return { kind: 'trial', parameters };
  }
  // Every draw collided: the space is nearly covered by running trials; try plain random points.
  const liarRng = prng(seed, index, Stream.Liar);
  for (let k = 0; k < 100; k++) {
    const parameters = sampleAssignment(space, liarRng);
    if (!collides(parameters)) return { kind: 'trial', parameters };
  }
  return { kind: 'trial', parameters: randomAssignment(space, seed, index) };
}

export const tpe: Algorithm = { name: 'tpe', suggest: tpeSuggest };
