// How trainLoop runs one epoch: tfjs's model.fit (eager: one TensorFlow call per op) or the
// whole training step as one TensorFlow graph (step.ts) on the native backend. The graph is
// used only where it computes what fit computes — the same batches, loss, metrics, optimizer
// state and history keys; anything it cannot express keeps fit, with the reason said once.
import * as tf from '@tensorflow/tfjs';
import type { Logger } from '../log.ts';
import { nativeBackend } from '../native-binding.ts';
import { GraphStep, graphStepUnsupported, metricNames } from './step.ts';

export interface EpochOptions {
  batchSize: number;
  validation?: [tf.Tensor, tf.Tensor];
}

export interface EpochResult {
  /** As fit's history names them: loss, acc, val_loss, val_acc, ... */
  metrics: Record<string, number>;
  /** The first non-finite batch loss, where the epoch stopped. */
  diverged?: number;
}

export interface StepEngine {
  /** `graph`, or `eager` with the reason the graph was not used. */
  readonly name: string;
  /** One epoch over `x`, `y` in their order (the caller shuffles). */
  fitEpoch(x: tf.Tensor, y: tf.Tensor, o: EpochOptions): Promise<EpochResult>;
  dispose(): void;
}

/** tfjs-layers' fit for one epoch, stopping after the first non-finite batch loss. */
function eagerEngine(model: tf.LayersModel, reason: string): StepEngine {
  return {
    name: `eager (${reason})`,
    async fitEpoch(x, y, o) {
      let diverged: number | undefined;
      try {
        const fitted = await model.fit(x, y, {
          epochs: 1,
          batchSize: o.batchSize,
          shuffle: false,
          verbose: 0,
          ...(o.validation ? { validationData: o.validation } : {}),
          callbacks: {
            onBatchEnd: async (_batch, logs) => {
              // Stop at the first non-finite batch loss instead of finishing a useless epoch.
              if (logs && !Number.isFinite(logs.loss as number)) {
                diverged = logs.loss as number;
                model.stopTraining = true;
              }
            },
          },
        });
        const metrics: Record<string, number> = {};
        for (const [k, v] of Object.entries(fitted.history)) metrics[k] = Number(v[0]);
        return { metrics, ...(diverged !== undefined ? { diverged } : {}) };
      } finally {
        model.stopTraining = false;
      }
    },
    dispose() {},
  };
}

/** Loss and metrics of `x`, `y` as fit's validation computes them (model.evaluate, same batches). */
async function evaluateAs(
  model: tf.LayersModel,
  [x, y]: [tf.Tensor, tf.Tensor],
  batchSize: number,
  prefix: string,
) {
  const result = model.evaluate(x, y, { batchSize });
  const scalars = Array.isArray(result) ? result : [result];
  const out: Record<string, number> = {};
  for (const [i, name] of model.metricsNames.entries())
    out[`${prefix}${name}`] = (await scalars[i]!.data())[0]!;
  tf.dispose(scalars);
  return out;
}

const YIELD_EVERY_MS = 100;

function graphEngine(model: tf.LayersModel, step: GraphStep): StepEngine {
  const names = ['loss', ...metricNames(model)];
  return {
    name: 'graph',
    async fitEpoch(x, y, o) {
      const n = x.shape[0]!;
      const sums = names.map(() => 0);
      let seen = 0;
      let diverged: number | undefined;
      await step.begin();
      let yielded = performance.now();
      try {
        for (let start = 0; start < n && diverged === undefined; start += o.batchSize) {
          // Batches run synchronously; as fit does (its yieldEvery 'auto'), give the event loop a
          // turn now and then so that SIGTERM and progress reports are not held up for an epoch.
          if (performance.now() - yielded > YIELD_EVERY_MS) {
            await new Promise((resolve) => setImmediate(resolve));
            yielded = performance.now();
          }
          const size = Math.min(o.batchSize, n - start);
          const xb = x.slice(start, size);
          const yb = y.slice(start, size);
          const outputs = step.trainOnBatch(xb, yb);
          tf.dispose([xb, yb]);
          const values = outputs.map((t) => t.dataSync()[0]!);
          tf.dispose(outputs);
          // fit's epoch values: the batches' means weighted by their sizes.
          for (const [i, v] of values.entries()) sums[i]! += v * size;
          seen += size;
          if (!Number.isFinite(values[0]!)) diverged = values[0]!;
        }
      } finally {
        // Validation, checkpoints and callbacks read the model: it gets the weights back now.
        await step.end();
      }
      const metrics: Record<string, number> = Object.fromEntries(
        names.map((name, i) => [name, sums[i]! / seen]),
      );
      if (o.validation && diverged === undefined)
        Object.assign(metrics, await evaluateAs(model, o.validation, o.batchSize, 'val_'));
      return { metrics, ...(diverged !== undefined ? { diverged } : {}) };
    },
    dispose: () => step.dispose(),
  };
}

/**
 * The engine for a compiled model trained with the loss named `loss`: the graph when it can
 * express the whole step, else fit. `loss` undefined (a caller that does not say) means fit.
 */
export function stepEngine(model: tf.LayersModel, loss: string | undefined, log: Logger): StepEngine {
  const backend = nativeBackend();
  let reason = loss === undefined ? 'no loss name given' : graphStepUnsupported(model, loss);
  if (reason === undefined && backend) {
    try {
      const engine = graphEngine(model, GraphStep.create(backend, model, loss!));
      log.info('step engine', { engine: engine.name });
      return engine;
    } catch (err) {
      // TensorFlow refused the graph (an op this build lacks): fit still trains.
      reason = `TensorFlow did not load the graph: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`;
    }
  }
  const engine = eagerEngine(model, reason ?? 'not the native backend');
  log.info('step engine', { engine: engine.name });
  return engine;
}
