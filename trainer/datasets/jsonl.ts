// Text: one JSON object per line with a text field and a label. The vocabulary comes from the
// training split only, like every other statistic.
import type { DatasetSpec } from '../../api/training.ts';
import { parseJSON } from '../../lib/json.ts';
import { encodeClasses } from './classes.ts';
import { type DatasetFormat, invalid, type LoadOptions, type Part, type PreparedDataset } from './format.ts';
import { splitIndices, take } from './split.ts';
import { buildVocabulary, encode, tokenize, vocabularyIndex } from './tokenizer.ts';

export const jsonl: DatasetFormat<'jsonl'> = {
  name: 'jsonl',
  load: async (store, spec, opts) => prepareJsonl((await store.get(spec.uri)).toString('utf8'), spec, opts),
};

export function prepareJsonl(text: string, spec: DatasetSpec, opts: LoadOptions): PreparedDataset {
  const file = spec.uri;
  const field = spec.textField;
  const label = spec.label!;
  const texts: string[] = [];
  const labels: string[] = [];
  const lineNumbers: number[] = [];
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    if (line.trim() === '') continue;
    let obj: unknown;
    try {
      obj = parseJSON(line);
    } catch (err) {
      throw invalid(`${file}: line ${i + 1}: ${(err as Error).message}`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      throw invalid(`${file}: line ${i + 1}: expected a JSON object`);
    }
    const record = obj as Record<string, unknown>;
    const t = record[field];
    if (typeof t !== 'string')
      throw invalid(`${file}: line ${i + 1}: field "${field}" is ${describe(t)}, expected a string`);
    const l = record[label];
    if (typeof l !== 'string' && typeof l !== 'number' && typeof l !== 'boolean') {
      throw invalid(
        `${file}: line ${i + 1}: label field "${label}" is ${describe(l)}, expected a string, number or boolean`,
      );
    }
    texts.push(t);
    labels.push(String(l));
    lineNumbers.push(i + 1);
  }
  const n = texts.length;
  if (n < 2) throw invalid(`${file}: ${n} records; need at least 2 (training and validation)`);
  const { classNames, classes } = encodeClasses(
    labels,
    (r) => `${file}: line ${lineNumbers[r]}`,
    `field "${label}"`,
  );
  const tokens = texts.map((t) => tokenize(t, true));
  const split = splitIndices(n, opts.validationSplit, opts.seed);
  // The vocabulary comes from the training split only, like every other statistic.
  const vocabulary = buildVocabulary(take(tokens, split.train), spec.vocabularySize);
  const index = vocabularyIndex(vocabulary);
  const maxLength = spec.maxLength;
  const part = (idx: Uint32Array): Part => {
    const x = new Float32Array(idx.length * maxLength);
    for (let i = 0; i < idx.length; i++) x.set(encode(tokens[idx[i]!]!, index, maxLength), i * maxLength);
    return { n: idx.length, x, classes: Int32Array.from(take(classes, idx)) };
  };
  return {
    kind: 'text',
    sampleShape: [maxLength],
    train: part(split.train),
    validation: part(split.validation),
    classNames,
    input: { kind: 'text', vocabulary, maxLength, lowercase: true },
    profileColumns: [
      { name: 'token_count', values: Float64Array.from(split.train, (r) => tokens[r]!.length) },
    ],
  };
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  return Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}
