// The Prometheus alert rules SREs get (config/prometheus) are checked and unit-tested with
// Prometheus's own rule engine (promtool), not by reading the YAML.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { desiredPrometheusRule } from '../../operator/controllers/modeldeployment/monitoring.ts';
import { perFeatureKsAlpha } from '../../server/drift/decision.ts';
import { DECISION_SETTINGS, FEATURE_DRIFT_CASES } from '../../server/drift/decision-cases.ts';

const run = promisify(execFile);
const dir = new URL('../../config/prometheus/', import.meta.url).pathname;
const RULES = 'k2k-alerts.yaml';
const TESTS = 'k2k-alerts.test.yaml';

interface RuleFile {
  groups: Array<{ name: string; rules: Array<{ alert?: string; record?: string }> }>;
}
interface RuleTestFile {
  group_eval_order?: string[];
  tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] | null }> }>;
}

async function loadYAML<T>(file: string): Promise<T> {
  return yaml.load(await readFile(path.join(dir, file), 'utf8')) as T;
}

// The model servers' alerts and the operator's own, each file with its unit tests.
describe.each([
  { RULES, TESTS },
  { RULES: 'k2k-operator-alerts.yaml', TESTS: 'k2k-operator-alerts.test.yaml' },
])('config/prometheus/$RULES', ({ RULES, TESTS }) => {
  it('are valid Prometheus rules', async () => {
    const { stdout } = await run('promtool', ['check', 'rules', RULES], { cwd: dir });
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('fire and stay quiet as their unit tests expect', async () => {
    const { stdout } = await run('promtool', ['test', 'rules', TESTS], { cwd: dir });
    expect(stdout).toMatch(/SUCCESS/);
  });

  it('each have a unit test where they fire and one where they stay quiet', async () => {
    const alerts = (await loadYAML<RuleFile>(RULES)).groups.flatMap((g) =>
      g.rules.flatMap((r) => (r.alert ? [r.alert] : [])),
    );
    const cases = (await loadYAML<RuleTestFile>(TESTS)).tests.flatMap((t) => t.alert_rule_test ?? []);
    const firing = new Set(cases.filter((c) => (c.exp_alerts ?? []).length > 0).map((c) => c.alertname));
    const quiet = new Set(cases.filter((c) => (c.exp_alerts ?? []).length === 0).map((c) => c.alertname));
    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts.filter((a) => !firing.has(a)).map((a) => `${a} has no firing test`)).toEqual([]);
    expect(alerts.filter((a) => !quiet.has(a)).map((a) => `${a} has no not-firing test`)).toEqual([]);
    // A test of an alert that no longer exists tests nothing.
    expect([...firing, ...quiet].filter((a) => !alerts.includes(a))).toEqual([]);
  });

  it('are unit-tested in a fixed group order, recording rules first', async () => {
    // promtool evaluates unlisted groups in random order: an alert on a recorded series would see
    // this minute's value in one run and the previous minute's in the next.
    const groups = (await loadYAML<RuleFile>(RULES)).groups;
    const order = (await loadYAML<RuleTestFile>(TESTS)).group_eval_order ?? [];
    const recording = groups.filter((g) => g.rules.some((r) => r.record)).map((g) => g.name);
    expect([...order].sort()).toEqual(groups.map((g) => g.name).sort());
    expect(order.slice(0, recording.length).sort()).toEqual([...recording].sort());
  });
});

// K2KFeatureDrift restates server/drift/decision.ts in PromQL; both must answer the same table.
describe('K2KFeatureDrift agrees with the server drift decision', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'k2k-alerts-'));
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  it('fires for exactly the cases the decision table marks drifted', async () => {
    const s = DECISION_SETTINGS;
    // One pod per case, its series held for 20 minutes (the rule's `for` is 15m).
    const series = (name: string, labels: Record<string, string>, value: number) => ({
      series: `${name}{${Object.entries(labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(',')}}`,
      values: `${value}x20`,
    });
    const input_series = FEATURE_DRIFT_CASES.flatMap(([, samples, psi, pValue, features], i) => {
      const pod = { model: 'm', version: '1', track: 'stable', pod: `case-${i}` };
      return [
        series('k2k_drift_threshold', { ...pod, threshold: 'psi' }, s.psiThreshold),
        series(
          'k2k_drift_threshold',
          { ...pod, threshold: 'ks_pvalue_bonferroni' },
          perFeatureKsAlpha(s, features),
        ),
        series('k2k_drift_threshold', { ...pod, threshold: 'min_samples' }, s.minSamples),
        series('k2k_drift_feature_psi', { ...pod, feature: 'f' }, psi),
        series('k2k_drift_feature_ks_pvalue', { ...pod, feature: 'f' }, pValue),
        series('k2k_drift_feature_samples', { ...pod, feature: 'f' }, samples),
      ];
    });
    const drifted = FEATURE_DRIFT_CASES.flatMap(([, , , , , want], i) => (want ? [`case-${i}`] : []));
    expect(drifted.length).toBeGreaterThan(0);
    expect(drifted.length).toBeLessThan(FEATURE_DRIFT_CASES.length);
    const file = path.join(tmp, 'decision.test.yaml');
    await writeFile(
      file,
      yaml.dump({
        rule_files: [path.join(dir, RULES)],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series,
            promql_expr_test: [
              {
                expr: 'count by (pod) (ALERTS{alertname="K2KFeatureDrift", alertstate="firing"})',
                eval_time: '20m',
                exp_samples: drifted.map((pod) => ({ labels: `{pod="${pod}"}`, value: 1 })),
              },
            ],
          },
        ],
      }),
    );
    const { stdout } = await run('promtool', ['test', 'rules', file]).catch((err) => {
      throw new Error(`promtool disagrees with the decision table:\n${err.stdout}${err.stderr}`);
    });
    expect(stdout).toMatch(/SUCCESS/);
  });
});

// The PrometheusRule the operator makes per ModelDeployment: the same rules, on one model's series.
describe("a ModelDeployment's PrometheusRule", () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'k2k-rule-'));
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  const ruleOf = (monitoring: Record<string, unknown>) =>
    desiredPrometheusRule({
      apiVersion: 'k2k.dev/v1alpha1',
      kind: 'ModelDeployment',
      metadata: { name: 'mine', namespace: 'ml', uid: 'u' },
      spec: { monitoring: { enabled: true, interval: '30s', ...monitoring } },
    } as never);
  const rule = ruleOf({});

  const series = (name: string, labels: Record<string, string>, value: number) => ({
    series: `${name}{${Object.entries(labels)
      .map(([k, v]) => `${k}="${v}"`)
      .join(',')}}`,
    values: `${value}x20`,
  });
  /** A pod of Service `service` whose one feature drifts by every measure (1 of 1 features). */
  const drifting = (service: string) => {
    const pod = { namespace: 'ml', service, model: 'm', version: '1', track: 'stable', pod: `${service}-0` };
    return [
      series('k2k_drift_threshold', { ...pod, threshold: 'psi' }, 0.2),
      series('k2k_drift_threshold', { ...pod, threshold: 'ks_pvalue_bonferroni' }, 0.05),
      series('k2k_drift_threshold', { ...pod, threshold: 'min_samples' }, 200),
      series('k2k_drift_feature_psi', { ...pod, feature: 'f' }, 0.9),
      series('k2k_drift_feature_ks_pvalue', { ...pod, feature: 'f' }, 1e-6),
      series('k2k_drift_feature_samples', { ...pod, feature: 'f' }, 1000),
      series('k2k_drift_feature_drifted', { ...pod, feature: 'f' }, 1),
      series('k2k_drift_features', pod, 1),
    ];
  };

  /** Runs promtool's unit test of `groups` on `input_series`, expecting `promql_expr_test`. */
  async function promtoolTest(
    name: string,
    groups: unknown,
    input_series: unknown[],
    promql_expr_test: unknown[],
  ): Promise<void> {
    const file = path.join(tmp, `${name}.yaml`);
    await writeFile(file, yaml.dump({ groups }));
    const tests = path.join(tmp, `${name}.test.yaml`);
    await writeFile(
      tests,
      yaml.dump({
        rule_files: [file],
        evaluation_interval: '1m',
        tests: [{ interval: '1m', input_series, promql_expr_test }],
      }),
    );
    const { stdout } = await run('promtool', ['test', 'rules', tests]).catch((err) => {
      throw new Error(`${err.stdout}${err.stderr}`);
    });
    expect(stdout).toMatch(/SUCCESS/);
  }

  it('is a valid rule file', async () => {
    const file = path.join(tmp, 'rule.yaml');
    await writeFile(file, yaml.dump({ groups: rule.spec.groups }));
    const { stdout } = await run('promtool', ['check', 'rules', file]);
    expect(stdout).toMatch(/SUCCESS: 14 rules found/);
  });

  it("fires K2KFeatureDrift for its own model's drift and not for another Service's", async () => {
    await promtoolTest(
      'rule',
      rule.spec.groups,
      [...drifting('mine'), ...drifting('other')],
      [
        {
          expr: 'count by (service) (ALERTS{alertname="K2KFeatureDrift", alertstate="firing"})',
          eval_time: '20m',
          exp_samples: [{ labels: '{service="mine"}', value: 1 }],
        },
      ],
    );
  });

  it('holds the drift alerts pending for spec.monitoring.alerts.driftFor, then fires them', async () => {
    const timed = ruleOf({ alerts: { driftFor: '3m' } });
    const alerts = (state: string) =>
      `count by (alertname) (ALERTS{alertname=~"K2KFeatureDrift|K2KManyFeaturesDrift", alertstate="${state}"})`;
    const both = [
      { labels: '{alertname="K2KFeatureDrift"}', value: 1 },
      { labels: '{alertname="K2KManyFeaturesDrift"}', value: 1 },
    ];
    // Both alerts are active from the first evaluation on.
    await promtoolTest('timed', timed.spec.groups, drifting('mine'), [
      { expr: alerts('pending'), eval_time: '2m', exp_samples: both },
      { expr: alerts('firing'), eval_time: '2m', exp_samples: [] },
      { expr: alerts('firing'), eval_time: '4m', exp_samples: both },
    ]);
  });
});
