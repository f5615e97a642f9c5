// The artifact's preprocessing.json applied to raw client inputs, so clients send raw features,
// pixel values or text, exactly as the training data looked before the trainer transformed it.

import { tokenize } from '../../lib/artifact/features.ts';
import { ServeError } from '../errors.ts';
import type { TensorValues } from './tensor.ts';

/** preprocessing.json's "input" section (docs/artifact.md). */
export interface InputPreprocessing {
  kind: 'tabular' | 'image' | 'text';
  features?: string[];
  normalization?: { mean: number[]; std: number[] } | null;
  imageScale?: number;
  vocabulary?: string[];
  maxLength?: number;
  lowercase?: boolean;
}

export interface ModelInput {
  dtype: 'float32' | 'int32';
  values: Float32Array | Int32Array;
  /** Batch included. */
  shape: number[];
}

export { tokenize };

export class Preprocessor {
  readonly kind: InputPreprocessing['kind'];
  private readonly mean?: Float32Array;
  private readonly invStd?: Float32Array;
  private readonly vocab?: Map<string, number>;
  private readonly unk: number;
  private readonly pad: number;

  constructor(
    private readonly spec: InputPreprocessing,
    /** The model's input shape per row (no batch dimension) as the artifact records it. */
    private readonly rowShape: readonly number[],
  ) {
    this.kind = spec.kind;
    if (spec.kind === 'tabular' && spec.normalization) {
      const { mean, std } = spec.normalization;
      if (mean.length !== std.length)
        throw new Error('preprocessing.json: normalization mean and std differ in length');
      this.mean = Float32Array.from(mean);
      // A constant training column has std 0: leave it centred rather than dividing by zero.
      this.invStd = Float32Array.from(std, (s) => (s > 0 && Number.isFinite(s) ? 1 / s : 1));
    }
    if (spec.kind === 'text') {
      if (!spec.vocabulary || !spec.maxLength)
        throw new Error('preprocessing.json: text input needs vocabulary and maxLength');
      this.vocab = new Map(spec.vocabulary.map((w, i) => [w, i]));
      this.pad = this.vocab.get('<pad>') ?? 0;
      this.unk = this.vocab.get('<unk>') ?? 1;
    } else {
      this.pad = 0;
      this.unk = 1;
    }
  }

  /**
   * Raw values of `rows` rows → the tensor the model was trained on. Numeric inputs are written
   * into `into` when it has their length (the caller's reusable buffer), else into a new array.
   */
  apply(values: TensorValues, rows: number, into?: Float32Array): ModelInput {
    if (this.spec.kind === 'text') return this.encodeText(values as string[], rows);
    const raw = values as Float32Array;
    const out = into?.length === raw.length ? into : new Float32Array(raw.length);
    if (this.spec.kind === 'image') {
      const scale = this.spec.imageScale && this.spec.imageScale > 0 ? this.spec.imageScale : 1;
      for (let i = 0; i < raw.length; i++) out[i] = (raw[i] as number) / scale;
    } else if (this.mean && this.invStd) {
      const width = this.mean.length;
      if (raw.length !== rows * width) {
        throw new ServeError('InvalidShape', `expected ${width} features per row, got ${raw.length / rows}`);
      }
      for (let i = 0; i < raw.length; i++) {
        const f = i % width;
        out[i] = ((raw[i] as number) - (this.mean[f] as number)) * (this.invStd[f] as number);
      }
    } else {
      out.set(raw);
    }
    return {
      dtype: 'float32',
      values: out,
      shape: [rows, ...this.rowShape.map((d) => (d < 0 ? raw.length / rows : d))],
    };
  }

  /** Token ids, truncated or padded at the end to maxLength. */
  private encodeText(texts: string[], rows: number): ModelInput {
    const len = this.spec.maxLength as number;
    const vocab = this.vocab as Map<string, number>;
    const out = new Int32Array(rows * len).fill(this.pad);
    for (let r = 0; r < rows; r++) {
      const tokens = tokenize(texts[r] as string, this.spec.lowercase ?? true);
      const n = Math.min(tokens.length, len);
      for (let t = 0; t < n; t++) out[r * len + t] = vocab.get(tokens[t] as string) ?? this.unk;
    }
    return { dtype: 'int32', values: out, shape: [rows, len] };
  }
}
