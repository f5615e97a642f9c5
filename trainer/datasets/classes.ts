// Class labels, shared by the formats whose labels are free text (csv, jsonl).
import { invalid } from './format.ts';

/**
 * Class names in a stable order (numeric when every label is a number, else lexicographic) and
 * each row's class index.
 */
export function encodeClasses(
  labels: readonly string[],
  where: (row: number) => string,
  /** How errors name the label (`column "y"`, `field "label"`); never a label's value. */
  column: string,
): { classNames: string[]; classes: Int32Array } {
  for (const [r, l] of labels.entries())
    if (l === '') throw invalid(`${where(r)}, ${column}: the label is empty`);
  const unique = [...new Set(labels)];
  const numeric = unique.every((l) => Number.isFinite(Number(l)));
  unique.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (unique.length < 2) throw invalid(`${where(0).split(':')[0]}: ${column} has only one class`);
  const index = new Map(unique.map((c, i) => [c, i]));
  return { classNames: unique, classes: Int32Array.from(labels, (l) => index.get(l)!) };
}
