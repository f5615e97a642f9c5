import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { variableQueries } from './check.ts';
import { DASHBOARDS, dashboardFiles, KEY_PANELS, panelQueries, substitute, variablesOf } from './index.ts';
import { modelServerDashboard } from './model-server.ts';

const GRAFANA_INTERVALS = ['__rate_interval', '__range'];

describe('substitute', () => {
  it.each([
    ['replaces a bare variable', 'up{model="$model"}', 'up{model="tiny"}'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template.
    ['replaces a braced variable', 'up{model="${model}"}', 'up{model="tiny"}'],
    ['replaces Grafana interval variables', 'rate(x[$__rate_interval])', 'rate(x[15s])'],
    ['leaves an expression without variables alone', 'vector(0.001)', 'vector(0.001)'],
  ])('%s', (_name, expr, want) => {
    expect(substitute(expr, { model: 'tiny', __rate_interval: '15s' })).toBe(want);
  });

  it('throws naming a variable it has no value for', () => {
    expect(() => substitute('up{track="$track"}', {})).toThrow(/\$track/);
  });
});

describe.each(DASHBOARDS.map((d) => [d.file, d.build()] as const))('the %s dashboard', (_file, d) => {
  const declared = (d.templating?.list ?? []).map((v) => v.name ?? '');

  it('uses only the template variables it declares', () => {
    const used = [...panelQueries(d), ...variableQueries(d)].flatMap((p) => variablesOf(p.expr));
    expect([...new Set(used)].filter((v) => !declared.includes(v) && !GRAFANA_INTERVALS.includes(v))).toEqual(
      [],
    );
  });

  it('gives every panel a query and a title of its own, so a failing query names one panel', () => {
    const panels = (d.panels ?? []).filter((p) => p.type !== 'row') as Array<{
      title?: string;
      targets?: unknown[];
    }>;
    expect(panels.filter((p) => (p.targets ?? []).length === 0).map((p) => p.title)).toEqual([]);
    const titles = panels.map((p) => p.title);
    expect(new Set(titles).size).toBe(titles.length);
  });

  it('draws every configured threshold as a decision line, not as data', () => {
    const reads = panelQueries(d).filter((p) => /k2k_drift_threshold|^vector\(/.test(p.expr));
    expect(reads.filter((p) => !p.threshold).map((p) => `${p.panel} / ${p.refId}`)).toEqual([]);
  });

  it('turns every label_values variable into a query the live check runs', () => {
    const labelValues = (d.templating?.list ?? []).filter((v) =>
      JSON.stringify(v.query).includes('label_values'),
    );
    expect(variableQueries(d)).toHaveLength(labelValues.length);
  });
});

describe('dashboardFiles', () => {
  const files = dashboardFiles();

  it('ships every dashboard as a ConfigMap labelled for the Grafana sidecar', () => {
    const k = yaml.load(files.get('config/grafana/kustomization.yaml')!) as {
      generatorOptions: { labels: Record<string, string> };
      configMapGenerator: Array<{ files: string[] }>;
    };
    expect(k.generatorOptions.labels.grafana_dashboard).toBe('1');
    expect(k.configMapGenerator.flatMap((c) => c.files)).toEqual(DASHBOARDS.map((d) => d.file));
    for (const d of DASHBOARDS) expect(files.has(`config/grafana/${d.file}`)).toBe(true);
  });

  it('keeps the panels the README picture draws', () => {
    const titles = panelQueries(modelServerDashboard()).map((p) => p.panel);
    for (const title of Object.values(KEY_PANELS)) expect(titles).toContain(title);
  });
});
