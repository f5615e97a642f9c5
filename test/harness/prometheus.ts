// A real Prometheus for the tests: Debian's /usr/bin/prometheus on a free loopback port, scraping
// the given targets from a static configuration. Each target carries the labels the Prometheus
// Operator gives the targets of a ServiceMonitor (namespace, service, pod), so queries written for
// the operator's ServiceMonitors select them the same way.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { eventually } from './eventually.ts';
import { captureOutput } from './output.ts';
import { freePort } from './s3.ts';

export const PROMETHEUS_BINARY = process.env.K2K_TEST_PROMETHEUS ?? '/usr/bin/prometheus';

/**
 * The Prometheus v3 built for the local cluster (hack/) when it is in the cache, else
 * PROMETHEUS_BINARY: what the dashboards' queries are checked against.
 */
export function newestPrometheus(): string {
  const cache =
    process.env.K2K_CACHE ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'k2k');
  const built = path.join(cache, 'prometheus-v0.316.0/bin/prometheus');
  return process.env.K2K_TEST_PROMETHEUS === undefined && existsSync(built) ? built : PROMETHEUS_BINARY;
}

export interface ScrapeTarget {
  /** host:port serving /metrics. */
  address: string;
  labels: Record<string, string>;
  /** The scrape job (the `job` label); default k2k-model-server. */
  job?: string;
}

/** One sample of an instant query's vector result. */
export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/** One series of a range query's matrix result. */
export interface Series {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

export interface PrometheusProcess {
  /** http://127.0.0.1:<port> */
  url: string;
  /** An instant query at `time` (unix seconds; default now); rejects with Prometheus's error. */
  query(expr: string, time?: number): Promise<Sample[]>;
  queryRange(expr: string, start: number, end: number, stepSeconds: number): Promise<Series[]>;
  /** Resolves once every target has been scraped after `time` (unix seconds). */
  scrapedSince(time: number): Promise<void>;
  logs(): string;
  stop(): Promise<void>;
}

export async function startPrometheus(opts: {
  targets: ScrapeTarget[];
  scrapeIntervalSeconds?: number;
  binary?: string;
}): Promise<PrometheusProcess> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-prometheus-'));
  const interval = `${opts.scrapeIntervalSeconds ?? 1}s`;
  const jobs = [...new Set(opts.targets.map((t) => t.job ?? 'k2k-model-server'))];
  await writeFile(
    path.join(dir, 'prometheus.yml'),
    yaml.dump({
      global: { scrape_interval: interval, evaluation_interval: interval },
      scrape_configs: jobs.map((job) => ({
        job_name: job,
        static_configs: opts.targets
          .filter((t) => (t.job ?? 'k2k-model-server') === job)
          .map((t) => ({ targets: [t.address], labels: t.labels })),
      })),
    }),
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    opts.binary ?? PROMETHEUS_BINARY,
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
  const api = async <T>(endpoint: string, params: Record<string, string>): Promise<T> => {
    const res = await fetch(`${url}/api/v1/${endpoint}?${new URLSearchParams(params)}`);
    const body = (await res.json()) as { status: string; data: T; error?: string; errorType?: string };
    if (body.status !== 'success') throw new Error(`${body.errorType}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    logs: output,
    stop,
    query: async (expr, time) => {
      const data = await api<{ resultType: string; result: Sample[] | [number, string] }>('query', {
        query: expr,
        ...(time === undefined ? {} : { time: String(time) }),
      });
      // A scalar result (time(), arithmetic on literals) reads as one unlabelled sample.
      return data.resultType === 'scalar'
        ? [{ metric: {}, value: data.result as [number, string] }]
        : (data.result as Sample[]);
    },
    queryRange: async (expr, start, end, step) =>
      (
        await api<{ result: Series[] }>('query_range', {
          query: expr,
          start: String(start),
          end: String(end),
          step: String(step),
        })
      ).result,
    scrapedSince: async (time) => {
      await eventually(
        async () => {
          const { activeTargets } = await api<{
            activeTargets: Array<{ lastScrape: string; health: string }>;
          }>('targets', {});
          const fresh = activeTargets.filter(
            (t) => t.health === 'up' && Date.parse(t.lastScrape) / 1000 > time,
          );
          return fresh.length === opts.targets.length || undefined;
        },
        { what: `every target scraped after ${time}`, intervalMs: 200 },
      );
    },
  };
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
