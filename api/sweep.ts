import Type, { type Static } from 'typebox';
import { type API_VERSION, Conditions } from './common.ts';
import { rules, StringEnum } from './schema.ts';
import { OPTIMIZERS, TrainingTemplateProperties, trainingSpecRules } from './training.ts';

export const SWEEP_KIND = 'HyperparameterSweep';
export const SWEEP_PLURAL = 'hyperparametersweeps';

export const SweepConditionType = {
  Ready: 'Ready',
  Running: 'Running',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  Reconciling: 'Reconciling',
  Stalled: 'Stalled',
  Suspended: 'Suspended',
} as const;

/** Condition reasons of a sweep. */
export const SweepReason = {
  Running: 'Running',
  Suspended: 'Suspended',
  Succeeded: 'Succeeded',
  TargetReached: 'TargetReached',
  SearchExhausted: 'SearchExhausted',
  TooManyFailedTrials: 'TooManyFailedTrials',
  NoTrialSucceeded: 'NoTrialSucceeded',
  InvalidSearchSpace: 'InvalidSearchSpace',
  ReconcileError: 'ReconcileError',
} as const;

export const SWEEP_ALGORITHMS = ['random', 'grid', 'tpe', 'asha'] as const;

/** Hyperparameters searched as whole numbers, as doubles, and as one of a list. */
const INT_HYPERPARAMETERS = ['epochs', 'batchSize', 'seed'];
const DOUBLE_HYPERPARAMETERS = ['learningRate', 'validationSplit'];
const celList = (xs: readonly string[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;

/**
 * How many trials the status describes one by one (the best and the newest): a 1,000-trial sweep
 * stays a few tens of kilobytes, far below etcd's 1.5 MiB object limit (status.test.ts measures it).
 */
export const TRIAL_SUMMARY_LIMIT = 50;

export const SearchParameter = Type.Object(
  {
    name: StringEnum(
      ['learningRate', 'batchSize', 'epochs', 'optimizer', 'validationSplit', 'seed'] as const,
      {
        description: 'The hyperparameter (a field of spec.hyperparameters) this dimension varies.',
      },
    ),
    type: StringEnum(['double', 'int', 'categorical'] as const, {
      description: 'double and int take min/max; categorical takes values.',
    }),
    min: Type.Optional(Type.Number({ description: 'Lower bound (double, int).' })),
    max: Type.Optional(Type.Number({ description: 'Upper bound (double, int).' })),
    scale: StringEnum(['linear', 'log'] as const, {
      description: 'Sample uniformly on a linear or a logarithmic scale (log needs min > 0).',
      default: 'linear',
    }),
    step: Type.Optional(
      Type.Number({
        description: 'grid: spacing of the grid points in the parameter’s own units (linear scale only).',
        exclusiveMinimum: 0,
      }),
    ),
    points: Type.Optional(
      Type.Integer({
        description: 'grid: this many evenly spaced points from min to max (log-spaced on a log scale).',
        minimum: 2,
        maximum: 1000,
      }),
    ),
    values: Type.Optional(
      Type.Array(Type.String({ maxLength: 64 }), {
        description: 'The candidate values (categorical).',
        minItems: 1,
        maxItems: 64,
      }),
    ),
  },
  {
    description: 'One dimension of the search space.',
    ...rules(
      {
        rule: "self.type == 'categorical' ? has(self.values) : (has(self.min) && has(self.max) && self.min <= self.max)",
        message: 'double and int parameters need min <= max; categorical parameters need values',
      },
      {
        rule: "self.scale != 'log' || (has(self.min) && self.min > 0.0)",
        message: 'log scale needs min > 0',
        fieldPath: '.min',
      },
      {
        rule: "self.name != 'optimizer' || self.type == 'categorical'",
        message: 'optimizer is searched as a categorical parameter',
        fieldPath: '.type',
      },
      {
        rule: `!(self.name in ${celList(INT_HYPERPARAMETERS)}) || self.type == 'int'`,
        message: `${INT_HYPERPARAMETERS.join(', ')} are searched as int parameters`,
        fieldPath: '.type',
      },
      {
        rule: `!(self.name in ${celList(DOUBLE_HYPERPARAMETERS)}) || self.type == 'double'`,
        message: `${DOUBLE_HYPERPARAMETERS.join(', ')} are searched as double parameters`,
        fieldPath: '.type',
      },
      {
        rule: `self.name != 'optimizer' || !has(self.values) || self.values.all(v, v in ${celList(OPTIMIZERS)})`,
        message: `optimizer values must be among ${OPTIMIZERS.join(', ')}`,
        fieldPath: '.values',
      },
      {
        rule: "self.type != 'categorical' || (!has(self.step) && !has(self.points))",
        message: 'step and points apply to double and int parameters',
        fieldPath: '.step',
      },
      {
        rule: '!(has(self.step) && has(self.points))',
        message: 'give step or points, not both',
        fieldPath: '.points',
      },
      {
        rule: "!has(self.step) || self.scale == 'linear'",
        message: 'step needs a linear scale (use points on a log scale)',
        fieldPath: '.step',
      },
    ),
  },
);

export const HyperparameterSweepSpec = Type.Object(
  {
    trialTemplate: Type.Object(TrainingTemplateProperties, {
      description:
        'The TrainingJob spec every trial starts from; each trial overrides the searched hyperparameters and writes its artifact as version <sweep creation time in Unix seconds × 1000 + trial index>, so every trial and every re-created sweep gets a version of its own.',
      'x-kubernetes-validations': [
        ...trainingSpecRules['x-kubernetes-validations'],
        {
          rule: '!has(self.output.version)',
          message: 'each trial gets its own artifact version; leave output.version unset',
          fieldPath: '.output.version',
        },
      ],
    }),
    parameters: Type.Array(SearchParameter, {
      description: 'The search space.',
      minItems: 1,
      maxItems: 16,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    }),
    objective: Type.Object(
      {
        metric: Type.String({
          description: 'Metric to optimise, for example val_loss or val_acc.',
          minLength: 1,
        }),
        goal: StringEnum(['minimize', 'maximize'] as const, {
          description: 'Whether lower or higher is better.',
        }),
        target: Type.Optional(
          Type.Number({
            description:
              'End the sweep (Succeeded, reason TargetReached) once a trial reaches this value; running trials are left to finish.',
          }),
        ),
      },
      { description: 'What makes one trial better than another.' },
    ),
    algorithm: StringEnum(SWEEP_ALGORITHMS, {
      description:
        'Search algorithm: random, grid (every combination), tpe (Tree-structured Parzen Estimator) or asha (successive halving over epochs, settings in asha).',
      default: 'random',
    }),
    asha: Type.Optional(
      Type.Object(
        {
          minEpochs: Type.Integer({ description: 'Epochs of the first rung.', minimum: 1, default: 1 }),
          maxEpochs: Type.Integer({ description: 'Epochs of the last rung.', minimum: 1, maximum: 10000 }),
          reductionFactor: Type.Integer({
            description: 'Each rung promotes the best 1/reductionFactor of its trials.',
            minimum: 2,
            maximum: 16,
            default: 3,
          }),
        },
        {
          description:
            'asha: the epoch budget of each rung (required with algorithm asha, forbidden otherwise). A promotion is a new trial that continues the promoted trial’s artifact (its spec.resumeFrom) up to the next rung’s epochs, so it trains only the epochs the rung adds.',
          ...rules({
            rule: 'self.minEpochs <= self.maxEpochs',
            message: 'minEpochs must not exceed maxEpochs',
            fieldPath: '.minEpochs',
          }),
        },
      ),
    ),
    suspend: Type.Boolean({
      description: 'Start no trial, and suspend the running ones; false again resumes them and the search.',
      default: false,
    }),
    seed: Type.Integer({ description: 'Seed of the search algorithm.', minimum: 0, default: 1 }),
    maxTrials: Type.Integer({ description: 'Trials in total.', minimum: 1, maximum: 1000, default: 10 }),
    parallelTrials: Type.Integer({
      description: 'Trials running at once.',
      minimum: 1,
      maximum: 100,
      default: 2,
    }),
    maxFailedTrials: Type.Integer({
      description: 'The sweep fails once this many trials failed; running trials are left to finish.',
      minimum: 1,
      default: 3,
    }),
    earlyStopping: Type.Optional(
      Type.Object(
        {
          rule: StringEnum(['median'] as const, {
            description:
              'median: stop a running trial whose best objective up to its latest epoch is worse than the median of the other trials’ best values up to that epoch (finished and early-stopped trials included).',
          }),
          minEpochs: Type.Integer({
            description: 'Never stop a trial before this many epochs.',
            minimum: 1,
            default: 2,
          }),
          minTrials: Type.Integer({
            description: 'Compare only once this many other trials reported that epoch.',
            minimum: 1,
            default: 3,
          }),
        },
        {
          description:
            'Stop bad trials early, judged on the per-epoch status.progress every trial reports: a stopped trial gets spec.stop (reason EarlyStopped), ends with phase Stopped keeping its progress, counts as early-stopped (never against maxFailedTrials) and is never the best trial.',
        },
      ),
    ),
  },
  {
    description: 'A search over hyperparameters, run as TrainingJobs.',
    ...rules(
      {
        rule: 'self.parallelTrials <= self.maxTrials',
        message: 'parallelTrials must not exceed maxTrials',
        fieldPath: '.parallelTrials',
      },
      {
        rule: "self.algorithm == 'asha' ? has(self.asha) : !has(self.asha)",
        message: 'asha settings are required with algorithm asha and apply to it only',
        fieldPath: '.asha',
      },
      {
        rule: "self.algorithm != 'asha' || !self.parameters.exists(p, p.name == 'epochs')",
        message: 'asha sets each trial’s epochs itself; do not search epochs',
        fieldPath: '.parameters',
      },
    ),
  },
);
export type HyperparameterSweepSpec = Static<typeof HyperparameterSweepSpec>;

export const TRIAL_STATES = [
  'Pending',
  'Running',
  'Suspended',
  'Succeeded',
  'Failed',
  'EarlyStopped',
] as const;

export const TrialStatus = Type.Object(
  {
    name: Type.String({ description: 'Name of the trial’s TrainingJob.' }),
    index: Type.Integer({ description: 'The trial’s index in the sweep, from 0.', minimum: 0 }),
    parameters: Type.Unsafe<Record<string, string>>({
      type: 'object',
      additionalProperties: { type: 'string' },
      description: 'The hyperparameter values of this trial.',
    }),
    state: StringEnum(TRIAL_STATES, { description: 'Where the trial is.' }),
    objective: Type.Optional(
      Type.Number({ description: 'The objective the trial reached: best so far while it runs.' }),
    ),
  },
  { description: 'One trial.' },
);
export type TrialStatus = Static<typeof TrialStatus>;

export const BestTrial = Type.Object(
  {
    ...TrialStatus.properties,
    artifact: Type.Optional(
      Type.Object(
        {
          uri: Type.String({ description: 'URI of the trial’s artifact version.' }),
          manifestSha256: Type.Optional(Type.String({ description: 'sha256 of its manifest.json.' })),
        },
        { description: 'The artifact the best trial wrote.' },
      ),
    ),
  },
  { description: 'The succeeded trial with the best objective.' },
);
export type BestTrial = Static<typeof BestTrial>;

const Count = (description: string) => Type.Optional(Type.Integer({ description, minimum: 0 }));

export const HyperparameterSweepStatus = Type.Object(
  {
    observedGeneration: Type.Optional(Type.Integer({ description: 'The generation this status describes.' })),
    conditions: Type.Optional(Conditions),
    trialsCreated: Count('Trials started so far.'),
    trialsPending: Count('Trials waiting for their pod.'),
    trialsRunning: Count('Trials training now.'),
    trialsSuspended: Count('Trials suspended with the sweep.'),
    trialsSucceeded: Count('Trials that succeeded.'),
    trialsFailed: Count('Trials that failed.'),
    trialsEarlyStopped: Count(
      'Trials stopped early (spec.stop: by earlyStopping or by hand); never counted as failed.',
    ),
    progress: Type.Optional(
      Type.String({ description: 'Finished trials out of spec.maxTrials, as "<finished>/<maxTrials>".' }),
    ),
    bestTrial: Type.Optional(BestTrial),
    bestObjective: Type.Optional(
      Type.Number({ description: 'The best trial’s objective to 4 significant digits, for kubectl get.' }),
    ),
    trials: Type.Optional(
      Type.Array(TrialStatus, {
        description: `The best trials and the newest ones, at most ${TRIAL_SUMMARY_LIMIT}, by index; every trial is a TrainingJob labelled k2k.dev/sweep=<name>.`,
        maxItems: TRIAL_SUMMARY_LIMIT,
      }),
    ),
  },
  { description: 'Observed state of the sweep.' },
);
export type HyperparameterSweepStatus = Static<typeof HyperparameterSweepStatus>;

export interface HyperparameterSweep {
  apiVersion: typeof API_VERSION;
  kind: typeof SWEEP_KIND;
  metadata: import('@kubernetes/client-node').V1ObjectMeta;
  spec: HyperparameterSweepSpec;
  status?: HyperparameterSweepStatus;
}
