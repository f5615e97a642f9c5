// One loaded model version: the TensorFlow.js model, its preprocessing, its drift monitor and its
// micro-batcher. The holder swaps whole ServingModels on reload; a request keeps the instance it
// started with, so preprocessing, weights and response metadata always belong to one version.
import * as tf from '@tensorflow/tfjs';
import type { LoadedArtifact } from '../../lib/artifact/index.ts';
import { loadModelHandler } from '../../lib/artifact/index.ts';
import { type BatchSettings, MicroBatcher } from '../batcher.ts';
import { featureExtractor } from '../drift/features.ts';
import { DriftMonitor, type DriftSettings } from '../drift/monitor.ts';
import { ServeError } from '../errors.ts';
import type { ServerMetrics } from '../metrics.ts';
import type { BackendChoice } from './backend-choice.ts';
import { forward } from './inference.ts';
import { type InputPreprocessing, Preprocessor } from './preprocess.ts';
import { type Derivation, derivation, type OutputValues, type ServedOutput } from './served-outputs.ts';
import { concatValues, elementCount, type TensorSpec, type TensorValues } from './tensor.ts';

/** The backend choice times each batch size for at least this many calls and about this long. */
const MIN_TIMED_CALLS = 5;
const MAX_TIMED_CALLS = 200;
const TIMING_BUDGET_MS = 150;

export type Task = 'classification' | 'regression' | 'anomaly';

/** One output tensor of a batch, flattened row-major; rowShape excludes the batch. */
export interface OutputTensor {
  spec: TensorSpec;
  rowShape: number[];
  values: OutputValues;
}

export interface ServingModelOptions {
  name: string;
  batch: BatchSettings;
  drift: DriftSettings;
  metrics: ServerMetrics;
  log: { warn(obj: object, msg: string): void };
}

export class ServingModel {
  readonly name: string;
  readonly version: string;
  readonly uri: string;
  readonly task: Task;
  readonly input: TensorSpec;
  /** What the model computes (the manifest's outputs), then what the server derives (served-outputs.ts). */
  readonly outputs: ServedOutput[];
  readonly classNames?: string[];
  /** A tabular model's column names, in input order (TF Serving's classify takes examples by them). */
  readonly features?: string[];
  private readonly derived: Derivation;
  readonly manifestSha256: string;
  readonly createdAt: string;
  readonly drift?: DriftMonitor;
  private readonly modelOutputs: TensorSpec[];
  /** How the backend this version runs on was chosen (set by the holder once loaded). */
  backend: BackendChoice | undefined;
  private readonly pre: Preprocessor;
  private readonly batcher: MicroBatcher<TensorValues, OutputTensor[]>;
  private inFlight = 0;
  /** The last batch's preprocessed input, reused by the next batch of the same size. */
  private inputBuffer: Float32Array | undefined;
  private drained: Array<() => void> = [];

  private constructor(
    artifact: LoadedArtifact,
    private readonly model: tf.LayersModel,
    private readonly opts: ServingModelOptions,
  ) {
    const m = artifact.manifest;
    this.name = opts.name;
    this.version = m.version;
    this.uri = artifact.uri;
    this.task = m.task as Task;
    this.manifestSha256 = artifact.manifestSha256;
    this.createdAt = m.createdAt;
    if (m.inputs.length !== 1) {
      throw new ServeError(
        'Internal',
        `${artifact.uri}: the manifest lists ${m.inputs.length} inputs; this server serves single-input models`,
      );
    }
    this.input = m.inputs[0] as TensorSpec;
    this.modelOutputs = m.outputs as TensorSpec[];
    if (model.outputs.length !== this.modelOutputs.length) {
      throw new ServeError(
        'Internal',
        `${artifact.uri}: model.json has ${model.outputs.length} outputs but the manifest lists ${this.modelOutputs.length}`,
      );
    }
    const { classNames, anomaly } = artifact.preprocessing.output;
    if (classNames) this.classNames = classNames;
    this.derived = derivation({
      task: this.task,
      input: this.input,
      modelOutputs: this.modelOutputs,
      ...(classNames ? { classNames } : {}),
      ...(anomaly ? { anomaly } : {}),
    });
    this.outputs = this.derived.outputs;
    const inputPre = artifact.preprocessing.input as InputPreprocessing;
    if (inputPre.kind === 'tabular') this.features = inputPre.features;
    this.pre = new Preprocessor(inputPre, this.input.shape.slice(1));

    if (artifact.profile && artifact.profile.features.length + (artifact.profile.predictions ? 1 : 0) > 0) {
      const extractor = featureExtractor(
        inputPre,
        artifact.profile.features.map((f) => f.name),
      );
      for (const s of extractor.skipped)
        opts.log.warn({ feature: s.name, reason: s.reason }, 'drift: profile feature not monitored');
      this.drift = new DriftMonitor(artifact.profile, extractor, opts.drift);
    }

    const version = this.version;
    this.batcher = new MicroBatcher(
      opts.batch,
      (inputs, rows) => this.runBatch(inputs, rows),
      (rows, requests) => {
        opts.metrics.batchRows.observe({ version }, rows);
        opts.metrics.batchRequests.observe({ version }, requests);
      },
    );
  }

  static async load(artifact: LoadedArtifact, opts: ServingModelOptions): Promise<ServingModel> {
    const model = await tf.loadLayersModel(loadModelHandler(artifact));
    try {
      const serving = new ServingModel(artifact, model, opts);
      await serving.warmUp();
      return serving;
    } catch (err) {
      model.dispose();
      throw err;
    }
  }

  /** Queues rows for the next batch; resolves with exactly these rows' outputs. */
  async predict(values: TensorValues, rows: number): Promise<OutputTensor[]> {
    this.inFlight++;
    try {
      return await this.batcher.submit(values, rows);
    } catch (err) {
      if (err instanceof ServeError) throw err;
      throw new ServeError(
        'PredictFailed',
        `prediction failed: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    } finally {
      if (--this.inFlight === 0) for (const wake of this.drained.splice(0)) wake();
    }
  }

  /** Resolves when no request is using this version any more (for a reload's swap). */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  /** A newer version took over (or the server stops): run queued requests now instead of waiting for more. */
  retire(): void {
    this.batcher.retire();
  }

  dispose(): void {
    this.model.dispose();
  }

  /** One prediction through the whole path, so the first client does not pay for kernel setup. */
  private async warmUp(): Promise<void> {
    await this.compute(this.warmUpBatch(1), 1);
  }

  /** `rows` rows of zeros (empty strings for a text input), any-size dimensions taken as 1. */
  private warmUpBatch(rows: number): TensorValues {
    const rowSize = elementCount(this.input.shape.slice(1).map((d) => (d < 0 ? 1 : d)));
    return this.input.datatype === 'BYTES'
      ? new Array<string>(rows).fill('')
      : new Float32Array(rows * rowSize);
  }

  /**
   * Median seconds of one compute of `rows` warm-up rows on the active backend (the first call,
   * which sets up kernels for this size, is not counted), for the backend choice.
   */
  async timeCompute(rows: number): Promise<number> {
    const values = this.warmUpBatch(rows);
    await this.compute(values, rows);
    const times: number[] = [];
    const started = performance.now();
    while (
      times.length < MIN_TIMED_CALLS ||
      (performance.now() - started < TIMING_BUDGET_MS && times.length < MAX_TIMED_CALLS)
    ) {
      const t0 = performance.now();
      await this.compute(values, rows);
      times.push((performance.now() - t0) / 1000);
    }
    times.sort((a, b) => a - b);
    return times[times.length >> 1] as number;
  }

  private async runBatch(inputs: TensorValues[], rows: number[]): Promise<OutputTensor[][]> {
    const total = rows.reduce((s, r) => s + r, 0);
    const values = concatValues(inputs);
    const end = this.opts.metrics.predictDuration.startTimer({ version: this.version });
    const { outputs, scores } = await this.compute(values, total);
    end();
    if (this.drift) {
      const features = this.drift.extractor.extract(values, total);
      this.drift.observe(features, total, scores);
    }
    // Hand each request exactly its own rows, in submission order.
    const results: OutputTensor[][] = [];
    let row = 0;
    for (const n of rows) {
      results.push(
        outputs.map((o) => {
          const size = elementCount(o.rowShape);
          const values = o.values.slice(row * size, (row + n) * size) as OutputValues;
          return { spec: o.spec, rowShape: o.rowShape, values };
        }),
      );
      row += n;
    }
    return results;
  }

  /** Preprocess, predict; plus one drift score per row (class index, value, or reconstruction error). */
  private async compute(
    values: TensorValues,
    rows: number,
  ): Promise<{ outputs: OutputTensor[]; scores: Float64Array }> {
    // The scaled input goes into one buffer per model instead of a new one per batch: batches run
    // one at a time and the tensor made from it is disposed before compute returns. Each new
    // 100 KB array is external memory that V8 collects with scavenges and, once some survive,
    // with back-to-back full collections (docs/benchmarks.md, "Accounting for the gap").
    // Taken while in use and given back at the end, so a compute that ever overlapped another
    // would allocate its own instead of overwriting one still being read.
    const reusable = this.inputBuffer;
    this.inputBuffer = undefined;
    const input = this.pre.apply(values, rows, reusable);
    const tensors = tf.tidy(() => {
      const x = tf.tensor(input.values, input.shape, input.dtype);
      return forward(this.model, x);
    });
    try {
      const computed = new Map<string, OutputTensor>();
      for (let i = 0; i < tensors.length; i++) {
        const t = tensors[i] as tf.Tensor;
        const data = (await t.data()) as Float32Array;
        const spec = this.modelOutputs[i] as TensorSpec;
        computed.set(spec.name, { spec, rowShape: t.shape.slice(1), values: Float32Array.from(data) });
      }
      const first = computed.get((this.modelOutputs[0] as TensorSpec).name) as OutputTensor;
      const scores = this.scores(first.values as Float32Array, input.values, rows);
      for (const [name, values] of this.derived.derive(scores, rows)) {
        const spec = this.outputs.find((o) => o.name === name) as ServedOutput;
        computed.set(name, { spec, rowShape: [], values });
      }
      // In the served order (served-outputs.ts), so answers list outputs as the metadata does.
      return { outputs: this.outputs.map((o) => computed.get(o.name) as OutputTensor), scores };
    } finally {
      for (const t of tensors) t.dispose();
      if (input.values instanceof Float32Array) this.inputBuffer = input.values;
    }
  }

  private scores(out: Float32Array, input: Float32Array | Int32Array, rows: number): Float64Array {
    const scores = new Float64Array(rows);
    const size = out.length / rows;
    for (let r = 0; r < rows; r++) {
      const row = out.subarray(r * size, (r + 1) * size);
      if (this.task === 'classification') {
        if (size === 1) {
          scores[r] = (row[0] as number) >= 0.5 ? 1 : 0; // a sigmoid unit: class 1 above 0.5
        } else {
          let best = 0;
          for (let k = 1; k < size; k++) if ((row[k] as number) > (row[best] as number)) best = k;
          scores[r] = best;
        }
      } else if (this.task === 'anomaly' && input.length === out.length) {
        let s = 0;
        for (let k = 0; k < size; k++) s += ((row[k] as number) - (input[r * size + k] as number)) ** 2;
        scores[r] = s / size;
      } else {
        scores[r] = row[0] as number;
      }
    }
    return scores;
  }
}
