// Test helpers of the runtime's integration tests (they run against the real kube-apiserver of the
// test harness).
import { Writable } from 'node:stream';
import { CoreV1Api, KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Informer } from '../informer.ts';
import { createLogger, type Logger } from '../logger.ts';

export { eventually } from '../../../test/harness/eventually.ts';
export { freshNamespace, testKubeConfig } from '../../../test/harness/kube.ts';
export { startProxy } from '../../../test/harness/proxy.ts';

/** Logs of the code under test go to stderr only when K2K_TEST_LOG=1, to keep test output readable. */
export function testLogger(): Logger {
  return createLogger({ level: 'debug', stream: process.env.K2K_TEST_LOG ? process.stderr : devNull() });
}

function devNull(): NodeJS.WritableStream {
  return new Writable({ write: (_chunk, _enc, done) => done() });
}

export function core(kc: KubeConfig): CoreV1Api {
  return kc.makeApiClient(CoreV1Api);
}

/** A copy of `kc` that talks to `server` instead (same credentials). */
export function kubeConfigVia(kc: KubeConfig, server: string): KubeConfig {
  const cluster = kc.getCurrentCluster()!;
  const copy = new KubeConfig();
  copy.loadFromOptions({
    clusters: [{ ...cluster, server }],
    users: kc.getUsers(),
    contexts: [{ name: 'via', cluster: cluster.name, user: kc.getCurrentUser()!.name }],
    currentContext: 'via',
  });
  return copy;
}

export type Recorded = { event: 'add' | 'update' | 'delete'; name: string; rv?: string; oldRv?: string };

/** Records every event an informer hands to its handlers. */
export function recordEvents<T extends KubernetesObject>(informer: Informer<T>): Recorded[] {
  const events: Recorded[] = [];
  for (const event of ['add', 'update', 'delete'] as const) {
    informer.on(event, (obj, old) =>
      events.push({
        event,
        name: obj.metadata!.name!,
        rv: obj.metadata?.resourceVersion,
        ...(old ? { oldRv: old.metadata?.resourceVersion } : {}),
      }),
    );
  }
  return events;
}
