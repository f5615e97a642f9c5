// The command lines of etcd, kube-apiserver, kube-controller-manager and kube-scheduler, as data,
// so the library (child processes of a test run) and the CLI (long-lived background processes)
// start exactly the same control plane.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Binaries } from './binaries.ts';
import type { Pki } from './pki.ts';
import type { ComponentSpec } from './process.ts';

export interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
}

export interface Layout {
  dir: string;
  pki: Pki;
  ports: Ports;
  etcdDataDir: string;
  kubeconfigs: { admin: string; controllerManager: string; scheduler: string };
}

export interface ComponentOptions {
  /** etcd --unsafe-no-fsync: much faster writes, no durability. Right for throwaway test clusters. */
  etcdUnsafeNoFsync: boolean;
}

export const serviceClusterIpRange = '10.0.0.0/24';
export const serviceAccountIssuer = 'https://kubernetes.default.svc.cluster.local';

const loopback = '127.0.0.1';

export function apiserverUrl(ports: Ports): string {
  return `https://${loopback}:${ports.apiserver}`;
}

export function etcdSpec(
  bins: Binaries,
  l: Pick<Layout, 'ports' | 'etcdDataDir'>,
  opts: ComponentOptions,
): ComponentSpec {
  const client = `http://${loopback}:${l.ports.etcdClient}`;
  const peer = `http://${loopback}:${l.ports.etcdPeer}`;
  return {
    name: 'etcd',
    command: bins.etcd,
    args: [
      '--name=k2k',
      `--data-dir=${l.etcdDataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=k2k=${peer}`,
      '--log-level=warn',
      ...(opts.etcdUnsafeNoFsync ? ['--unsafe-no-fsync'] : []),
    ],
    health: { url: `${client}/health`, auth: {} },
  };
}

export function apiserverSpec(bins: Binaries, l: Layout): ComponentSpec {
  const { pki } = l;
  return {
    name: 'kube-apiserver',
    command: bins.kubeApiserver,
    args: [
      `--etcd-servers=http://${loopback}:${l.ports.etcdClient}`,
      `--bind-address=${loopback}`,
      `--advertise-address=${loopback}`,
      `--secure-port=${l.ports.apiserver}`,
      `--tls-cert-file=${pki.apiserver.cert}`,
      `--tls-private-key-file=${pki.apiserver.key}`,
      `--client-ca-file=${pki.ca.cert}`,
      '--authorization-mode=Node,RBAC',
      `--service-account-issuer=${serviceAccountIssuer}`,
      `--service-account-key-file=${pki.serviceAccount.pub}`,
      `--service-account-signing-key-file=${pki.serviceAccount.key}`,
      `--service-cluster-ip-range=${serviceClusterIpRange}`,
      `--kubelet-client-certificate=${pki.kubeletClient.cert}`,
      `--kubelet-client-key=${pki.kubeletClient.key}`,
      // The local node (node.ts) is reached at its InternalIP: its name resolves nowhere, and a
      // lookup would go to the machine's resolver.
      '--kubelet-preferred-address-types=InternalIP,Hostname',
      // The aggregation layer, for API servers like metrics-server. Routing to their endpoints
      // rather than their Service IP works without kube-proxy.
      `--requestheader-client-ca-file=${pki.frontProxyCa.cert}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${pki.frontProxyClient.cert}`,
      `--proxy-client-key-file=${pki.frontProxyClient.key}`,
      '--enable-aggregator-routing=true',
      '--allow-privileged=true',
      // The "kubernetes" Service's endpoints would be 127.0.0.1, which the API rejects as loopback;
      // without a reconciler the apiserver does not log that rejection every 10 seconds.
      '--endpoint-reconciler-type=none',
    ],
    health: { url: `${apiserverUrl(l.ports)}/readyz`, auth: adminTls(l) },
  };
}

export function controllerManagerSpec(bins: Binaries, l: Layout): ComponentSpec {
  const kc = l.kubeconfigs.controllerManager;
  return {
    name: 'kube-controller-manager',
    command: bins.kubeControllerManager,
    args: [
      `--kubeconfig=${kc}`,
      `--authentication-kubeconfig=${kc}`,
      `--authorization-kubeconfig=${kc}`,
      `--bind-address=${loopback}`,
      `--secure-port=${l.ports.controllerManager}`,
      `--cert-dir=${join(l.dir, 'kube-controller-manager-certs')}`,
      // Each controller talks to the API as its own ServiceAccount, as in a real cluster, so RBAC
      // gaps in the bootstrap roles show up here too.
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${l.pki.serviceAccount.key}`,
      `--root-ca-file=${l.pki.ca.cert}`,
      `--cluster-signing-cert-file=${l.pki.ca.cert}`,
      `--cluster-signing-key-file=${l.pki.ca.key}`,
      `--service-cluster-ip-range=${serviceClusterIpRange}`,
      '--leader-elect=false',
      // The default 20 requests/s throttles its start-up (a ServiceAccount and token per controller)
      // and every test that waits on a controller; a test cluster has no one else to protect.
      '--kube-api-qps=200',
      '--kube-api-burst=400',
    ],
    health: { url: `https://${loopback}:${l.ports.controllerManager}/healthz`, auth: { insecure: true } },
  };
}

export function schedulerSpec(bins: Binaries, l: Layout): ComponentSpec {
  const kc = l.kubeconfigs.scheduler;
  return {
    name: 'kube-scheduler',
    command: bins.kubeScheduler,
    args: [
      `--kubeconfig=${kc}`,
      `--authentication-kubeconfig=${kc}`,
      `--authorization-kubeconfig=${kc}`,
      `--bind-address=${loopback}`,
      `--secure-port=${l.ports.scheduler}`,
      `--cert-dir=${join(l.dir, 'kube-scheduler-certs')}`,
      '--leader-elect=false',
    ],
    health: { url: `https://${loopback}:${l.ports.scheduler}/healthz`, auth: { insecure: true } },
  };
}

function adminTls(l: Layout) {
  return {
    ca: readFileSync(l.pki.ca.cert),
    cert: readFileSync(l.pki.admin.cert),
    key: readFileSync(l.pki.admin.key),
  };
}
