// The contract between the sweep controller and its search algorithms. The sweep's spec and its
// trial TrainingJobs are the only state: an algorithm is a pure function of this context, so a
// restarted operator re-derives exactly the suggestion it would have made before.

export type Goal = 'minimize' | 'maximize';

/** A categorical value is its string; double and int values are numbers. */
export type ParameterValue = number | string;
export type Assignment = Readonly<Record<string, ParameterValue>>;

interface DimensionBase {
  name: string;
  /** Where this dimension sits in the sweep, for errors that name the field (spec.parameters[2]). */
  field: string;
}

export interface NumericDimension extends DimensionBase {
  type: 'double' | 'int';
  min: number;
  max: number;
  scale: 'linear' | 'log';
  /** Grid spacing in the parameter's own units (linear scale only). */
  step?: number;
  /** Grid size: this many evenly spaced points (log-spaced on a log scale). */
  points?: number;
}

export interface CategoricalDimension extends DimensionBase {
  type: 'categorical';
  values: readonly string[];
}

export type Dimension = NumericDimension | CategoricalDimension;
export type SearchSpace = readonly Dimension[];

export type TrialState = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'EarlyStopped';

/** The objective metric after one epoch, as the trial's status.progress history reports it. */
export interface EpochValue {
  epoch: number;
  value: number;
}

export interface Trial {
  /** The `<sweep>-<index>` suffix of the trial's TrainingJob. */
  index: number;
  parameters: Assignment;
  state: TrialState;
  /** The objective the trial reached: final once finished, best so far while it runs. */
  objective?: number;
  /** The epoch budget the trial was created with (ASHA's rung resource). */
  epochs?: number;
  /** ASHA: the trial whose checkpoint this one continues training from. */
  resumes?: number;
  progress?: readonly EpochValue[];
}

/** ASHA's resource: successive halving over epochs. */
export interface EpochResource {
  minEpochs: number;
  maxEpochs: number;
  reductionFactor: number;
}

export interface SuggestContext {
  seed: number;
  space: SearchSpace;
  goal: Goal;
  /** The index the suggested trial will get: each index has its own random stream. */
  index: number;
  /** Every trial the sweep has, in any state. Running and pending ones have no objective yet. */
  trials: readonly Trial[];
  /** spec.maxTrials: lets an algorithm size its exploration to the budget. */
  budget: number;
  resource?: EpochResource;
}

export type Suggestion =
  /** Start trial `index` with these parameters (and this epoch budget when the algorithm sets one). */
  | { kind: 'trial'; parameters: Assignment; epochs?: number }
  /**
   * Start trial `index` as the continuation of trial `trial`: same parameters, trained from that
   * trial's checkpoint up to `epochs` in total (ASHA rung `rung`).
   */
  | { kind: 'promote'; trial: number; rung: number; epochs: number; parameters: Assignment }
  /** Nothing is left to try (grid): the sweep ends when its running trials end. */
  | { kind: 'exhausted'; reason: string }
  /** The sweep cannot be searched this way; `field` names what to fix. */
  | { kind: 'invalid'; field: string; message: string };

export interface Algorithm {
  name: string;
  suggest(ctx: SuggestContext): Suggestion;
}

export const isFinished = (t: Trial): boolean =>
  t.state === 'Succeeded' || t.state === 'Failed' || t.state === 'EarlyStopped';

/** Negative when a is better than b under the goal. */
export const compareObjective = (goal: Goal, a: number, b: number): number =>
  goal === 'minimize' ? a - b : b - a;
