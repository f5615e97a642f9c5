// CSV with a header row (RFC 4180: quoted fields may hold commas, quotes and newlines).
import { TrainerError, TrainerErrorCode } from '../errors.ts';

export interface CsvTable {
  header: string[];
  /** Data rows; `lines[i]` is the 1-based line number where row i starts (the header is line 1). */
  rows: string[][];
  lines: number[];
}

const invalid = (message: string) => new TrainerError(TrainerErrorCode.InvalidDataset, message);

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
  const seen = new Set<string>();
  for (const [c, h] of names.entries()) {
    if (h === '') throw invalid(`${file}: header column ${c + 1} has no name`);
    if (seen.has(h)) throw invalid(`${file}: header column "${h}" appears twice`);
    seen.add(h);
  }
  for (const [r, row] of rows.entries()) {
    if (row.length !== names.length) {
      throw invalid(`${file}: line ${starts[r + 1]}: ${row.length} fields, the header has ${names.length}`);
    }
  }
  return { header: names, rows, lines: starts.slice(1) };
}

/** Parses a numeric cell; the error names the line, the column and the value. */
export function parseNumber(cell: string, file: string, line: number, column: string): number {
  const s = cell.trim();
  const v = s === '' ? Number.NaN : Number(s);
  if (!Number.isFinite(v)) {
    const what =
      s === '' ? 'is empty' : `"${s.length > 40 ? `${s.slice(0, 37)}...` : s}" is not a finite number`;
    throw invalid(`${file}: line ${line}, column "${column}": ${what}`);
  }
  return v;
}
