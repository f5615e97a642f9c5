// Builders of sweeps and trial TrainingJobs for the sweep controller's unit tests.
import type { HyperparameterSweep, HyperparameterSweepSpec, TrainingJob } from '../../../api/index.ts';
import { desiredTrial } from './desired.ts';

export function sweepOf(spec: Partial<HyperparameterSweepSpec> = {}, name = 'mnist-lr'): HyperparameterSweep {
  return {
    apiVersion: 'k2k.dev/v1alpha1',
    kind: 'HyperparameterSweep',
    metadata: {
      name,
      namespace: 'ml',
      uid: 'sweep-uid',
      generation: 1,
      creationTimestamp: new Date('2026-01-02T03:04:05Z'),
    },
    spec: {
      trialTemplate: {
        model: { architecture: 'mnist-mlp' },
        dataset: { format: 'mnist-idx', uri: 's3://datasets/mnist/' },
        hyperparameters: { epochs: 3 },
        output: { uri: 's3://models/sweeps/' },
      },
      parameters: [{ name: 'learningRate', type: 'double', min: 0.0001, max: 0.1, scale: 'log' }],
      objective: { metric: 'val_loss', goal: 'minimize' },
      algorithm: 'random',
      seed: 1,
      maxTrials: 10,
      parallelTrials: 2,
      maxFailedTrials: 3,
      suspend: false,
      ...spec,
    } as HyperparameterSweepSpec,
  };
}

export type TrialOutcome =
  | { state: 'Pending' }
  | { state: 'Running'; history?: number[]; stopRequested?: boolean }
  | { state: 'Suspended' }
  | { state: 'Succeeded'; objective: number; history?: number[] }
  | { state: 'Failed'; reason?: string }
  | { state: 'Stopped'; reason?: 'Stopped' | 'EarlyStopped'; history?: number[] };

/** Trial `index` of `sweep` as its TrainingJob would look with the trainer's status for `outcome`. */
export function trialOf(sweep: HyperparameterSweep, index: number, outcome: TrialOutcome): TrainingJob {
  const tj = desiredTrial(sweep, index, { kind: 'trial', parameters: { learningRate: 0.01 } });
  const cond = (type: string, reason = type) => ({
    type,
    status: 'True' as const,
    reason,
    message: '',
    lastTransitionTime: '2026-01-02T03:04:05Z',
  });
  const history = 'history' in outcome && outcome.history ? outcome.history : [];
  const progress = {
    epoch: history.length,
    epochs: 3,
    metrics: (history.length > 0 ? { val_loss: history.at(-1)! } : {}) as Record<string, number>,
    history: history.map((v, e) => ({ epoch: e + 1, metrics: { val_loss: v } })),
  };
  switch (outcome.state) {
    case 'Pending':
      return tj;
    case 'Running':
      return {
        ...tj,
        spec: outcome.stopRequested ? { ...tj.spec, stop: { reason: 'EarlyStopped' } } : tj.spec,
        status: { conditions: [cond('Running')], progress },
      };
    case 'Suspended':
      return { ...tj, status: { conditions: [cond('Suspended')] } };
    case 'Succeeded':
      return {
        ...tj,
        status: {
          conditions: [cond('Succeeded')],
          progress,
          metrics: { val_loss: outcome.objective },
          artifact: { uri: `s3://models/sweeps/${tj.metadata.name}/`, version: '1', manifestSha256: 'abc' },
        },
      };
    case 'Failed':
      return { ...tj, status: { conditions: [cond('Failed', outcome.reason ?? 'TrainerFailed')] } };
    case 'Stopped': {
      const reason = outcome.reason ?? 'EarlyStopped';
      return {
        ...tj,
        spec: { ...tj.spec, stop: { reason } },
        status: { phase: 'Stopped', conditions: [cond('Failed', reason)], progress },
      };
    }
  }
}
