// Runs a dashboard's queries the way Grafana would (template variables filled in) against a
// Prometheus, and names each query that errors or returns no data. Used against a live Prometheus
// by test/integration/dashboards.test.ts; kept apart so the check itself is tested to fail.
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { type PanelQuery, panelQueries, substitute } from './index.ts';

export type InstantQuery = (expr: string, time?: number) => Promise<Array<{ value: [number, string] }>>;

export interface QueryFailure {
  where: string;
  expr: string;
  problem: string;
}

/** "dashboard / panel / refId": where a failing query sits. */
export const whereOf = (p: PanelQuery) => `${p.dashboard} / ${p.panel} / ${p.refId}`;

/** Empty when `expr` returns at least one sample that is a number; otherwise what went wrong. */
export async function problemOf(query: InstantQuery, expr: string, time?: number): Promise<string> {
  let samples: Array<{ value: [number, string] }>;
  try {
    samples = await query(expr, time);
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
  if (samples.length === 0) return 'no data';
  if (samples.every((s) => Number.isNaN(Number(s.value[1])))) return 'only NaN';
  return '';
}

/**
 * A variable's `label_values(selector, label)` as the query Grafana's Prometheus data source runs
 * for it (`count by (label) (selector)`), so variable queries are checked like panels.
 */
export function variableQueries(d: dashboard.Dashboard): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const v of d.templating?.list ?? []) {
    const def = typeof v.query === 'object' ? String((v.query as { query?: string }).query ?? '') : '';
    const m = /^label_values\((.+),\s*(\w+)\)$/.exec(def);
    if (!m) continue;
    out.push({
      dashboard: d.title ?? '',
      panel: `variable $${v.name}`,
      refId: v.name ?? '',
      expr: `count by (${m[2]}) (${m[1]})`,
      legend: '',
      threshold: false,
    });
  }
  return out;
}

/** Every panel and variable query of `d` that errors or returns no data at `time`. */
export async function failingQueries(
  d: dashboard.Dashboard,
  values: Record<string, string>,
  query: InstantQuery,
  time?: number,
): Promise<QueryFailure[]> {
  const failures: QueryFailure[] = [];
  for (const p of [...variableQueries(d), ...panelQueries(d)]) {
    const expr = substitute(p.expr, values);
    const problem = await problemOf(query, expr, time);
    if (problem) failures.push({ where: whereOf(p), expr, problem });
  }
  return failures;
}
