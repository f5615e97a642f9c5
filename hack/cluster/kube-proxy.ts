// When kube-proxy has programmed its rules. Its /healthz answers 200 from the moment it starts
// ("healthy while it's starting up", pkg/proxy/healthcheck), before its first sync prepends its
// jumps (KUBE-PROXY-FIREWALL, KUBE-FORWARD, KUBE-SERVICES, ...) to FORWARD. A forward guard placed
// in between ends up below them, and every later inspectNodeDir calls the node unhealthy ("forward
// guard missing or not first"): the reason `npm test` used to replace the demo's node. The first
// successful sync sets this gauge, after the jumps are in place (pkg/proxy/iptables/proxier.go).
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from './http.ts';

const SYNCED_GAUGE = 'kubeproxy_sync_proxy_rules_last_timestamp_seconds';
/** The guard is an iptables (IPv4) rule; a dual-stack kube-proxy syncs ip6tables on its own. */
const IPV4_SERIES = `${SYNCED_GAUGE}{ip_family="IPv4"} `;

/** Whether kube-proxy's /metrics text shows a successful sync of its IPv4 rules. */
export function kubeProxySynced(metrics: string): boolean {
  return metrics
    .split('\n')
    .some((line) => line.startsWith(IPV4_SERIES) && Number(line.slice(IPV4_SERIES.length)) > 0);
}

/** Resolves once kube-proxy at `metricsUrl` has synced; throws with what it last saw after `timeoutMs`. */
export async function waitKubeProxySynced(metricsUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const resp = await request(metricsUrl, { timeoutMs: 3000 });
      if (resp.status === 200 && kubeProxySynced(resp.body)) return;
      last = resp.status === 200 ? `no ${SYNCED_GAUGE} yet` : `HTTP ${resp.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(250);
  }
  throw new Error(`kube-proxy has not synced its rules after ${timeoutMs / 1000}s (${metricsUrl}: ${last})`);
}
