import Type, { type Static } from 'typebox';
import { type API_VERSION, Conditions, Resources, Scheduling } from './common.ts';
import { extendObject, rules, StringEnum } from './schema.ts';
import { Storage } from './storage.ts';
import { TrainingSpecProperties, trainingSpecRules } from './training.ts';

export const SWEEP_KIND = 'HyperparameterSweep';
export const SWEEP_PLURAL = 'hyperparametersweeps';

export const SweepConditionType = {
  Ready: 'Ready',
  Running: 'Running',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  Reconciling: 'Reconciling',
  Stalled: 'Stalled',
} as const;

export const SWEEP_ALGORITHMS = ['random', 'grid'] as const;

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
    ),
  },
);

export const HyperparameterSweepSpec = Type.Object(
  {
    trialTemplate: Type.Object(
      {
        ...TrainingSpecProperties,
        storage: Type.Optional(Storage),
        resources: extendObject(Resources, { default: {} }),
        ...Scheduling,
      },
      {
        description:
          'The TrainingJob spec every trial starts from; each trial overrides the searched hyperparameters and writes its artifact as version <trial index>.',
        ...trainingSpecRules,
      },
    ),
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
      },
      { description: 'What makes one trial better than another.' },
    ),
    algorithm: StringEnum(SWEEP_ALGORITHMS, { description: 'Search algorithm.', default: 'random' }),
    seed: Type.Integer({ description: 'Seed of the search algorithm.', minimum: 0, default: 1 }),
    maxTrials: Type.Integer({ description: 'Trials in total.', minimum: 1, maximum: 1000, default: 10 }),
    parallelTrials: Type.Integer({
      description: 'Trials running at once.',
      minimum: 1,
      maximum: 100,
      default: 2,
    }),
    maxFailedTrials: Type.Integer({
      description: 'The sweep fails once this many trials failed.',
      minimum: 0,
      default: 3,
    }),
    earlyStopping: Type.Optional(
      Type.Object(
        {
          rule: StringEnum(['median'] as const, {
            description:
              'median: stop a trial whose objective at an epoch is worse than the median of the other trials at that epoch.',
          }),
          minEpochs: Type.Integer({
            description: 'Never stop a trial before this many epochs.',
            minimum: 1,
            default: 2,
          }),
          minTrials: Type.Integer({
            description: 'Compare only once this many trials reported that epoch.',
            minimum: 1,
            default: 3,
          }),
        },
        { description: 'Stop bad trials early.' },
      ),
    ),
  },
  {
    description: 'A search over hyperparameters, run as TrainingJobs.',
    ...rules({
      rule: 'self.parallelTrials <= self.maxTrials',
      message: 'parallelTrials must not exceed maxTrials',
      fieldPath: '.parallelTrials',
    }),
  },
);
export type HyperparameterSweepSpec = Static<typeof HyperparameterSweepSpec>;

export const TrialStatus = Type.Object(
  {
    name: Type.String({ description: 'Name of the trial’s TrainingJob.' }),
    parameters: Type.Unsafe<Record<string, string>>({
      type: 'object',
      additionalProperties: { type: 'string' },
      description: 'The hyperparameter values of this trial.',
    }),
    state: StringEnum(['Pending', 'Running', 'Succeeded', 'Failed', 'EarlyStopped'] as const, {
      description: 'Where the trial is.',
    }),
    objective: Type.Optional(Type.Number({ description: 'The objective metric the trial reached.' })),
  },
  { description: 'One trial.' },
);

export const HyperparameterSweepStatus = Type.Object(
  {
    observedGeneration: Type.Optional(Type.Integer({ description: 'The generation this status describes.' })),
    conditions: Type.Optional(Conditions),
    trials: Type.Optional(Type.Array(TrialStatus, { description: 'Every trial so far.', maxItems: 1000 })),
    bestTrial: Type.Optional(TrialStatus),
    trialsSucceeded: Type.Optional(Type.Integer({ description: 'Trials that succeeded.' })),
    trialsFailed: Type.Optional(Type.Integer({ description: 'Trials that failed.' })),
    trialsEarlyStopped: Type.Optional(Type.Integer({ description: 'Trials stopped early.' })),
  },
  { description: 'Observed state of the sweep.' },
);

export interface HyperparameterSweep {
  apiVersion: typeof API_VERSION;
  kind: typeof SWEEP_KIND;
  metadata: import('@kubernetes/client-node').V1ObjectMeta;
  spec: HyperparameterSweepSpec;
  status?: Static<typeof HyperparameterSweepStatus>;
}
