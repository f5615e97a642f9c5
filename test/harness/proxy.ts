// A TCP proxy in front of the API server for network faults: the runtime's informer, leader and
// manager tests and the operator's fault tests put it between a client and the real API server.
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import yaml from 'js-yaml';

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

/** A copy of the kubeconfig file at `path` that talks to `server` instead (same credentials). */
export async function kubeconfigFileVia(path: string, server: string): Promise<string> {
  const doc = yaml.load(await readFile(path, 'utf8')) as { clusters: Array<{ cluster: { server: string } }> };
  for (const c of doc.clusters) c.cluster.server = server;
  const out = `${path}.via-${new URL(server).port}`;
  await writeFile(out, yaml.dump(doc), { mode: 0o600 });
  return out;
}
