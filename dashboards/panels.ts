// The few shapes every k2k panel takes, on top of the Grafana Foundation SDK's typed builders: a
// Prometheus query with its legend, and a panel of any kind given its title, what it means, its
// unit, size and queries. Dashboards then read as a list of panels.
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

/** Every query goes to the dashboard's `datasource` variable, so one JSON fits any Grafana. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template.
export const DATASOURCE: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

export interface Query {
  expr: string;
  legend: string;
  /** A decision line (a configured threshold or SLO), drawn dashed red rather than as data. */
  threshold?: boolean;
}

export const q = (expr: string, legend = '__auto'): Query => ({ expr, legend });
export const threshold = (expr: string, legend: string): Query => ({ expr, legend, threshold: true });

/** How a threshold query is drawn: Grafana's field override, matched by its refId. */
export const THRESHOLD_STYLE: dashboard.DynamicConfigValue[] = [
  { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
  { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
];

/** What the panel builders of every visualisation have in common. */
interface PanelLike<T> extends cog.Builder<dashboard.Panel> {
  title(title: string): T;
  description(description: string): T;
  datasource(datasource: common.DataSourceRef): T;
  unit(unit: string): T;
  span(w: number): T;
  height(h: number): T;
  withTarget(target: cog.Builder<cog.Dataquery>): T;
  overrideByQuery(refId: string, properties: dashboard.DynamicConfigValue[]): T;
}

export interface PanelSpec {
  title: string;
  description: string;
  unit?: string;
  /** Width in grid columns (24 is the full width). */
  span?: number;
  height?: number;
  queries: Query[];
}

/** Fills `builder` (a timeseries, stat, table… builder) with the spec; returns it for more options. */
export function panel<B extends PanelLike<B>>(builder: B, spec: PanelSpec): B {
  builder
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .span(spec.span ?? 12)
    .height(spec.height ?? 8);
  if (spec.unit) builder.unit(spec.unit);
  for (const [i, query] of spec.queries.entries()) {
    const refId = String.fromCharCode(65 + i);
    if (query.threshold) builder.overrideByQuery(refId, THRESHOLD_STYLE);
    builder.withTarget(
      new DataqueryBuilder().refId(refId).datasource(DATASOURCE).expr(query.expr).legendFormat(query.legend),
    );
  }
  return builder;
}

/** A label-values variable read from Prometheus; `all` lets it match every value (`.*`). */
export function labelVariable(
  name: string,
  query: string,
  opts: { all?: boolean } = {},
): dashboard.QueryVariableBuilder {
  const v = new dashboard.QueryVariableBuilder(name)
    .label(name)
    .datasource(DATASOURCE)
    .query({ query, refId: name })
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc);
  if (opts.all) v.multi(true).includeAll(true).allValue('.*');
  return v;
}

export const datasourceVariable = () =>
  new dashboard.DatasourceVariableBuilder('datasource').label('Data source').type('prometheus');

/** `metric{…}` with the dashboard's own selector and any extra matchers. */
export function selector(base: string): (metric: string, ...matchers: string[]) => string {
  return (metric, ...matchers) => `${metric}{${[base, ...matchers].join(', ')}}`;
}

/** `x or 0 * base`: a rate of something that has not happened yet (no series) reads 0, not "No data". */
export const orZero = (x: string, base: string) => `(${x} or 0 * ${base})`;

/** A time series panel whose legend names the series and whose tooltip shows them all. */
export const timeseries = () =>
  new TimeseriesBuilder()
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom),
    )
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi));
