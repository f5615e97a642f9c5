// Training throughput of TensorFlow.js's backends against Keras, measured in the same run:
// samples per second for the MNIST MLP and a small CNN (models.ts) on each tfjs backend that
// loads here, and for the same models in Keras (keras_peer.py) on the same TensorFlow version the
// native backend links. Results are printed as a Markdown table with ratios against Keras.
//
// Usage: npx tsx bench/trainer/run.ts [--models mlp,cnn] [--backends tensorflow,tensorflow-eager,image,wasm,cpu]
//          [--rounds 3] [--budget-seconds 2] [--warmup-steps 3] [--min-steps 1] [--batch-size 128]
//          [--no-keras]
// "image" is the native backend in a process started with the trainer image's env and node flags
// (image.ts, image-row.ts). Each round runs Keras, then the image process, then every other tfjs
// row; the table shows medians over the rounds. The tfjs rows train as the trainer does: on the
// native backend the whole step is one TensorFlow graph (trainer/graph/); "tensorflow-eager" is
// the native backend with tfjs's eager step, for comparison.
// It first runs hack/build-tfjs-node.sh and bench/trainer/keras-venv.sh (both cached).
import { execFileSync, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../trainer/backend.ts';
import { silentLogger } from '../../trainer/log.ts';
import { imageConfiguration } from './image.ts';
import type { ImageReport } from './image-row.ts';
import type { MeasureOptions, Throughput } from './measure.ts';
import { firstLine, MODEL_NAMES, type ModelName, measureModel, type Outcome } from './models.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// image: the native backend in a process with the trainer image's env and node flags (image.ts).
const BACKENDS = ['tensorflow', 'tensorflow-eager', 'image', 'wasm', 'cpu'] as const;
type Backend = (typeof BACKENDS)[number];

type Row = { model: string; backend: string } & Outcome;

function parseList<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const items = value.split(',').filter(Boolean);
  for (const item of items) {
    if (!allowed.includes(item as T))
      throw new Error(`--${flag}: unknown value '${item}' (allowed: ${allowed})`);
  }
  return items as T[];
}

function positive(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${flag}: want a positive number, got '${value}'`);
  return n;
}

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: MODEL_NAMES.join(',') },
    backends: { type: 'string', default: BACKENDS.join(',') },
    'budget-seconds': { type: 'string', default: '2' },
    'warmup-steps': { type: 'string', default: '3' },
    'min-steps': { type: 'string', default: '1' },
    'batch-size': { type: 'string', default: '128' },
    rounds: { type: 'string', default: '3' },
    'no-keras': { type: 'boolean', default: false },
  },
});
const models = parseList('models', args.models, MODEL_NAMES);
const backends = parseList('backends', args.backends, BACKENDS);
const opts: MeasureOptions & { rounds: number } = {
  rounds: Math.floor(positive('rounds', args.rounds)),
  batchSize: positive('batch-size', args['batch-size']),
  warmupSteps: Math.floor(positive('warmup-steps', args['warmup-steps'])),
  budgetSeconds: positive('budget-seconds', args['budget-seconds']),
  minSteps: Math.floor(positive('min-steps', args['min-steps'])),
};

/** Runs a setup script that prints one path on stdout; its progress goes to our stderr. */
function setup(script: string): string {
  return execFileSync('bash', [path.join(repo, script)], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] })
    .toString()
    .trim();
}

/** Makes a backend loadable; returns why not when it cannot be. */
async function load(backend: Backend): Promise<string | undefined> {
  try {
    if (backend === 'image') return undefined; // loaded by its own process
    if (backend === 'tensorflow' || backend === 'tensorflow-eager') {
      setup('hack/build-tfjs-node.sh');
      // As the trainer loads it (trainer/backend.ts), with its kernel replacements.
      await selectBackend('tensorflow', silentLogger);
    } else if (backend === 'wasm') {
      await import('@tensorflow/tfjs-backend-wasm');
    }
    if (!(await tf.setBackend(tfjsBackend(backend)))) return `tf.setBackend('${backend}') failed`;
    return undefined;
  } catch (err) {
    return firstLine(err);
  }
}

/** Every model's image row, from one process started as the trainer image starts the trainer. */
function runImage(): { backend: string; rows: Row[] } {
  setup('hack/build-tfjs-node.sh');
  const { env, nodeFlags } = imageConfiguration(repo);
  const child = spawnSync(
    process.execPath,
    [
      ...nodeFlags,
      '--import',
      'tsx',
      path.join(repo, 'bench/trainer/image-row.ts'),
      JSON.stringify({ models, opts }),
    ],
    {
      cwd: repo,
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    },
  );
  if (child.status !== 0) {
    const reason = `image-row.ts exited with ${child.status ?? child.signal}: ${child.stderr.trim().split('\n').at(-1)}`;
    return {
      backend: 'n/a',
      rows: models.map((model) => ({ model, backend: 'image', status: 'failed', reason })),
    };
  }
  const report = JSON.parse(child.stdout) as ImageReport;
  return { backend: report.backend, rows: report.results.map((r) => ({ ...r, backend: 'image' })) };
}

const tfjsBackend = (row: Backend) => (row === 'tensorflow-eager' ? 'tensorflow' : row);

async function measureTfjs(backend: Backend, model: ModelName): Promise<Row> {
  await tf.setBackend(tfjsBackend(backend));
  const kind = backend === 'tensorflow-eager' ? 'eager' : 'trainer';
  return { model, backend, ...(await measureModel(model, opts, kind)) };
}

interface PeerReport {
  tensorflow: string;
  keras: string;
  python: string;
  results: ({ model: string; backend: string } & Throughput)[];
}

function runKeras(): PeerReport {
  const python = setup('bench/trainer/keras-venv.sh');
  const peer = spawnSync(
    python,
    [
      path.join(repo, 'bench/trainer/keras_peer.py'),
      ...['--models', models.join(','), '--batch-size', String(opts.batchSize)],
      ...['--warmup-steps', String(opts.warmupSteps), '--budget-seconds', String(opts.budgetSeconds)],
      ...['--min-steps', String(opts.minSteps)],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' },
  );
  if (peer.status !== 0) throw new Error(`keras_peer.py exited with ${peer.status ?? peer.signal}`);
  return JSON.parse(peer.stdout) as PeerReport;
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * One line per model and backend over all rounds: the median throughput, its spread, and the
 * median of the per-round ratios to Keras (each tfjs row is divided by the Keras row of its own
 * round, which was measured a minute apart at most, so slow drifts of the machine's load cancel).
 */
function table(rounds: Row[][]): string {
  const lines = [
    '| model | backend | samples/s (median) | min–max | vs keras (median) | steps |',
    '|---|---|--:|--:|--:|--:|',
  ];
  const keys = [...new Set(rounds.flat().map((r) => `${r.model}\t${r.backend}`))];
  for (const key of keys) {
    const [model, backend] = key.split('\t') as [string, string];
    const rows = rounds.map((round) => round.find((r) => r.model === model && r.backend === backend));
    const ok = rows.filter((r): r is Row & { status: 'ok' } & Throughput => r?.status === 'ok');
    const notOk = rows.find((r) => r && r.status !== 'ok');
    if (notOk && notOk.status !== 'ok') {
      lines.push(`| ${model} | ${backend} | ${notOk.status} (${notOk.reason}) | | | |`);
      continue;
    }
    const sps = ok.map((r) => r.samplesPerSecond);
    const ratios = rounds.flatMap((round) => {
      const r = round.find((x) => x.model === model && x.backend === backend);
      const k = round.find((x) => x.model === model && x.backend === 'keras');
      return r?.status === 'ok' && k?.status === 'ok' ? [r.samplesPerSecond / k.samplesPerSecond] : [];
    });
    const ratio = ratios.length ? `${fmt(median(ratios), median(ratios) < 0.1 ? 3 : 2)}x` : 'n/a';
    const steps = ok.reduce((n, r) => n + r.steps, 0);
    lines.push(
      `| ${model} | ${backend} | ${fmt(median(sps))} | ${fmt(Math.min(...sps))}–${fmt(Math.max(...sps))} | ${ratio} | ${steps} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const loadBefore = os.loadavg()[0]!;
  // As the trainer runs (trainer/backend.ts): no debug checks, no console banners.
  tf.enableProdMode();
  const loaded = new Map<Backend, string | undefined>();
  for (const backend of backends) loaded.set(backend, await load(backend));
  let tfVersion = 'n/a';
  if (loaded.has('tensorflow') && loaded.get('tensorflow') === undefined) {
    await tf.setBackend('tensorflow');
    tfVersion = (tf.backend() as unknown as { binding: { TF_Version: string } }).binding.TF_Version;
  }

  // Rounds alternate the Keras process and the tfjs backends, so each side sees the same machine.
  const rounds: Row[][] = [];
  let peer: PeerReport | undefined;
  let imageBackend: string | undefined;
  for (let round = 1; round <= opts.rounds; round++) {
    const rows: Row[] = [];
    if (!args['no-keras']) {
      peer = runKeras();
      for (const r of peer.results) rows.push({ ...r, status: 'ok' });
    }
    const image = backends.includes('image') ? runImage() : undefined;
    if (image) imageBackend = image.backend;
    for (const model of models) {
      for (const backend of backends) {
        const why = loaded.get(backend);
        if (backend === 'image') {
          const row = image!.rows.find((r) => r.model === model)!;
          process.stderr.write(
            `[bench] round ${round}: ${model} image: ${row.status === 'ok' ? fmt(row.samplesPerSecond) : row.status}\n`,
          );
          rows.push(row);
          continue;
        }
        const row: Row = why
          ? { model, backend, status: 'unavailable', reason: why }
          : await measureTfjs(backend, model);
        const shown = row.status === 'ok' ? fmt(row.samplesPerSecond) : row.status;
        process.stderr.write(`[bench] round ${round}: ${model} ${backend}: ${shown}\n`);
        rows.push(row);
      }
    }
    rows.sort((a, b) => models.indexOf(a.model as ModelName) - models.indexOf(b.model as ModelName));
    rounds.push(rows);
  }

  const cpu = os.cpus();
  console.log(`date: ${new Date().toISOString()}`);
  console.log(
    `machine: ${os.availableParallelism()} cores (${cpu[0]?.model ?? 'unknown CPU'}), ${fmt(os.totalmem() / 2 ** 30)} GiB`,
  );
  console.log(`load average (1 min): ${fmt(loadBefore, 2)} before, ${fmt(os.loadavg()[0]!, 2)} after`);
  console.log(`node ${process.versions.node}, tfjs ${tf.version.tfjs}, tfjs-node's TensorFlow ${tfVersion}`);
  if (imageBackend) {
    const { env, nodeFlags } = imageConfiguration(repo);
    const shown = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    console.log(
      `image row: node ${[...nodeFlags].join(' ')} with only ${shown.join(' ')}; the trainer picked ${imageBackend}`,
    );
  }
  if (peer) console.log(`peer: TensorFlow ${peer.tensorflow}, Keras ${peer.keras}, Python ${peer.python}`);
  console.log(
    `batch ${opts.batchSize}; per row and round ${opts.warmupSteps} warm-up steps, then >= ${opts.budgetSeconds}s and >= ${opts.minSteps} steps; ${opts.rounds} rounds; wasm in Node runs single-threaded`,
  );
  console.log('');
  console.log(table(rounds));
}

await main();
