// The server recomputes, from raw client inputs, what the trainer computed from raw training data:
// token ids, the image summary features of profile.json, and the bins of those features. These
// tests feed the same data through the trainer's code and the server's and compare the results.
import { describe, expect, it } from 'vitest';
import { type DataProfile, FILES } from '../../api/artifact.ts';
import { decodeEdges } from '../../lib/artifact/binning.ts';
import { validateFile } from '../../lib/artifact/validate.ts';
import { encode, tokenize as trainerTokenize, vocabularyIndex } from '../../trainer/datasets/tokenizer.ts';
import { binnedPredictions, featureProfile, imageSummaries } from '../../trainer/profile.ts';
import { seededRandom } from '../../trainer/random.ts';
import { featureExtractor } from '../drift/features.ts';
import { DriftMonitor, type DriftReport } from '../drift/monitor.ts';
import { Preprocessor } from '../model/preprocess.ts';
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

// Training columns with what binning must get right: NaN, values far outside the bulk of the
// data, and (quantile edges being data values) values exactly on every edge; `decimals` repeats
// values like 0.7 that float32 cannot hold exactly, as served FP32 inputs hold them.
const FEATURES = ['decimals', 'wide'];
const ROWS = 400;
function trainingColumns(): Float64Array[] {
  const rand = seededRandom(7);
  const nan = (v: number) => (rand() < 0.05 ? Number.NaN : v);
  const decimals = Float64Array.from({ length: ROWS }, () => nan(Math.round(1 + rand() * 24) / 10));
  const wide = Float64Array.from({ length: ROWS }, (_, r) =>
    r === 3 ? -1e9 : r === 11 ? 1e9 : nan(Math.round(rand() * 1000) - 500),
  );
  return [decimals, wide];
}

/** profile.json as the trainer writes it and the server reads it back. */
function trainerProfile(columns: Float64Array[], predictions: Float64Array): DataProfile {
  const profile: DataProfile = {
    features: FEATURES.map((name, f) => featureProfile({ name, values: columns[f]! })),
    predictions: binnedPredictions(predictions),
  };
  return validateFile('file:///contract/', FILES.profile, JSON.parse(JSON.stringify(profile)));
}

/** The server's drift window after it served `rows` (FP32 inputs, as the server decodes them). */
function serverWindow(
  profile: DataProfile,
  columns: Float64Array[],
  predictions: Float64Array,
  withSample = true,
): DriftReport {
  const features = withSample ? profile.features : profile.features.map(({ sample: _, ...f }) => f);
  const extractor = featureExtractor({ kind: 'tabular', features: FEATURES, normalization: null }, FEATURES);
  const monitor = new DriftMonitor({ ...profile, features }, extractor, {
    windowSize: 2 * ROWS,
    minSamples: 1,
    psiThreshold: 0.2,
    ksPValueThreshold: 0.05,
  });
  const rows = columns[0]!.length;
  const inputs = new Float32Array(rows * FEATURES.length);
  for (let r = 0; r < rows; r++)
    for (let f = 0; f < FEATURES.length; f++) inputs[r * FEATURES.length + f] = columns[f]![r]!;
  monitor.observe(extractor.extract(inputs, rows), rows, Float64Array.from(Float32Array.from(predictions)));
  return monitor.report();
}

describe("the trainer's profile and the server's drift window agree on", () => {
  const columns = trainingColumns();
  const predictions = Float64Array.from(columns[0]!, (v, r) => (r % 17 === 0 ? Number.NaN : v * 3 - 1));
  const profile = trainerProfile(columns, predictions);

  it('training data that has NaN, outliers and values exactly on every edge', () => {
    profile.features.forEach((p, f) => {
      const values = Array.from(columns[f]!, Math.fround);
      const inner = decodeEdges(p.edges).slice(1, -1).map(Math.fround);
      expect(values.some(Number.isNaN)).toBe(true);
      expect(inner.length).toBeGreaterThan(3);
      for (const e of inner) expect(values).toContain(e);
      expect(Math.min(...values.filter((v) => !Number.isNaN(v)))).toBeLessThan(inner[0]!);
      expect(Math.max(...values.filter((v) => !Number.isNaN(v)))).toBeGreaterThan(inner.at(-1)!);
    });
  });

  it.each([
    ['with the reference sample (two-sample KS)', true],
    ['without a reference sample (KS at the bin edges)', false],
  ])('identical data: the same bin counts, PSI 0 and KS p-value 1, %s', (_name, withSample) => {
    const report = serverWindow(profile, columns, predictions, withSample);
    expect(report.features.map((f) => f.name)).toEqual(FEATURES);
    report.features.forEach((f, i) => {
      expect(f.windowCounts).toEqual(profile.features[i]!.counts);
      expect(f.psi).toBeCloseTo(0, 12);
      expect(f.ks.statistic).toBeCloseTo(0, 12);
      expect(f.ks.pValue).toBeCloseTo(1, 9);
    });
    expect(report.predictions?.windowCounts).toEqual(profile.predictions?.counts);
    expect(report.predictions?.psi).toBeCloseTo(0, 12);
  });

  const edges = decodeEdges(profile.features[1]!.edges);
  const last = edges.length - 2;
  it.each([
    ['a value below every training value counts in the first bin', -1e12, 0],
    ['a value above every training value counts in the last bin', 1e12, last],
    ['a value exactly on an inner edge counts in the bin above it', edges[2]!, 2],
    ['a value just under an inner edge counts in the bin below it', edges[2]! - 0.5, 1],
    ['NaN counts in no bin', Number.NaN, -1],
  ])('one more live value than the training rows: %s', (_name, v, bin) => {
    const live = columns.map((c) => Float64Array.from([...c, v]));
    const report = serverWindow(profile, live, Float64Array.from([...predictions, 0]));
    const want = [...profile.features[1]!.counts];
    if (bin >= 0) want[bin]! += 1;
    expect(report.features[1]!.windowCounts).toEqual(want);
  });
});
