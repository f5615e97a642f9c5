import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DATASET_FORMATS, type DatasetSpec } from '../../api/training.ts';
import { TrainerError } from '../errors.ts';
import { augmentImages } from './augment.ts';
import { encodeClasses } from './classes.ts';
import { parseCsv, prepareCsv } from './csv.ts';
import { encodeIdxUint8, parseIdx } from './idx.ts';
import { datasetFormats } from './index.ts';
import { prepareJsonl } from './jsonl.ts';
import { prepareImages } from './mnist-idx.ts';
import { applyNormalization, computeNormalization } from './normalize.ts';
import { splitIndices } from './split.ts';
import { buildVocabulary, encode, tokenize, vocabularyIndex } from './tokenizer.ts';

function errorOf(f: () => unknown): TrainerError {
  try {
    f();
  } catch (err) {
    if (err instanceof TrainerError) return err;
    throw err;
  }
  throw new Error('expected a TrainerError');
}

const spec = (over: Partial<DatasetSpec>): DatasetSpec => ({
  format: 'csv',
  uri: 's3://data/set.csv',
  textField: 'text',
  vocabularySize: 100,
  maxLength: 5,
  normalize: true,
  ...over,
});

describe('the dataset format registry', () => {
  it('has one entry per format of the CRD enum, each under its own name', () => {
    expect(Object.keys(datasetFormats).sort()).toEqual([...DATASET_FORMATS].sort());
    for (const [key, format] of Object.entries(datasetFormats)) expect(format.name).toBe(key);
  });
});

describe('parseIdx', () => {
  const images = encodeIdxUint8([2, 2, 3], [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
  it.each([
    ['reads a plain IDX file', images],
    ['reads a gzip-compressed IDX file', gzipSync(images)],
  ])('%s', (_name, bytes) => {
    const idx = parseIdx(bytes, 'f');
    expect(idx.shape).toEqual([2, 2, 3]);
    expect(Array.from(idx.data)).toEqual([0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
  });

  it('reads big-endian int32 values', () => {
    const b = Buffer.alloc(4 + 4 + 8);
    b[2] = 0x0c;
    b[3] = 1;
    b.writeUInt32BE(2, 4);
    b.writeInt32BE(-5, 8);
    b.writeInt32BE(70000, 12);
    expect(Array.from(parseIdx(b, 'f').data)).toEqual([-5, 70000]);
  });

  it.each([
    ['a file shorter than the header', Buffer.from([0, 0]), /only 2 bytes/],
    ['a wrong magic number', Buffer.from([1, 0, 8, 1, 0, 0, 0, 0]), /two zero bytes/],
    ['an unknown type code', Buffer.from([0, 0, 0x42, 1, 0, 0, 0, 0]), /unknown data type 0x42/],
    [
      'a body shorter than the shape needs',
      encodeIdxUint8([3], [1, 2, 3]).subarray(0, 10),
      /needs 11 bytes, the file has 10/,
    ],
    ['corrupt gzip data', Buffer.from([0x1f, 0x8b, 1, 2, 3]), /gzip data is corrupt/],
  ])('rejects %s', (_name, bytes, message) => {
    const err = errorOf(() => parseIdx(bytes, 's3://d/train-images-idx3-ubyte'));
    expect(err.code).toBe('InvalidDataset');
    expect(err.message).toMatch(/^s3:\/\/d\/train-images-idx3-ubyte: not an IDX file/);
    expect(err.message).toMatch(message);
  });
});

describe('parseCsv', () => {
  it.each([
    [
      'simple rows',
      'a,b\n1,2\n3,4\n',
      [
        ['1', '2'],
        ['3', '4'],
      ],
      [2, 3],
    ],
    [
      'CRLF line ends and no final newline',
      'a,b\r\n1,2\r\n3,4',
      [
        ['1', '2'],
        ['3', '4'],
      ],
      [2, 3],
    ],
    [
      'quoted fields with commas, quotes and newlines',
      'a,b\n"x,y","say ""hi""\nthere"\n5,6\n',
      [
        ['x,y', 'say "hi"\nthere'],
        ['5', '6'],
      ],
      [2, 4],
    ],
    ['blank lines, skipped', 'a,b\n\n1,2\n\n', [['1', '2']], [3]],
    ['a byte order mark', '\ufeffa,b\n1,2\n', [['1', '2']], [2]],
  ])('parses %s', (_name, text, rows, lines) => {
    const t = parseCsv(text, 'f.csv');
    expect(t.header).toEqual(['a', 'b']);
    expect(t.rows).toEqual(rows);
    expect(t.lines).toEqual(lines);
  });

  it.each([
    ['an empty file', '', /the file is empty/],
    ['a row with too few fields (naming its line)', 'a,b\n1,2\n3\n', /line 3: 1 fields, the header has 2/],
    ['a duplicate column name', 'a,a\n1,2\n', /header columns 1 and 2 have the same name/],
    ['an unclosed quote', 'a,b\n"1,2\n', /line 2: a quoted field is not closed/],
  ])('rejects %s', (_name, text, message) => {
    expect(errorOf(() => parseCsv(text, 'f.csv')).message).toMatch(message);
  });
});

describe('prepareCsv', () => {
  const csv = [
    'x1,x2,label',
    ...Array.from({ length: 10 }, (_, i) => `${i},${i * 10},${i % 2 ? 'cat' : 'dog'}`),
  ].join('\n');
  const opts = { task: 'classification' as const, validationSplit: 0.2, seed: 7 };

  it('splits after a seeded shuffle and normalises with training statistics only', () => {
    const d = prepareCsv(csv, spec({ label: 'label' }), opts);
    expect(d.train.n).toBe(8);
    expect(d.validation.n).toBe(2);
    expect(d.classNames).toEqual(['cat', 'dog']);
    expect(d.sampleShape).toEqual([2]);
    const input = d.input as {
      kind: string;
      features: string[];
      normalization: { mean: number[]; std: number[] };
    };
    expect(input.features).toEqual(['x1', 'x2']);
    // The mean of the 8 training rows of x1, whatever they are, differs from the mean of all 10 (4.5) unless by chance.
    const trainX1 = Array.from(d.profileColumns[0]!.values);
    const mean = trainX1.reduce((a, b) => a + b, 0) / trainX1.length;
    expect(input.normalization.mean[0]).toBeCloseTo(mean, 6);
    // Normalised training columns have mean 0.
    const normalised = Array.from({ length: 8 }, (_, i) => d.train.x[i * 2]!);
    expect(normalised.reduce((a, b) => a + b, 0) / 8).toBeCloseTo(0, 5);
    // Same seed, same split; another seed, another split.
    expect(prepareCsv(csv, spec({ label: 'label' }), opts).profileColumns[0]!.values).toEqual(
      d.profileColumns[0]!.values,
    );
    expect(
      prepareCsv(csv, spec({ label: 'label' }), { ...opts, seed: 8 }).profileColumns[0]!.values,
    ).not.toEqual(d.profileColumns[0]!.values);
  });

  it('keeps regression targets as numbers and leaves them unnormalised', () => {
    const d = prepareCsv('a,y\n1,10\n2,20\n3,30\n4,40\n', spec({ label: 'y' }), {
      ...opts,
      task: 'regression',
      validationSplit: 0.25,
    });
    expect([...d.train.targets!, ...d.validation.targets!].sort((a, b) => a - b)).toEqual([10, 20, 30, 40]);
    expect(d.classNames).toBeUndefined();
  });

  it.each([
    [
      'a non-numeric feature, naming line and column (by position: only the header names it)',
      'a,y\n1,1\nabc,2\n',
      { label: 'y' },
      /line 3, column 1: not a finite number/,
    ],
    [
      'a non-numeric feature, naming line and column (by the name the spec gave it)',
      'b,a,y\n1,1,1\n2,abc,2\n',
      { label: 'y', features: ['a', 'b'] },
      /line 3, column "a": not a finite number/,
    ],
    ['an empty feature cell', 'a,y\n1,1\n,2\n', { label: 'y' }, /line 3, column 1: is empty/],
    [
      'a missing label column',
      'a,b\n1,2\n3,4\n',
      { label: 'y' },
      /label column "y" is not in the header \(2 columns\)/,
    ],
    [
      'a missing feature column',
      'a,y\n1,1\n2,2\n',
      { label: 'y', features: ['a', 'z'] },
      /feature column "z" is not in the header/,
    ],
    ['a single class', 'a,y\n1,x\n2,x\n', { label: 'y' }, /column "y" has only one class$/],
    ['a file with one data row', 'a,y\n1,x\n', { label: 'y' }, /1 data rows; need at least 2/],
  ])('rejects %s', (_name, text, over, message) => {
    const err = errorOf(() => prepareCsv(text, spec(over), opts));
    expect(err.code).toBe('InvalidDataset');
    expect(err.message).toMatch(message);
  });
});

describe('errors on a file holding a secret never quote it', () => {
  // What the storage credentials mount holds: one line, the secret itself.
  const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const classification = { task: 'classification' as const, validationSplit: 0.5, seed: 1 };
  const regression = { task: 'regression' as const, validationSplit: 0.5, seed: 1 };
  it.each([
    [
      'a CSV whose only line is the secret (no label column)',
      () => prepareCsv(SECRET, spec({ label: 'y' }), classification),
    ],
    ['a CSV whose header repeats the secret', () => parseCsv(`${SECRET},${SECRET}\n1,2\n`, 'f.csv')],
    [
      'a CSV whose feature cell is the secret',
      () => prepareCsv(`a,y\n1,1\n${SECRET},2\n`, spec({ label: 'y' }), classification),
    ],
    [
      'a CSV whose header names the secret as a feature',
      () => prepareCsv(`${SECRET},y\nx,1\n2,2\n`, spec({ label: 'y' }), classification),
    ],
    [
      'a CSV whose regression target is the secret',
      () => prepareCsv(`a,y\n1,1\n2,${SECRET}\n`, spec({ label: 'y' }), regression),
    ],
    [
      'a CSV whose only class is the secret',
      () => prepareCsv(`a,y\n1,${SECRET}\n2,${SECRET}\n`, spec({ label: 'y' }), classification),
    ],
    [
      'a JSONL file whose line is the secret',
      () => prepareJsonl(`${SECRET}\n${SECRET}\n`, spec({ format: 'jsonl', label: 'label' }), classification),
    ],
    [
      'a JSONL file whose only class is the secret',
      () =>
        prepareJsonl(
          `{"text":"a","label":"${SECRET}"}\n{"text":"b","label":"${SECRET}"}\n`,
          spec({ format: 'jsonl', label: 'label' }),
          classification,
        ),
    ],
  ])('%s', (_name, load) => {
    const err = errorOf(load);
    expect(err.code).toBe('InvalidDataset');
    expect(err.message).not.toContain(SECRET.slice(0, 8));
    expect(err.message).not.toContain('EXAMPLEKEY');
  });
});

describe('encodeClasses', () => {
  it.each([
    ['numeric labels in numeric order', ['10', '9', '2', '9'], ['2', '9', '10'], [2, 1, 0, 1]],
    ['text labels in lexicographic order', ['pos', 'neg', 'pos'], ['neg', 'pos'], [1, 0, 1]],
  ])('orders %s', (_name, labels, names, classes) => {
    const e = encodeClasses(labels, (r) => `f: line ${r + 2}`, 'y');
    expect(e.classNames).toEqual(names);
    expect(Array.from(e.classes)).toEqual(classes);
  });
});

describe('tokenizer', () => {
  it.each([
    ['lowercases and splits on punctuation', "Hello, World! It's 2024.", ['hello', 'world', "it's", '2024']],
    ['keeps letters of any script', 'Grüße, мир', ['grüße', 'мир']],
    ['returns nothing for punctuation only', '?!', []],
  ])('%s', (_name, text, tokens) => {
    expect(tokenize(text)).toEqual(tokens);
  });

  it('builds the vocabulary from the most frequent words, ties alphabetically, after <pad> and <unk>', () => {
    const v = buildVocabulary([['b', 'a', 'c'], ['b', 'c'], ['d']], 4);
    expect(v).toEqual(['<pad>', '<unk>', 'b', 'c']);
  });

  it('maps unknown words to 1, pads with 0 and cuts to maxLength', () => {
    const index = vocabularyIndex(['<pad>', '<unk>', 'good', 'film']);
    expect(Array.from(encode(['good', 'bad', 'film'], index, 5))).toEqual([2, 1, 3, 0, 0]);
    expect(Array.from(encode(['good', 'film', 'good'], index, 2))).toEqual([2, 3]);
  });
});

describe('prepareJsonl', () => {
  const lines = [
    '{"text": "a great film", "label": "pos"}',
    '{"text": "a bad film", "label": "neg"}',
    '',
    '{"text": "great great", "label": "pos"}',
    '{"text": "so bad", "label": "neg"}',
  ].join('\n');

  it('tokenizes with a vocabulary from the training split and saves it', () => {
    const d = prepareJsonl(lines, spec({ format: 'jsonl', label: 'label', maxLength: 4 }), {
      task: 'classification',
      validationSplit: 0.25,
      seed: 1,
    });
    expect(d.train.n + d.validation.n).toBe(4);
    expect(d.classNames).toEqual(['neg', 'pos']);
    const input = d.input as { vocabulary: string[]; maxLength: number };
    expect(input.vocabulary.slice(0, 2)).toEqual(['<pad>', '<unk>']);
    expect(input.maxLength).toBe(4);
    expect(d.sampleShape).toEqual([4]);
    expect(d.profileColumns[0]!.name).toBe('token_count');
  });

  it.each([
    ['a line that is not JSON', '{"text": "a", "label": 1}\nnope\n', /line 2: not valid JSON/],
    [
      'a line that is not JSON, with the column',
      '{"text": "a", "label": 1}\n{"text" 1}\n',
      /line 2: not valid JSON \(column 9\)/,
    ],
    [
      'a missing text field',
      '{"label": 1}\n{"text": "b", "label": 0}\n',
      /line 1: field "text" is missing, expected a string/,
    ],
    ['a label that is an object', '{"text": "a", "label": {}}\n', /line 1: label field "label" is a object/],
  ])('rejects %s', (_name, text, message) => {
    const err = errorOf(() =>
      prepareJsonl(text, spec({ format: 'jsonl', label: 'label' }), {
        task: 'classification',
        validationSplit: 0.5,
        seed: 1,
      }),
    );
    expect(err.message).toMatch(message);
  });
});

describe('prepareImages', () => {
  it('scales pixels by 255 and names classes 0..max', () => {
    const images = new Uint8Array(4 * 4).fill(255);
    const d = prepareImages(
      { images, labels: Uint8Array.from([0, 1, 2, 1]), shape: [2, 2, 1] },
      spec({ format: 'mnist-idx' }),
      { task: 'classification', validationSplit: 0.25, seed: 3 },
    );
    expect(d.classNames).toEqual(['0', '1', '2']);
    expect(d.input).toEqual({ kind: 'image', imageScale: 255 });
    expect(Array.from(d.train.x).every((v) => v === 1)).toBe(true);
    expect(d.profileColumns.map((c) => c.name)).toEqual(['mean_intensity', 'ink_fraction']);
  });
});

describe('splitIndices', () => {
  it.each([
    [10, 0.2, 8, 2],
    [10, 0, 10, 0],
    [3, 0.9, 1, 2],
  ])(
    'splits %i rows with validationSplit %f into %i + %i, covering every row once',
    (n, frac, train, validation) => {
      const s = splitIndices(n, frac, 42);
      expect(s.train.length).toBe(train);
      expect(s.validation.length).toBe(validation);
      expect([...s.train, ...s.validation].sort((a, b) => a - b)).toEqual(
        Array.from({ length: n }, (_, i) => i),
      );
    },
  );
});

describe('normalization', () => {
  it('uses the population std and gives a constant column std 1', () => {
    const data = Float32Array.from([1, 5, 3, 5]);
    const n = computeNormalization(data, 2);
    expect(n.mean).toEqual([2, 5]);
    expect(n.std).toEqual([1, 1]);
    expect(Array.from(applyNormalization(data, n))).toEqual([-1, 0, 1, 0]);
  });
});

describe('augmentImages', () => {
  const image = Float32Array.from({ length: 9 }, (_, i) => (i === 3 ? 1 : 0)); // 3x3, pixel (1, 0) set
  it.each([['leaves images alone with no augmentation', { shift: 0, rotate: 0, flip: false }, image]])(
    '%s',
    (_name, opts, want) => {
      expect(Array.from(augmentImages(image, [3, 3, 1], opts, 1))).toEqual(Array.from(want));
    },
  );

  it('is reproducible for a seed and keeps pixel values', () => {
    const opts = { shift: 0.3, rotate: 30, flip: true };
    const a = augmentImages(image, [3, 3, 1], opts, 5);
    expect(augmentImages(image, [3, 3, 1], opts, 5)).toEqual(a);
    expect(Array.from(a).every((v) => v === 0 || v === 1)).toBe(true);
  });

  it('flips horizontally when flip is the only change and the coin says so', () => {
    const flipped = Float32Array.from({ length: 9 }, (_, i) => (i === 5 ? 1 : 0));
    const results = [1, 2, 3, 4, 5, 6].map((seed) =>
      Array.from(augmentImages(image, [3, 3, 1], { shift: 0, rotate: 0, flip: true }, seed)),
    );
    expect(results).toContainEqual(Array.from(flipped));
    expect(results).toContainEqual(Array.from(image));
  });
});
