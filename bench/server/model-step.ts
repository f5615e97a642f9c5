// The model step inside the server vs the ceiling's, in one process on one backend, blocks
// alternating so a shared machine's load hits every variant alike: the ceiling's call; the
// server's own ServingModel.predict (batcher, preprocessing, model, derived outputs, drift
// monitor) and its parts; the forward pass through LayersModel.predict and through the server's
// forward() (server/model/inference.ts); and the ceiling with a sweep over other memory between
// calls, standing in for what a server touches between batches, to tell the model's own cost
// from what interleaving costs it.
//
//   npx tsx bench/server/model-step.ts [--images=32] [--blocks=25] [--calls=30] [--backend=wasm] [--sweep-kb=4096]
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadModelHandler, readArtifact } from '../../lib/artifact/index.ts';
import { fileURI, openStore } from '../../lib/storage/index.ts';
import { ServerMetrics } from '../../server/metrics.ts';
import { initBackend } from '../../server/model/backend.ts';
import { forward } from '../../server/model/inference.ts';
import { Preprocessor } from '../../server/model/preprocess.ts';
import { ServingModel } from '../../server/model/serving-model.ts';
import { Ceiling } from './ceiling.ts';
import { digits, IMAGE_SCALE, SIDE, writeMnistArtifact } from './mnist.ts';

const arg = (name: string, dflt: string) =>
  process.argv.find((x) => x.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const IMAGES = Number(arg('images', '32'));
const BLOCKS = Number(arg('blocks', '25'));
const CALLS = Number(arg('calls', '30'));
const BACKEND = arg('backend', 'wasm') as 'wasm' | 'tensorflow';
const SWEEP_KB = Number(arg('sweep-kb', '4096'));
const sweepBuffer = new Uint8Array(SWEEP_KB * 1024);

/** Touches every cache line of the sweep buffer. */
function sweep(): void {
  for (let i = 0; i < sweepBuffer.length; i += 64) sweepBuffer[i] = (sweepBuffer[i]! + 1) & 0xff;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-model-step-'));
try {
  const store = openStore();
  await initBackend(BACKEND);
  const uri = await writeMnistArtifact(store, fileURI(dir), 'mnist', '1');
  const artifact = await readArtifact(store, uri);
  const ceiling = await Ceiling.load(store, uri, BACKEND);
  const model = await tf.loadLayersModel(loadModelHandler(artifact));
  const serving = await ServingModel.load(artifact, {
    name: 'mnist',
    batch: { maxBatchSize: IMAGES, maxDelayMs: 0 },
    drift: { windowSize: 1000, minSamples: 100, psiThreshold: 0.2, ksPValueThreshold: 0.01 },
    metrics: new ServerMetrics({ model: 'mnist', track: 'stable', maxBatchSize: IMAGES }),
    log: { warn() {} },
  });
  const raw = digits(IMAGES, 700);
  const scaled = raw.map((v) => v / IMAGE_SCALE);
  const pre = new Preprocessor({ kind: 'image', imageScale: IMAGE_SCALE }, [SIDE, SIDE, 1]);
  const drift = serving.drift!;
  const pass = (run: (x: tf.Tensor) => tf.Tensor | tf.Tensor[]) => async () => {
    const ys = tf.tidy(() => run(tf.tensor4d(scaled, [IMAGES, SIDE, SIDE, 1])));
    for (const y of Array.isArray(ys) ? ys : [ys]) {
      y.dataSync();
      y.dispose();
    }
  };
  const variants: Record<string, () => Promise<unknown>> = {
    'the ceiling (Ceiling.predict)': () => ceiling.predict(raw, IMAGES),
    [`the ceiling with a ${SWEEP_KB} KB sweep between calls`]: () => {
      sweep();
      return ceiling.predict(raw, IMAGES);
    },
    [`the ${SWEEP_KB} KB sweep alone`]: async () => sweep(),
    'the server: ServingModel.predict': () => serving.predict(raw, IMAGES),
    'forward pass: LayersModel.predict': pass((x) => model.predict(x)),
    'forward pass: forward() (LayersModel.execute)': pass((x) => forward(model, x)),
    'image scaling (Preprocessor.apply)': async () => pre.apply(raw, IMAGES),
    'drift monitor (extract + observe)': async () =>
      drift.observe(drift.extractor.extract(raw, IMAGES), IMAGES, new Float64Array(IMAGES)),
  };
  for (const f of Object.values(variants)) for (let i = 0; i < 20; i++) await f(); // warm-up (JIT, kernels)
  const times = new Map<string, number[]>();
  const load0 = os.loadavg()[0]!;
  for (let b = 0; b < BLOCKS; b++) {
    for (const [name, f] of Object.entries(variants)) {
      const t0 = process.cpuUsage();
      for (let i = 0; i < CALLS; i++) await f();
      const t = process.cpuUsage(t0);
      times.set(name, [...(times.get(name) ?? []), (t.user + t.system) / 1000 / CALLS]);
    }
  }
  console.log(
    `${BACKEND}, ${IMAGES} images per call; CPU ms per call, median of ${BLOCKS} blocks of ${CALLS} calls, variants alternating; 1-min load ${load0.toFixed(1)} → ${os.loadavg()[0]!.toFixed(1)}`,
  );
  console.log('| step | CPU ms per call |\n|---|--:|');
  for (const [name, xs] of times) console.log(`| ${name} | ${median(xs).toFixed(3)} |`);
  model.dispose();
  serving.dispose();
} finally {
  await rm(dir, { recursive: true, force: true });
}
