// Which numbers per input row the drift monitor watches. Tabular inputs: the raw columns. Images
// and text have too many raw values to watch one by one, so profile.json names summary features
// and this module computes the same summaries from live rows. A profile feature the server cannot
// compute is reported at load (and left out) rather than silently compared with garbage.

import { IMAGE_SUMMARIES, type ImageSummary, TEXT_SUMMARIES } from '../../lib/artifact/features.ts';
import type { InputPreprocessing } from '../model/preprocess.ts';
import type { TensorValues } from '../model/tensor.ts';

export interface FeatureExtractor {
  /** The profile features this extractor computes, in output column order. */
  names: string[];
  /** Profile features that were left out, with the reason. */
  skipped: Array<{ name: string; reason: string }>;
  /** rows × names.length values, row-major. */
  extract(values: TensorValues, rows: number): Float64Array;
}

export function featureExtractor(pre: InputPreprocessing, profileNames: readonly string[]): FeatureExtractor {
  const skipped: FeatureExtractor['skipped'] = [];
  if (pre.kind === 'tabular') {
    const columns = pre.features ?? profileNames;
    const picked: Array<{ name: string; col: number }> = [];
    for (const name of profileNames) {
      const col = columns.indexOf(name);
      if (col < 0) skipped.push({ name, reason: 'not a column of preprocessing.json input.features' });
      else picked.push({ name, col });
    }
    const width = columns.length;
    return {
      names: picked.map((p) => p.name),
      skipped,
      extract(values, rows) {
        const raw = values as Float32Array;
        const out = new Float64Array(rows * picked.length);
        for (let r = 0; r < rows; r++) {
          for (let f = 0; f < picked.length; f++)
            out[r * picked.length + f] = raw[r * width + picked[f]!.col] as number;
        }
        return out;
      },
    };
  }
  if (pre.kind === 'image') {
    const scale = pre.imageScale && pre.imageScale > 0 ? pre.imageScale : 1;
    const picked: Array<{ name: string; fn: ImageSummary }> = [];
    for (const name of profileNames) {
      const fn = IMAGE_SUMMARIES[name];
      if (fn) picked.push({ name, fn });
      else
        skipped.push({
          name,
          reason: `unknown image summary feature (known: ${Object.keys(IMAGE_SUMMARIES).join(', ')})`,
        });
    }
    return {
      names: picked.map((p) => p.name),
      skipped,
      extract(values, rows) {
        const raw = values as Float32Array;
        const size = raw.length / rows;
        const out = new Float64Array(rows * picked.length);
        for (let r = 0; r < rows; r++) {
          const row = raw.subarray(r * size, (r + 1) * size);
          for (let f = 0; f < picked.length; f++) out[r * picked.length + f] = picked[f]!.fn(row, scale);
        }
        return out;
      },
    };
  }
  const picked: Array<{ name: string; fn: (t: string, lc: boolean) => number }> = [];
  for (const name of profileNames) {
    const fn = TEXT_SUMMARIES[name];
    if (fn) picked.push({ name, fn });
    else
      skipped.push({
        name,
        reason: `unknown text summary feature (known: ${Object.keys(TEXT_SUMMARIES).join(', ')})`,
      });
  }
  const lowercase = pre.lowercase ?? true;
  return {
    names: picked.map((p) => p.name),
    skipped,
    extract(values, rows) {
      const texts = values as string[];
      const out = new Float64Array(rows * picked.length);
      for (let r = 0; r < rows; r++) {
        for (let f = 0; f < picked.length; f++)
          out[r * picked.length + f] = picked[f]!.fn(texts[r] as string, lowercase);
      }
      return out;
    },
  };
}
