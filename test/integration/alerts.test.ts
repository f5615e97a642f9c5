// The Prometheus alert rules SREs get (config/prometheus) are checked and unit-tested with
// Prometheus's own rule engine (promtool), not by reading the YAML.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = new URL('../../config/prometheus/', import.meta.url).pathname;

describe('config/prometheus alert rules', () => {
  it('are valid Prometheus rules', async () => {
    const { stdout } = await run('promtool', ['check', 'rules', 'k2k-alerts.yaml'], { cwd: dir });
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('fire and stay quiet as their unit tests expect (drift needs enough samples, corrected for many features)', async () => {
    const { stdout } = await run('promtool', ['test', 'rules', 'k2k-alerts.test.yaml'], { cwd: dir });
    expect(stdout).toMatch(/SUCCESS/);
  });
});
