// The text tokenizer. The model server applies the same steps from preprocessing.json, so the
// rules are deliberately simple: lowercase, split into runs of letters/digits (apostrophes inside
// a word are kept), map to vocabulary indices with <pad> = 0 and <unk> = 1, then cut to maxLength
// tokens (keeping the first ones) and pad at the end with <pad>.
export const PAD = '<pad>';
export const UNK = '<unk>';

const WORD = /[\p{L}\p{N}]+(?:'[\p{L}\p{N}]+)*/gu;

export function tokenize(text: string, lowercase = true): string[] {
  return (lowercase ? text.toLowerCase() : text).match(WORD) ?? [];
}

/**
 * The vocabulary: <pad>, <unk>, then the most frequent words (ties broken alphabetically so the
 * result does not depend on the order of the texts), `size` entries in all.
 */
export function buildVocabulary(texts: Iterable<string[]>, size: number): string[] {
  const counts = new Map<string, number>();
  for (const tokens of texts) for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  const words = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, Math.max(0, size - 2))
    .map(([w]) => w);
  return [PAD, UNK, ...words];
}

/** Token ids of one text, cut or padded to maxLength. */
export function encode(tokens: string[], index: ReadonlyMap<string, number>, maxLength: number): Int32Array {
  const out = new Int32Array(maxLength); // zero-filled: <pad>
  const n = Math.min(tokens.length, maxLength);
  for (let i = 0; i < n; i++) out[i] = index.get(tokens[i]!) ?? 1;
  return out;
}

export function vocabularyIndex(vocabulary: readonly string[]): Map<string, number> {
  return new Map(vocabulary.map((w, i) => [w, i]));
}
