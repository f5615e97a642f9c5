// The local cluster's Prometheus (LOCAL_PROMETHEUS) as the e2e tests ask it: its HTTP API at the
// Service's cluster IP, which the machine reaches through kube-proxy's rules as the demo's curl does.
import { LOCAL_PROMETHEUS } from '../../api/monitoring.ts';
import { kubectlJson } from './kube.ts';

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusAPI {
  url: string;
  /** GET <Prometheus>/api/v1/<path>: the data of a successful answer, or an error with the body. */
  api<T>(path: string): Promise<T>;
  /** An instant query's result vector, at `time` (Unix seconds) or now. */
  query(promql: string, time?: number): Promise<Sample[]>;
}

export async function localPrometheus(): Promise<PrometheusAPI> {
  const svc = await kubectlJson<{ spec: { clusterIP: string } }>([
    'get',
    'service',
    '-n',
    LOCAL_PROMETHEUS.namespace,
    LOCAL_PROMETHEUS.service,
  ]);
  const url = `http://${svc.spec.clusterIP}:${LOCAL_PROMETHEUS.port}`;
  async function api<T>(path: string): Promise<T> {
    const resp = await fetch(`${url}/api/v1/${path}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await resp.json()) as { status: string; data: T; error?: string };
    if (!resp.ok || body.status !== 'success') throw new Error(`${path}: HTTP ${resp.status} ${body.error}`);
    return body.data;
  }
  const query = (promql: string, time?: number) =>
    api<{ result: Sample[] }>(
      `query?query=${encodeURIComponent(promql)}${time === undefined ? '' : `&time=${time}`}`,
    ).then((d) => d.result);
  return { url, api, query };
}
