// Draws the model server dashboard's key panels from live Prometheus data into docs/dashboard.png:
// a real model server gets normal inputs, then shifted ones, then normal again, while a real
// Prometheus scrapes it; the panels' own queries (dashboards/model-server.ts, template variables
// filled in) are read back with query_range and plotted by matplotlib (render.py) as Grafana would
// show them. No Grafana is needed.
//
// Usage: npx tsx hack/dashboards/render.ts [--out docs/dashboard.png] [--phase-seconds 40]
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { KEY_PANELS, panelQueries, substitute } from '../../dashboards/index.ts';
import { modelServerDashboard } from '../../dashboards/model-server.ts';
import { startTabularModelServer, TABULAR_MODEL } from '../../test/harness/model-server.ts';
import { newestPrometheus, startPrometheus } from '../../test/harness/prometheus.ts';
import { SHIFT, sendTraffic } from '../../test/harness/traffic.ts';

const run = promisify(execFile);
const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, '../..');

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: path.join(root, 'docs/dashboard.png') },
    'phase-seconds': { type: 'string', default: '40' },
  },
});
const phaseSeconds = Number(args['phase-seconds']);
const NAMESPACE = 'k2k-demo';
const VALUES = {
  namespace: NAMESPACE,
  model: TABULAR_MODEL,
  track: 'stable',
  feature: 'f0',
  __rate_interval: '10s',
  __range: '5m',
};

/** Grafana's legend: `{{label}}` filled from the series' labels. */
const legendOf = (format: string, labels: Record<string, string>) =>
  format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_m, name: string) => labels[name] ?? '');

const served = await startTabularModelServer({ windowSize: 1000, minSamples: 200 });
const prometheus = await startPrometheus({
  binary: newestPrometheus(),
  targets: [
    {
      address: served.address,
      labels: { namespace: NAMESPACE, service: TABULAR_MODEL, pod: `${TABULAR_MODEL}-0` },
    },
  ],
});
const dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-render-'));
try {
  const phases: Array<{ label: string; start: number; end: number; shifted: boolean }> = [];
  for (const [label, shift] of [
    ['training distribution', undefined],
    ['shifted inputs', SHIFT],
    ['training distribution again', undefined],
  ] as const) {
    const start = Date.now() / 1000;
    console.error(`[render] ${phaseSeconds}s of ${label}`);
    await sendTraffic(served.url, { seconds: phaseSeconds, concurrency: 2, ...(shift ? { shift } : {}) });
    phases.push({ label, start, end: Date.now() / 1000, shifted: shift !== undefined });
  }
  const end = Date.now() / 1000;
  await prometheus.scrapedSince(end);
  const start = phases[0]!.start;
  const queries = panelQueries(modelServerDashboard());
  const panels = [];
  for (const [key, title] of Object.entries(KEY_PANELS)) {
    const series = [];
    for (const q of queries.filter((x) => x.panel === title)) {
      for (const s of await prometheus.queryRange(substitute(q.expr, VALUES), start, end, 1))
        series.push({
          legend: legendOf(q.legend, s.metric),
          threshold: q.threshold,
          points: s.values.map(([t, v]) => [t - start, Number(v)]),
        });
    }
    panels.push({ key, title, series });
  }
  const data = path.join(dir, 'panels.json');
  await writeFile(
    data,
    JSON.stringify({
      model: TABULAR_MODEL,
      phases: phases.map((p) => ({ ...p, start: p.start - start, end: p.end - start })),
      panels,
    }),
  );
  const { stdout: python } = await run('bash', [path.join(here, 'matplotlib-venv.sh')]);
  await run(python.trim(), [path.join(here, 'render.py'), data, args.out!]);
  console.error(`[render] wrote ${path.relative(root, args.out!)}`);
} finally {
  await prometheus.stop();
  await served.stop();
  await rm(dir, { recursive: true, force: true });
}
