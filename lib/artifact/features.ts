// The preprocessing rules that training and serving must apply identically, in one place: the
// text tokenizer, and the summary features that profile.json records for images and texts (the
// drift monitor recomputes them from live rows). The trainer and the model server both import
// this module, so they cannot drift apart.

/** Runs of letters and digits; apostrophes inside a word are kept ("don't"). */
const WORD = /[\p{L}\p{N}]+(?:'[\p{L}\p{N}]+)*/gu;
export const PAD = '<pad>';
export const UNK = '<unk>';

/** Word tokens of a text, lowercased first when `lowercase` (the default). */
export function tokenize(text: string, lowercase = true): string[] {
  return (lowercase ? text.toLowerCase() : text).match(WORD) ?? [];
}

/** Token ids of one text, cut to maxLength (keeping the first tokens) and padded with <pad> = 0. */
export function encodeTokens(
  tokens: readonly string[],
  index: ReadonlyMap<string, number>,
  maxLength: number,
): Int32Array {
  const out = new Int32Array(maxLength);
  const n = Math.min(tokens.length, maxLength);
  for (let i = 0; i < n; i++) out[i] = index.get(tokens[i]!) ?? 1;
  return out;
}

export function vocabularyIndex(vocabulary: readonly string[]): Map<string, number> {
  return new Map(vocabulary.map((w, i) => [w, i]));
}

/** A summary of one image: `row` holds its raw pixels, `scale` the artifact's imageScale. */
export type ImageSummary = (row: ArrayLike<number>, scale: number) => number;

// The drift monitor computes these for every served image, so they are written for speed: four
// running sums, because one sum makes every addition wait for the previous one (the loop ran at
// the adder's latency, not its throughput); they round differently from one sum in the last bits
// only. The ink count adds comparisons instead of branching on them, because inked and blank
// pixels alternate too irregularly for the branch predictor.
const meanIntensity: ImageSummary = (row, scale) => {
  const n = row.length;
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    a += row[i]!;
    b += row[i + 1]!;
    c += row[i + 2]!;
    d += row[i + 3]!;
  }
  for (; i < n; i++) a += row[i]!;
  return n ? (a + b + c + d) / n / scale : 0;
};

export const IMAGE_SUMMARIES: Readonly<Record<string, ImageSummary>> = {
  mean_intensity: meanIntensity,
  /** Share of "ink": scaled pixels brighter than one half. */
  ink_fraction: (row, scale) => {
    let n = 0;
    for (let i = 0; i < row.length; i++) n += Number(row[i]! / scale > 0.5);
    return row.length ? n / row.length : 0;
  },
  std_intensity: (row, scale) => {
    const m = meanIntensity(row, scale);
    let s = 0;
    for (let i = 0; i < row.length; i++) s += (row[i]! / scale - m) ** 2;
    return row.length ? Math.sqrt(s / row.length) : 0;
  },
};

/** The image summaries the trainer records in profile.json. */
export const PROFILED_IMAGE_SUMMARIES = ['mean_intensity', 'ink_fraction'] as const;

export const TEXT_SUMMARIES: Readonly<Record<string, (text: string, lowercase: boolean) => number>> = {
  token_count: (text, lowercase) => tokenize(text, lowercase).length,
  char_count: (text) => text.length,
};
