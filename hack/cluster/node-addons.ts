// The local node's cluster add-ons, run as processes on the node's bridge address rather than as
// pods (no images to build, up in a second): CoreDNS answers the cluster.local zone behind the
// kube-dns Service, metrics-server serves the resource metrics API an HPA on CPU reads. Each
// gets its own client certificate and the RBAC rules its upstream manifests grant.
import { join } from 'node:path';
import { network } from './node-config.ts';

export interface AddonLayout {
  corefile: string;
  corednsKubeconfig: string;
  metricsServerKubeconfig: string;
  metricsServerCert: string;
  metricsServerKey: string;
}

export function addonLayout(dir: string): AddonLayout {
  return {
    corefile: join(dir, 'Corefile'),
    corednsKubeconfig: join(dir, 'coredns.kubeconfig'),
    metricsServerKubeconfig: join(dir, 'metrics-server.kubeconfig'),
    metricsServerCert: join(dir, 'pki', 'metrics-server-serving.crt'),
    metricsServerKey: join(dir, 'pki', 'metrics-server-serving.key'),
  };
}

export const corednsUser = 'k2k:coredns';
export const metricsServerUser = 'k2k:metrics-server';
export const metricsServerPort = 4443;

/**
 * Cluster names only. Nothing is forwarded: every other name is NXDOMAIN at once, because the
 * machine's resolver is off this host and pods must not reach it.
 */
export function corefile(kubeconfig: string, readyPort: number): string {
  return `${network.clusterDomain}:53 in-addr.arpa:53 ip6.arpa:53 {
    bind ${network.nodeIp}
    errors
    ready 127.0.0.1:${readyPort}
    kubernetes ${network.clusterDomain} in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfig} k2k
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 30
}
.:53 {
    bind ${network.nodeIp}
    errors
    template ANY ANY {
        rcode NXDOMAIN
    }
}
`;
}

const rbac = (user: string, name: string, rules: object[]) => [
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
  },
];

/** A Service without selector and the EndpointSlice that points it at the node's own address. */
export function hostService(
  namespace: string,
  name: string,
  clusterIP: string | undefined,
  ports: Array<{ name: string; port: number; targetPort: number; protocol: 'TCP' | 'UDP' }>,
) {
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace, labels: { 'k8s-app': name } },
      spec: {
        ...(clusterIP ? { clusterIP } : {}),
        ports: ports.map(({ name: n, port, targetPort, protocol }) => ({
          name: n,
          port,
          targetPort,
          protocol,
        })),
      },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name,
        namespace,
        labels: {
          'kubernetes.io/service-name': name,
          'endpointslice.kubernetes.io/managed-by': 'local-node.k2k.dev',
        },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [network.nodeIp], conditions: { ready: true } }],
      ports: ports.map(({ name: n, targetPort, protocol }) => ({ name: n, port: targetPort, protocol })),
    },
  ];
}

export function addonManifests(caBundle: string): object[] {
  return [
    ...rbac(corednsUser, 'k2k:coredns', [
      {
        apiGroups: [''],
        resources: ['endpoints', 'services', 'pods', 'namespaces'],
        verbs: ['list', 'watch'],
      },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
    ]),
    ...hostService('kube-system', 'kube-dns', network.clusterDnsIp, [
      { name: 'dns', port: 53, targetPort: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53, targetPort: 53, protocol: 'TCP' },
    ]),
    ...rbac(metricsServerUser, 'k2k:metrics-server', [
      { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
      { apiGroups: [''], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] },
    ]),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'k2k:metrics-server:auth-delegator' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: metricsServerUser }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'k2k:metrics-server:auth-reader', namespace: 'kube-system' },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'extension-apiserver-authentication-reader',
      },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: metricsServerUser }],
    },
    ...hostService('kube-system', 'metrics-server', undefined, [
      { name: 'https', port: 443, targetPort: metricsServerPort, protocol: 'TCP' },
    ]),
    {
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: 'v1beta1.metrics.k8s.io' },
      spec: {
        group: 'metrics.k8s.io',
        version: 'v1beta1',
        service: { name: 'metrics-server', namespace: 'kube-system', port: 443 },
        caBundle,
        groupPriorityMinimum: 100,
        versionPriority: 100,
      },
    },
  ];
}

export function metricsServerArgs(l: AddonLayout, caCert: string): string[] {
  return [
    `--bind-address=${network.nodeIp}`,
    `--secure-port=${metricsServerPort}`,
    `--tls-cert-file=${l.metricsServerCert}`,
    `--tls-private-key-file=${l.metricsServerKey}`,
    `--kubeconfig=${l.metricsServerKubeconfig}`,
    `--authentication-kubeconfig=${l.metricsServerKubeconfig}`,
    `--authorization-kubeconfig=${l.metricsServerKubeconfig}`,
    '--kubelet-preferred-address-types=InternalIP',
    '--kubelet-use-node-status-port',
    `--kubelet-certificate-authority=${caCert}`,
    // The HPA sees new usage sooner; the default 60s makes a scale-up test wait minutes.
    '--metric-resolution=15s',
  ];
}
