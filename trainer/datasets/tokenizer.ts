// The text tokenizer. Tokenizing and encoding are shared with the model server
// (lib/artifact/features.ts); building the vocabulary happens only at training time.
import { PAD, UNK } from '../../lib/artifact/features.ts';

export { encodeTokens as encode, PAD, tokenize, UNK, vocabularyIndex } from '../../lib/artifact/features.ts';

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
