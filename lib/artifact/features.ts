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

const meanIntensity: ImageSummary = (row, scale) => {
  let s = 0;
  for (let i = 0; i < row.length; i++) s += row[i]!;
  return row.length ? s / row.length / scale : 0;
};

export const IMAGE_SUMMARIES: Readonly<Record<string, ImageSummary>> = {
  mean_intensity: meanIntensity,
  /** Share of "ink": scaled pixels brighter than one half. */
  ink_fraction: (row, scale) => {
    let n = 0;
    for (let i = 0; i < row.length; i++) if (row[i]! / scale > 0.5) n++;
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
