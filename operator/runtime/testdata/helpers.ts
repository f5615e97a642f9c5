// Test helpers of the runtime's integration tests (they run against the real kube-apiserver of the
// test harness).
import net from 'node:net';
import { Writable } from 'node:stream';
import { CoreV1Api, KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Informer } from '../informer.ts';
import { createLogger, type Logger } from '../logger.ts';

export { eventually } from '../../../test/harness/eventually.ts';
export { freshNamespace, testKubeConfig } from '../../../test/harness/kube.ts';

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

/**
 * A TCP proxy on 127.0.0.1 in front of the API server (TLS passes through untouched). cut()
 * resets every connection and refuses new ones until restore(): a network failure, for real.
 * freeze() makes the open connections go silent without closing them (a half-open connection,
 * as after a NAT or load balancer drops its state); new connections work.
 */
export async function startProxy(target: URL): Promise<{
  url: string;
  cut(): Promise<void>;
  restore(): Promise<void>;
  freeze(): void;
  close(): Promise<void>;
}> {
  const sockets = new Set<net.Socket>();
  // Frozen sockets are paused, so they never read the peer's close: cut() must destroy them itself.
  const frozen = new Set<net.Socket>();
  let port = 0;
  let server: net.Server | undefined;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer((client) => {
        const upstream = net.connect(Number(target.port), target.hostname);
        for (const sock of [client, upstream]) {
          sockets.add(sock);
          sock.on('close', () => sockets.delete(sock));
          sock.on('error', () => {});
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as net.AddressInfo).port;
        server = s;
        resolve();
      });
    });
  const cut = async () => {
    const s = server;
    server = undefined;
    const closed = new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
    for (const sock of [...sockets, ...frozen]) sock.resetAndDestroy();
    frozen.clear();
    await closed;
  };
  const freeze = () => {
    for (const sock of sockets) {
      sock.unpipe();
      sock.pause();
      frozen.add(sock);
    }
    sockets.clear();
  };
  await listen();
  return { url: `https://127.0.0.1:${port}`, cut, restore: listen, freeze, close: cut };
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
