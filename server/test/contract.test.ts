// The server recomputes, from raw client inputs, what the trainer computed from raw training data:
// token ids and the image summary features of profile.json. These tests pin the two
// implementations together (the server cannot import the trainer at runtime).
import { describe, expect, it } from 'vitest';
import { encode, tokenize as trainerTokenize, vocabularyIndex } from '../../trainer/datasets/tokenizer.ts';
import { imageSummaries } from '../../trainer/profile.ts';
import { featureExtractor } from '../drift/features.ts';
import { Preprocessor, tokenize } from '../model/preprocess.ts';
import { images } from './fixtures.ts';

const texts = [
  'Good movie!',
  "Don't watch it... it's AWFUL",
  'naïve café — 2nd time; rock’n’roll',
  '',
  '   spaces\tand\nnewlines  ',
  "o'clock ''quoted'' rock'n'roll 'tis",
  'ÉCOLE école Straße 123abc',
];

describe('the server and the trainer agree on', () => {
  it.each(texts)('the tokens of %j', (text) => {
    expect(tokenize(text, true)).toEqual(trainerTokenize(text, true));
    expect(tokenize(text, false)).toEqual(trainerTokenize(text, false));
  });

  it('the token ids, padding and truncation', () => {
    const vocabulary = ['<pad>', '<unk>', 'good', 'movie', "don't", 'it', 'awful'];
    const pre = new Preprocessor({ kind: 'text', vocabulary, maxLength: 4, lowercase: true }, [-1]);
    const got = pre.apply(texts, texts.length);
    const index = vocabularyIndex(vocabulary);
    const want = texts.flatMap((t) => Array.from(encode(trainerTokenize(t, true), index, 4)));
    expect(Array.from(got.values)).toEqual(want);
  });

  it('the image summary features', () => {
    const batch = images(20, 5, 10);
    const raw = Float32Array.from(batch.flat(3));
    const size = raw.length / batch.length;
    const trainer = imageSummaries(
      Float32Array.from(raw, (v) => v / 255),
      size,
    );
    const extractor = featureExtractor(
      { kind: 'image', imageScale: 255 },
      trainer.map((c) => c.name),
    );
    expect(extractor.skipped).toEqual([]);
    const server = extractor.extract(raw, batch.length);
    trainer.forEach((column, f) => {
      for (let r = 0; r < batch.length; r++) {
        expect(server[r * trainer.length + f]).toBeCloseTo(column.values[r]!, 6);
      }
    });
  });
});
