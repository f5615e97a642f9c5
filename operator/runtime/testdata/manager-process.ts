// A Manager with leader election in a process of its own, so tests can end it the way a pod ends:
// SIGTERM (graceful: drain, release the lease) or SIGKILL (no release at all).
// Env: K2K_TEST_KUBECONFIG, LEASE_NAMESPACE, IDENTITY. Logs JSON lines on stdout.
import { KubeConfig } from '@kubernetes/client-node';
import { Controller } from '../controller.ts';
import { createLogger } from '../logger.ts';
import { Manager } from '../manager.ts';

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

const kc = new KubeConfig();
kc.loadFromFile(env('K2K_TEST_KUBECONFIG'));
const namespace = env('LEASE_NAMESPACE');
const identity = env('IDENTITY');
const logger = createLogger({ base: { identity } });
const manager = new Manager({
  kubeConfig: kc,
  logger,
  probeAddress: '127.0.0.1:0',
  leaderElection: {
    namespace,
    name: 'runtime-test',
    identity,
    leaseDurationSeconds: 3,
    renewDeadlineSeconds: 2,
    retryPeriodSeconds: 0.5,
  },
});
const configMaps = manager.informer({ apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespace });
manager.add(
  new Controller({
    name: 'echo',
    logger,
    reconcile: async (key, log) => {
      log.info('reconciled', { reconciled: key });
    },
  }).watches(configMaps),
);
await manager.start();
logger.info('manager started', { address: manager.address() });
