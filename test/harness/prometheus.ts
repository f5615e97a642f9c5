// A real Prometheus for the tests: Debian's /usr/bin/prometheus on a free loopback port, scraping
// the given targets from a static configuration. Each target carries the labels the Prometheus
// Operator gives the targets of a ServiceMonitor (namespace, service, pod), so queries written for
// the operator's ServiceMonitors select them the same way.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { eventually } from './eventually.ts';
import { captureOutput } from './output.ts';
import { freePort } from './s3.ts';

export const PROMETHEUS_BINARY = process.env.K2K_TEST_PROMETHEUS ?? '/usr/bin/prometheus';

export interface ScrapeTarget {
  /** host:port serving /metrics. */
  address: string;
  labels: Record<string, string>;
}

export interface PrometheusProcess {
  /** http://127.0.0.1:<port> */
  url: string;
  logs(): string;
  stop(): Promise<void>;
}

export async function startPrometheus(opts: {
  targets: ScrapeTarget[];
  scrapeIntervalSeconds?: number;
}): Promise<PrometheusProcess> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-prometheus-'));
  const interval = `${opts.scrapeIntervalSeconds ?? 1}s`;
  await writeFile(
    path.join(dir, 'prometheus.yml'),
    yaml.dump({
      global: { scrape_interval: interval, evaluation_interval: interval },
      scrape_configs: [
        {
          job_name: 'k2k-model-server',
          static_configs: opts.targets.map((t) => ({ targets: [t.address], labels: t.labels })),
        },
      ],
    }),
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    PROMETHEUS_BINARY,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = captureOutput(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`prometheus exited with ${child.exitCode}:\n${output()}`);
        return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok || undefined;
      },
      { what: 'Prometheus to be ready', timeoutMs: 30_000, intervalMs: 200 },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, logs: output, stop };
}

/** The value of an instant query's first sample, once Prometheus has one that `accept` takes. */
export function waitForSample(
  prometheus: PrometheusProcess,
  query: string,
  accept: (value: number) => boolean,
  timeoutMs = 60_000,
): Promise<number> {
  return eventually(
    async () => {
      const r = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(query)}`);
      const body = (await r.json()) as { data?: { result?: Array<{ value: [number, string] }> } };
      const v = body.data?.result?.[0]?.value[1];
      return v !== undefined && accept(Number(v)) ? Number(v) : undefined;
    },
    { what: `Prometheus: ${query}`, timeoutMs, intervalMs: 250 },
  );
}
