// Tables: CSV with a header row (RFC 4180: quoted fields may hold commas, quotes and newlines),
// numeric features, and a label column that gives the classes or the regression target.
// Errors say where a file is wrong (line, column) but never quote it: they reach status conditions
// and events, and the file could be anything the spec's URI named.
import type { DatasetSpec } from '../../api/training.ts';
import { encodeClasses } from './classes.ts';
import { type DatasetFormat, invalid, type LoadOptions, type Part, type PreparedDataset } from './format.ts';
import { applyNormalization, computeNormalization } from './normalize.ts';
import { splitIndices, take, takeRows } from './split.ts';

export const csv: DatasetFormat<'csv'> = {
  name: 'csv',
  load: async (store, spec, opts) => prepareCsv((await store.get(spec.uri)).toString('utf8'), spec, opts),
};

export interface CsvTable {
  header: string[];
  /** Data rows; `lines[i]` is the 1-based line number where row i starts (the header is line 1). */
  rows: string[][];
  lines: number[];
}

export function parseCsv(text: string, file: string): CsvTable {
  const records: string[][] = [];
  const starts: number[] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // byte order mark
  const endRecord = () => {
    record.push(field);
    field = '';
    // Blank lines (a single empty field) are skipped, as most CSV readers do.
    if (!(record.length === 1 && record[0] === '')) {
      records.push(record);
      starts.push(recordLine);
    }
    record = [];
  };
  for (; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else field += ch;
  }
  if (quoted) throw invalid(`${file}: line ${recordLine}: a quoted field is not closed`);
  if (field !== '' || record.length > 0) endRecord();
  const [header, ...rows] = records;
  if (!header) throw invalid(`${file}: the file is empty (expected a header row)`);
  const names = header.map((h) => h.trim());
  const seen = new Map<string, number>();
  for (const [c, h] of names.entries()) {
    if (h === '') throw invalid(`${file}: header column ${c + 1} has no name`);
    const first = seen.get(h);
    if (first !== undefined)
      throw invalid(`${file}: header columns ${first + 1} and ${c + 1} have the same name`);
    seen.set(h, c);
  }
  for (const [r, row] of rows.entries()) {
    if (row.length !== names.length) {
      throw invalid(`${file}: line ${starts[r + 1]}: ${row.length} fields, the header has ${names.length}`);
    }
  }
  return { header: names, rows, lines: starts.slice(1) };
}

/** Parses a numeric cell; the error names the line and the column (see columnLabel), not the value. */
export function parseNumber(cell: string, file: string, line: number, column: string): number {
  const s = cell.trim();
  const v = s === '' ? Number.NaN : Number(s);
  if (!Number.isFinite(v)) {
    throw invalid(`${file}: line ${line}, ${column}: ${s === '' ? 'is empty' : 'not a finite number'}`);
  }
  return v;
}

/**
 * How an error names a column: by the name the spec gave it (spec.features, spec.label), else by
 * its position, since a name only the header holds is the file's content.
 */
export function columnLabel(spec: DatasetSpec, header: readonly string[], name: string): string {
  const named = name === spec.label || spec.features?.includes(name);
  return named ? `column "${name}"` : `column ${header.indexOf(name) + 1}`;
}

export function prepareCsv(text: string, spec: DatasetSpec, opts: LoadOptions): PreparedDataset {
  const file = spec.uri;
  const table = parseCsv(text, file);
  const has = new Set(table.header);
  const label = spec.label;
  if (label !== undefined && !has.has(label)) {
    throw invalid(`${file}: label column "${label}" is not in the header (${table.header.length} columns)`);
  }
  const features = spec.features ?? table.header.filter((h) => h !== label);
  for (const f of features) {
    if (!has.has(f))
      throw invalid(`${file}: feature column "${f}" is not in the header (${table.header.length} columns)`);
    if (f === label) throw invalid(`${file}: column "${f}" is both a feature and the label`);
  }
  if (features.length === 0) throw invalid(`${file}: no feature columns`);
  const columns = features.map((name) => columnLabel(spec, table.header, name));
  const n = table.rows.length;
  if (n < 2) throw invalid(`${file}: ${n} data rows; need at least 2 (training and validation)`);
  const col = new Map(table.header.map((h, i) => [h, i]));
  const width = features.length;
  // Float64 for the profile (float32 would turn 0.1 into 0.10000000149 in profile.json).
  const raw64 = new Float64Array(n * width);
  for (let r = 0; r < n; r++) {
    const row = table.rows[r]!;
    for (let c = 0; c < width; c++) {
      const name = features[c]!;
      raw64[r * width + c] = parseNumber(row[col.get(name)!]!, file, table.lines[r]!, columns[c]!);
    }
  }
  const labelCells = label === undefined ? undefined : table.rows.map((row) => row[col.get(label)!]!.trim());
  const split = splitIndices(n, opts.validationSplit, opts.seed);
  const raw = Float32Array.from(raw64);
  const trainRaw = takeRows(raw, width, split.train);
  const validationRaw = takeRows(raw, width, split.validation);
  const profileColumns = features.map((name, c) => ({
    name,
    values: Float64Array.from(split.train, (r) => raw64[r * width + c]!),
  }));
  const normalization = spec.normalize ? computeNormalization(trainRaw, width) : null;
  if (normalization) {
    applyNormalization(trainRaw, normalization);
    applyNormalization(validationRaw, normalization);
  }
  const train: Part = { n: split.train.length, x: trainRaw };
  const validation: Part = { n: split.validation.length, x: validationRaw };
  const prepared: PreparedDataset = {
    kind: 'tabular',
    sampleShape: [width],
    train,
    validation,
    input: { kind: 'tabular', features, normalization },
    profileColumns,
  };
  if (labelCells && opts.task === 'classification') {
    const { classNames, classes } = encodeClasses(
      labelCells,
      (r) => `${file}: line ${table.lines[r]}`,
      `column "${label}"`,
    );
    prepared.classNames = classNames;
    train.classes = Int32Array.from(take(classes, split.train));
    validation.classes = Int32Array.from(take(classes, split.validation));
  } else if (labelCells && opts.task === 'regression') {
    const targets = Float32Array.from(labelCells, (cell, r) =>
      parseNumber(cell, file, table.lines[r]!, `column "${label}"`),
    );
    train.targets = Float32Array.from(take(targets, split.train));
    validation.targets = Float32Array.from(take(targets, split.validation));
  }
  return prepared;
}
