// The status contract checked by the tools that read it: hack/statuscheck (Go) runs the Argo CD
// health checks in gopher-lua as Argo CD does, and kstatus, on every state of every kind
// (config/argocd/health/, generated from states/ by api/generate.ts). Needs Go; the first build
// compiles apimachinery (56 s of CPU, minutes on 2 busy cores), later ones come from Go's build cache.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  MODELDEPLOYMENT_KIND,
  ModelDeploymentReason,
  SWEEP_KIND,
  SweepReason,
  TRAININGJOB_KIND,
  TrainingJobReason,
} from '../../api/index.ts';
import { HEALTH_DIR } from './files.ts';
import { healthCases } from './states/index.ts';

interface CaseResult {
  kind: string;
  case: string;
  ok: boolean;
  failures?: string[];
}

const root = fileURLToPath(new URL('../../', import.meta.url));
const results = new Map<string, CaseResult>();
let problems = '';

beforeAll(async () => {
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) =>
    execFile(
      'go',
      [
        'run',
        '.',
        '-configmap',
        `${root}config/argocd/argocd-cm-health.yaml`,
        '-fixtures',
        `${root}${HEALTH_DIR}`,
      ],
      { cwd: fileURLToPath(new URL('.', import.meta.url)), maxBuffer: 16 << 20 },
      // A failing case exits 1 and its line says why; with no lines, the error is all there is.
      (err, stdout, stderr) => resolve({ stdout, stderr: stdout ? stderr : `${stderr}\n${err?.message}` }),
    ),
  );
  // `go run` adds "exit status 1" when a case failed: that case's line already says why.
  problems = stderr
    .split('\n')
    .filter((l) => l && l !== 'exit status 1')
    .join('\n');
  for (const line of stdout.split('\n').filter((l) => l.startsWith('{'))) {
    const r = JSON.parse(line) as CaseResult;
    results.set(`${r.kind}/${r.case}`, r);
  }
}, 600_000);

describe.each([...healthCases()])('%s', (kind, cases) => {
  const table = cases.map((c) => [c.name, c.health.status, c.kstatus] as const);
  it.each(table)('%s: Argo CD says %s and kstatus %s', (name) => {
    const result = results.get(`${kind}/${name}`);
    expect(result, `statuscheck did not run ${kind}/${name}: ${problems}`).toBeDefined();
    expect(result?.failures ?? [], `${kind}/${name}`).toEqual([]);
  });
});

describe('statuscheck', () => {
  it('reads a health script for every kind and no fixture that no test uses', () => {
    expect(problems).toBe('');
    expect(results.size).toBe([...healthCases().values()].flat().length);
  });
});

describe('the states', () => {
  const declared: Record<string, Record<string, string>> = {
    [TRAININGJOB_KIND]: TrainingJobReason,
    [SWEEP_KIND]: SweepReason,
    [MODELDEPLOYMENT_KIND]: ModelDeploymentReason,
  };
  it.each([...healthCases()])('of %s show every condition reason its API declares', (kind, cases) => {
    const shown = new Set(cases.flatMap((c) => (c.object.status?.conditions ?? []).map((x) => x.reason)));
    const missing = Object.values(declared[kind] ?? {}).filter((reason) => !shown.has(reason));
    expect(missing, `reasons of ${kind} that no state in states/ shows`).toEqual([]);
  });
});
