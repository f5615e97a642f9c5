// The ceiling: the same TensorFlow.js model the server loads, called in a loop from the benchmark
// process with no HTTP, no JSON, no batcher and no drift monitor. Each call does what the server's
// compute step does for an image model (scale raw pixels by 1/imageScale, build the tensor, run
// the model the way the server does — server/model/inference.ts — and read the output back), so
// server rows/s ÷ ceiling rows/s is the share of the model's speed that survives serving.
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { loadModelHandler, readArtifact } from '../../lib/artifact/index.ts';
import type { ObjectStore } from '../../lib/storage/index.ts';
import { forward } from '../../server/model/inference.ts';
import { IMAGE_SCALE, PIXELS, SIDE } from './mnist.ts';

export interface CeilingResult {
  callsPerSecond: number;
  rowsPerSecond: number;
  latencyP50ms: number;
  latencyP99ms: number;
  calls: number;
  /** This process's CPU time per row while calling predict (user + system). */
  cpuMsPerRow: number;
}

/** Registers the backends the server could pick (native TensorFlow, WebAssembly); returns those that work. */
export async function registerBackends(): Promise<string[]> {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  tf.enableProdMode();
  const ok: string[] = [];
  const attempts: Array<[string, () => Promise<unknown>]> = [
    ['tensorflow', () => import('@tensorflow/tfjs-node')],
    ['wasm', () => import('@tensorflow/tfjs-backend-wasm')],
  ];
  for (const [name, load] of attempts) {
    try {
      await load();
      if (await tf.setBackend(name)) ok.push(name);
    } catch {
      // The native addon is absent until hack/build-tfjs-node.sh has run: measure what works.
    }
  }
  if (ok.length === 0) throw new Error('neither the tensorflow nor the wasm backend initialised');
  return ok;
}

/** The q-quantile (nearest rank) of `xs`; NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = Float64Array.from(xs).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export class Ceiling {
  private constructor(
    readonly backend: string,
    private readonly model: tf.LayersModel,
  ) {}

  /** Loads the artifact's model while `backend` is active, so its weights live there. */
  static async load(store: ObjectStore, uri: string, backend: string): Promise<Ceiling> {
    await tf.setBackend(backend);
    const model = await tf.loadLayersModel(loadModelHandler(await readArtifact(store, uri)));
    return new Ceiling(backend, model);
  }

  /** One prediction of `rows` images given as raw pixels 0..255. */
  async predict(raw: Float32Array, rows: number): Promise<Float32Array> {
    if (tf.getBackend() !== this.backend) await tf.setBackend(this.backend);
    const scaled = new Float32Array(raw.length);
    for (let i = 0; i < raw.length; i++) scaled[i] = raw[i]! / IMAGE_SCALE;
    const [y] = tf.tidy(() => forward(this.model, tf.tensor4d(scaled, [rows, SIDE, SIDE, 1])));
    try {
      return Float32Array.from((await y!.data()) as Float32Array);
    } finally {
      y!.dispose();
    }
  }

  /** Calls predict on batches of `rows` images back to back for `seconds` (after 5 warm-up calls). */
  async measure(raw: Float32Array, seconds: number): Promise<CeilingResult> {
    const rows = raw.length / PIXELS;
    for (let i = 0; i < 5; i++) await this.predict(raw, rows);
    const latencies: number[] = [];
    const cpu = process.cpuUsage();
    const start = performance.now();
    const end = start + seconds * 1000;
    let now = start;
    while (now < end) {
      const t0 = now;
      await this.predict(raw, rows);
      now = performance.now();
      latencies.push(now - t0);
    }
    const callsPerSecond = latencies.length / ((now - start) / 1000);
    const used = process.cpuUsage(cpu);
    return {
      callsPerSecond,
      cpuMsPerRow: (used.user + used.system) / 1000 / (latencies.length * rows),
      rowsPerSecond: callsPerSecond * rows,
      latencyP50ms: quantile(latencies, 0.5),
      latencyP99ms: quantile(latencies, 0.99),
      calls: latencies.length,
    };
  }
}
