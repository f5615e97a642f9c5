// In-process A/B of one trainer change on the native backend: the MNIST MLP of bench/trainer
// trained with and without it, the two variants alternating round by round so the machine's load
// hits both alike; the ratio is the median of the per-round ratios (docs/benchmarks.md, "what
// each change bought"). It also counts the tfjs kernels of one step of each variant.
//
//   flock /tmp/k2k-bench.lock npx tsx bench/trainer/ab.ts [--change=all|native-adam|fused-xent|noop-kernels|graph-step] [--model=mlp|cnn] [--rounds=5] [--steps=40]
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../trainer/backend.ts';
import { NativeAdam } from '../../trainer/native-adam.ts';
import { trainingLoss } from '../../trainer/train.ts';
import { buildModel, graphStepFunction, type ModelName, syntheticBatches } from './models.ts';

const LR = 1e-3;

interface Variant {
  name: string;
  optimizer: () => tf.Optimizer;
  /** Compiles with tfjs-layers' categorical cross-entropy instead of the trainer's loss. */
  tfjsLoss?: boolean;
  /** Puts the kernels this variant trains with in place (kernels are global: swapped per round). */
  kernels?: () => void;
  /** Trains with the whole step as one TensorFlow graph (trainer/graph/step.ts). */
  graph?: boolean;
}

type Batch = ReturnType<typeof syntheticBatches>[number];

/** One variant's model and how it trains on a batch (reading the loss back, as trainOnBatch does). */
interface Trainer {
  model: tf.LayersModel;
  step(b: Batch): Promise<void>;
}

/** tfjs-node's own kernels and the trainer's replacements, by name, to swap between rounds. */
const kernels: { stock: Map<string, tf.KernelConfig>; trainer: Map<string, tf.KernelConfig> } = {
  stock: new Map(),
  trainer: new Map(),
};

function useKernels(which: 'stock' | 'trainer', names: string[]): void {
  for (const name of names) {
    tf.unregisterKernel(name, 'tensorflow');
    tf.registerKernel(kernels[which].get(name)!);
  }
}

/** Each change as the trainer before it (A) and with it (B). */
const CHANGES: Record<string, [Variant, Variant]> = {
  'native-adam': [
    { name: 'tfjs Adam', optimizer: () => tf.train.adam(LR, 0.9, 0.999) },
    { name: 'native Adam', optimizer: () => new NativeAdam(LR, 0.9, 0.999) },
  ],
  // All of the trainer's native-backend changes to the MLP's step at once (MaxPoolGrad aside).
  all: [
    {
      name: 'tfjs (Adam, loss, kernels)',
      optimizer: () => tf.train.adam(LR, 0.9, 0.999),
      tfjsLoss: true,
      kernels: () => useKernels('stock', ['Cast', 'Reshape']),
    },
    {
      name: 'trainer',
      optimizer: () => new NativeAdam(LR, 0.9, 0.999),
      kernels: () => useKernels('trainer', ['Cast', 'Reshape']),
    },
  ],
  'fused-xent': [
    { name: 'tfjs-layers cross-entropy', optimizer: () => new NativeAdam(LR, 0.9, 0.999), tfjsLoss: true },
    { name: 'fused softmax cross-entropy', optimizer: () => new NativeAdam(LR, 0.9, 0.999) },
  ],
  // tfjs's eager step as the trainer runs it today against the whole step as one graph.
  'graph-step': [
    { name: 'eager step', optimizer: () => new NativeAdam(LR, 0.9, 0.999) },
    { name: 'graph step', optimizer: () => new NativeAdam(LR, 0.9, 0.999), graph: true },
  ],
  'noop-kernels': [
    {
      name: 'tfjs-node Cast/Reshape',
      optimizer: () => new NativeAdam(LR, 0.9, 0.999),
      kernels: () => useKernels('stock', ['Cast', 'Reshape']),
    },
    {
      name: 'no-op Cast/Reshape skipped',
      optimizer: () => new NativeAdam(LR, 0.9, 0.999),
      kernels: () => useKernels('trainer', ['Cast', 'Reshape']),
    },
  ],
};

function arg(name: string, fallback: string): string {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : fallback;
}

async function trainer(v: Variant, name: ModelName): Promise<Trainer> {
  const m = buildModel(name);
  m.compile({
    optimizer: v.optimizer(),
    loss: v.tfjsLoss ? 'categoricalCrossentropy' : trainingLoss(m, 'categoricalCrossentropy'),
  });
  if (!v.graph) return { model: m, step: async (b) => void (await m.trainOnBatch(b.xs, b.ys)) };
  return { model: m, step: (await graphStepFunction(m)).step };
}

async function samplesPerSecond(t: Trainer, batches: Batch[], steps: number) {
  const start = performance.now();
  for (let i = 0; i < steps; i++) await t.step(batches[i % batches.length]!);
  return (steps * 128) / ((performance.now() - start) / 1000);
}

/** tfjs kernels, and calls into TensorFlow (ops run and tensors uploaded), in one step. */
async function kernelsPerStep(t: Trainer, b: Batch) {
  // The addon's functions are read-only: count through an object put in the binding's place.
  const backend = tf.backend() as unknown as { binding: Record<string, unknown> };
  const binding = backend.binding;
  const calls = { executeOp: 0, createTensor: 0 };
  const counting: Record<string, unknown> = Object.create(binding);
  for (const name of ['executeOp', 'createTensor'] as const) {
    const fn = binding[name] as (...a: unknown[]) => unknown;
    Object.defineProperty(counting, name, {
      value: (...a: unknown[]) => {
        calls[name]++;
        return fn.apply(binding, a);
      },
    });
  }
  backend.binding = counting;
  const info = await tf.profile(() => t.step(b));
  backend.binding = binding;
  const byName = new Map<string, number>();
  for (const k of info.kernels) byName.set(k.name, (byName.get(k.name) ?? 0) + 1);
  return {
    total: info.kernels.length,
    calls,
    byName: Object.fromEntries([...byName].sort((a, b) => b[1] - a[1])),
  };
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const change = arg('change', 'native-adam');
  const modelName = arg('model', 'mlp') as ModelName;
  const rounds = Number(arg('rounds', '5'));
  const steps = Number(arg('steps', '40'));
  const variants = CHANGES[change];
  if (!variants) throw new Error(`--change must be one of ${Object.keys(CHANGES).join(', ')}`);
  await import('@tensorflow/tfjs-node');
  await tf.setBackend('tensorflow');
  const names = ['Cast', 'Reshape'];
  for (const n of names) kernels.stock.set(n, tf.getKernel(n, 'tensorflow')!);
  const backend = await selectBackend('tensorflow', { info() {}, warn() {}, error() {}, debug() {} });
  for (const n of names) kernels.trainer.set(n, tf.getKernel(n, 'tensorflow')!);
  const batches = syntheticBatches(8, 128);
  const models: Trainer[] = [];
  for (const v of variants) models.push(await trainer(v, modelName));
  for (const [i, m] of models.entries()) {
    variants[i]!.kernels?.();
    for (let w = 0; w < 5; w++) await m.step(batches[w]!);
    const k = await kernelsPerStep(m, batches[0]!);
    console.log(
      `${variants[i]!.name}: ${k.total} tfjs kernels, ${k.calls.executeOp} TensorFlow ops and ${k.calls.createTensor} uploads per step`,
      JSON.stringify(k.byName),
    );
  }
  console.log(`backend ${backend.name}, model ${modelName}; load average before: ${load()}`);
  const results: number[][] = [[], []];
  for (let r = 0; r < rounds; r++) {
    // Alternate which variant goes first, so neither always follows the other.
    const order = r % 2 === 0 ? [0, 1] : [1, 0];
    for (const i of order) {
      variants[i]!.kernels?.();
      results[i]!.push(await samplesPerSecond(models[i]!, batches, steps));
    }
    console.log(
      `round ${r + 1}: ${variants.map((v, i) => `${v.name} ${Math.round(results[i]![r]!)}`).join(', ')}`,
    );
  }
  const ratios = results[1]!.map((b, r) => b / results[0]![r]!);
  console.log(
    `${change}: A ${Math.round(median(results[0]!))} samples/s, B ${Math.round(median(results[1]!))} samples/s (medians); ` +
      `per-round ratios ${ratios.map((x) => x.toFixed(2)).join(', ')}; median ${median(ratios).toFixed(2)}x; load average after: ${load()}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
