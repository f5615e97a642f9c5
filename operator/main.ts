// The k2k operator: `node dist/operator/main.js [flags]`. Flags fall back to K2K_* environment
// variables so the same binary runs in a pod (config/manager) and on a laptop (hack/demo.sh).
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { setupModelDeploymentController } from './controllers/modeldeployment/controller.ts';
import type { PodPolicy } from './controllers/policy.ts';
import { setupSweepController } from './controllers/sweep/controller.ts';
import { setupTrainingJobController } from './controllers/trainingjob/controller.ts';
import {
  createLogger,
  EventRecorder,
  loadKubeConfig,
  Manager,
  type NamespaceScope,
  setRateLimit,
  setUserAgent,
} from './runtime/index.ts';

export const DEFAULT_TRAINER_IMAGE = 'localhost/k2k/trainer:dev';
export const DEFAULT_TRAINER_GPU_IMAGE = 'localhost/k2k/trainer-gpu:dev';
export const DEFAULT_SERVER_IMAGE = 'localhost/k2k/model-server:dev';
/** The control plane's own namespaces: k2k creates no Jobs, Roles or RoleBindings there. */
export const DEFAULT_EXCLUDED_NAMESPACES = 'kube-system,kube-public,kube-node-lease';

/** A comma-separated flag as a list, without empty entries. */
const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

const { values: flags } = parseArgs({
  options: {
    kubeconfig: { type: 'string', default: process.env.KUBECONFIG },
    // Namespaced mode: watch and write only these (comma-separated); RBAC from config/namespaced.
    namespaces: {
      type: 'string',
      default: process.env.K2K_WATCH_NAMESPACES ?? process.env.K2K_WATCH_NAMESPACE ?? '',
    },
    /** One namespace: the same as --namespaces with one entry. */
    namespace: { type: 'string' },
    // Cluster-wide mode leaves these out: their objects never reach a cache or a reconcile.
    'excluded-namespaces': {
      type: 'string',
      default: process.env.K2K_EXCLUDED_NAMESPACES ?? DEFAULT_EXCLUDED_NAMESPACES,
    },
    // Empty: any. See PodPolicy (controllers/policy.ts) for how entries match.
    'allowed-images': { type: 'string', default: process.env.K2K_ALLOWED_IMAGES ?? '' },
    'allowed-service-accounts': { type: 'string', default: process.env.K2K_ALLOWED_SERVICE_ACCOUNTS ?? '' },
    'trainer-image': { type: 'string', default: process.env.K2K_TRAINER_IMAGE ?? DEFAULT_TRAINER_IMAGE },
    'trainer-gpu-image': {
      type: 'string',
      default: process.env.K2K_TRAINER_GPU_IMAGE ?? DEFAULT_TRAINER_GPU_IMAGE,
    },
    'server-image': { type: 'string', default: process.env.K2K_SERVER_IMAGE ?? DEFAULT_SERVER_IMAGE },
    'probe-address': { type: 'string', default: process.env.K2K_PROBE_ADDRESS ?? '0.0.0.0:8081' },
    'leader-elect': { type: 'string', default: process.env.K2K_LEADER_ELECT ?? 'true' },
    'leader-election-namespace': {
      type: 'string',
      default: process.env.K2K_LEADER_ELECTION_NAMESPACE ?? process.env.POD_NAMESPACE ?? 'k2k-system',
    },
    'leader-election-id': { type: 'string', default: process.env.K2K_LEADER_ELECTION_ID ?? 'k2k-operator' },
    'lease-duration-seconds': { type: 'string', default: process.env.K2K_LEASE_DURATION_SECONDS ?? '15' },
    identity: { type: 'string', default: process.env.POD_NAME ?? `${hostname()}-${process.pid}` },
    // Keys reconciled in parallel per controller. Reconciles mostly wait on the API server, so
    // more workers than cores pay off; the rate limit below is what protects the API server.
    workers: { type: 'string', default: process.env.K2K_WORKERS ?? '16' },
    // Client-side limit on requests to the API server (client-go's QPS and Burst); status
    // writes and lease renewals go ahead of waiting child applies.
    'kube-api-qps': { type: 'string', default: process.env.K2K_KUBE_API_QPS ?? '200' },
    'kube-api-burst': { type: 'string', default: process.env.K2K_KUBE_API_BURST ?? '400' },
    // Re-queue every TrainingJob and ModelDeployment this often, so a missed event (a child deleted
    // while a watch was down) still converges; 0 turns it off.
    'resync-seconds': { type: 'string', default: process.env.K2K_RESYNC_SECONDS ?? '300' },
    // A watch silent (no event, no bookmark) this long is half-open: close it and watch again.
    'watch-idle-seconds': { type: 'string', default: process.env.K2K_WATCH_IDLE_SECONDS ?? '90' },
    'log-level': { type: 'string', default: process.env.K2K_LOG_LEVEL ?? 'info' },
    // Prometheus's HTTP API (http://prometheus.monitoring.svc:9090): the Drifting condition is
    // asked of it. Empty: Drifting is Unknown (PrometheusNotConfigured).
    'prometheus-url': { type: 'string', default: process.env.K2K_PROMETHEUS_URL ?? '' },
    // How old a model's drift answer may get before Prometheus is asked again.
    'drift-interval-seconds': { type: 'string', default: process.env.K2K_DRIFT_INTERVAL_SECONDS ?? '60' },
    // How long a promoted canary keeps its pods after its weight went to 0: the stable pods apply
    // a new weight within the kubelet's ConfigMap sync (docs/canary.md).
    'canary-drain-seconds': { type: 'string', default: process.env.K2K_CANARY_DRAIN_SECONDS ?? '90' },
    // How often to ask the API server again whether it serves ServiceMonitor and PrometheusRule.
    'monitoring-discovery-seconds': {
      type: 'string',
      default: process.env.K2K_MONITORING_DISCOVERY_SECONDS ?? '60',
    },
  },
  strict: true,
});

const leaderElect = flags['leader-elect'] !== 'false';
const scope: NamespaceScope = {
  namespaces: [...list(flags.namespaces), ...list(flags.namespace)],
  excludedNamespaces: list(flags['excluded-namespaces']),
};
const policy: PodPolicy = {
  allowedImages: list(flags['allowed-images']),
  allowedServiceAccounts: list(flags['allowed-service-accounts']),
};

function seconds(
  flag:
    | 'resync-seconds'
    | 'watch-idle-seconds'
    | 'drift-interval-seconds'
    | 'monitoring-discovery-seconds'
    | 'canary-drain-seconds',
): number {
  const n = Number(flags[flag]);
  if (!Number.isFinite(n) || n < 0) {
    throw new Error(`--${flag} must be a number of seconds >= 0, got ${JSON.stringify(flags[flag])}`);
  }
  return n;
}
const logger = createLogger({
  level: flags['log-level'] as 'debug' | 'info' | 'warn' | 'error',
  base: { component: 'k2k-operator' },
});

// Not client-node's KubeConfig: importing it costs 86 MB of memory (runtime/kubeconfig.ts).
const kubeConfig = await loadKubeConfig(flags.kubeconfig);
// Which replica sent a request, in the API server's audit log (replicas share one ServiceAccount).
setUserAgent(kubeConfig, `k2k-operator/${flags.identity}`);
setRateLimit(kubeConfig, { qps: Number(flags['kube-api-qps']), burst: Number(flags['kube-api-burst']) });

const manager = new Manager({
  kubeConfig,
  logger,
  probeAddress: flags['probe-address'],
  resyncPeriodMs: seconds('resync-seconds') * 1000,
  informerOptions: { watchIdleTimeoutMs: seconds('watch-idle-seconds') * 1000 },
  leaderElection: leaderElect
    ? {
        namespace: flags['leader-election-namespace']!,
        name: flags['leader-election-id']!,
        identity: flags.identity!,
        leaseDurationSeconds: Number(flags['lease-duration-seconds']),
        // client-go's proportions: renew well before the lease runs out, retry often.
        renewDeadlineSeconds: Math.max(1, Math.floor((Number(flags['lease-duration-seconds']) * 2) / 3)),
        retryPeriodSeconds: Math.max(1, Math.floor(Number(flags['lease-duration-seconds']) / 7)),
      }
    : false,
});

const events = new EventRecorder(kubeConfig, {
  controller: 'k2k.dev/operator',
  instance: flags.identity!,
  logger,
});
setupTrainingJobController(manager, {
  kubeConfig,
  images: { cpu: flags['trainer-image']!, gpu: flags['trainer-gpu-image']! },
  policy,
  scope,
  workers: Number(flags.workers),
  events,
});
setupModelDeploymentController(manager, {
  kubeConfig,
  server: { image: flags['server-image']! },
  policy,
  scope,
  workers: Number(flags.workers),
  events,
  ...(flags['prometheus-url'] ? { prometheus: { url: flags['prometheus-url'] } } : {}),
  driftIntervalMs: seconds('drift-interval-seconds') * 1000,
  canaryDrainSeconds: seconds('canary-drain-seconds'),
  monitoringDiscoveryIntervalMs: seconds('monitoring-discovery-seconds') * 1000,
});
setupSweepController(manager, { kubeConfig, scope, workers: Number(flags.workers), events });

// The manager stops gracefully on SIGTERM/SIGINT: drains reconciles, releases the lease, exits.
logger.info('starting', {
  identity: flags.identity,
  leaderElection: leaderElect,
  ...scope,
  ...policy,
});
await manager.start();
