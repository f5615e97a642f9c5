// The local node's network plan and the configuration files of its components, as data, so
// node.ts (start, stop, status) and the tests agree on every address and path.
import { join } from 'node:path';
import yaml from 'js-yaml';
import { serviceClusterIpRange } from './components.ts';

/**
 * Addresses of the node. The pod range must not overlap the machine's own routes (here
 * 192.0.2.0/24), the Service range (components.ts, 10.0.0.0/24) nor podman's and buildah's default
 * bridge (10.88.0.0/16, which containerd's examples use too). The bridge's address is the
 * node's InternalIP: the kubelet listens there (the apiserver and metrics-server reach it), and so
 * does the apiserver proxy pods use through the "kubernetes" Service.
 */
export const network = {
  nodeName: 'k2k-node',
  bridge: 'k2k0',
  podCidr: '10.244.0.0/16',
  podPrefixLength: 16,
  nodeIp: '10.244.0.1',
  serviceCidr: serviceClusterIpRange,
  /** The "kubernetes" Service's ClusterIP: the first address of the Service range. */
  apiserverServiceIp: '10.0.0.1',
  /** Where pods reach the apiserver: a TCP proxy on the bridge to the apiserver on 127.0.0.1. */
  apiserverProxyPort: 6443,
  clusterDnsIp: '10.0.0.10',
  clusterDomain: 'cluster.local',
  kubeletPort: 10250,
  kubeletHealthzPort: 10248,
  kubeProxyHealthzPort: 10256,
  kubeProxyMetricsPort: 10249,
} as const;

/** Every path of a node's state directory. */
export interface NodeLayout {
  dir: string;
  pkiDir: string;
  containerd: { config: string; root: string; state: string; socket: string };
  cni: { confDir: string; ipamDir: string };
  kubelet: { config: string; kubeconfig: string; rootDir: string; podLogsDir: string };
  kubeProxy: { config: string; kubeconfig: string };
}

export function nodeLayout(dir: string): NodeLayout {
  return {
    dir,
    pkiDir: join(dir, 'pki'),
    containerd: {
      config: join(dir, 'containerd.toml'),
      root: join(dir, 'containerd', 'root'),
      state: join(dir, 'containerd', 'state'),
      // A unix socket path must stay under 108 bytes: keep it short and near the top.
      socket: join(dir, 'containerd.sock'),
    },
    cni: { confDir: join(dir, 'cni', 'net.d'), ipamDir: join(dir, 'cni', 'ipam') },
    kubelet: {
      config: join(dir, 'kubelet.yaml'),
      kubeconfig: join(dir, 'kubelet.kubeconfig'),
      rootDir: join(dir, 'kubelet'),
      podLogsDir: join(dir, 'pod-logs'),
    },
    kubeProxy: { config: join(dir, 'kube-proxy.yaml'), kubeconfig: join(dir, 'kube-proxy.kubeconfig') },
  };
}

export const cniBinDir = '/usr/lib/cni';

export function containerdConfig(l: NodeLayout, opts: { sandboxImage: string; metricsPort: number }): string {
  const q = JSON.stringify;
  return `# Written by hack/cluster/node.ts: a containerd of its own, nothing under /var/lib or /run/containerd.
version = 2
root = ${q(l.containerd.root)}
state = ${q(l.containerd.state)}
# Snapshotters this kernel or node does not use; they only log errors at start.
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = ${q(l.containerd.socket)}

# Its health endpoint for node.ts, loopback only.
[metrics]
  address = "127.0.0.1:${opts.metricsPort}"

[plugins."io.containerd.grpc.v1.cri"]
  # Built locally (hack/images/pause.sh): nothing can be pulled from a registry here.
  sandbox_image = ${q(opts.sandboxImage)}
  # Pod network namespaces under the state directory, so teardown finds all of them there.
  netns_mounts_under_state_dir = true
  # This machine withholds CAP_SYS_RESOURCE even from root, so no process may lower its
  # oom_score_adj; the kubelet asks -998 for sandboxes and runc then fails ("can't get final
  # child's PID from pipe"). Clamp containers to containerd's own value instead.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # cgroup v1 and the kubelet's cgroupfs driver; runc's state beside containerd's.
        SystemdCgroup = false
        Root = ${q(join(l.containerd.state, 'runc'))}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${q(cniBinDir)}
    conf_dir = ${q(l.cni.confDir)}
`;
}

/**
 * One bridge network. No ipMasq: nothing leaves the machine (the FORWARD guard in node-host.ts
 * drops it), so there is nothing to masquerade and no CNI-* NAT chains to clean up.
 */
export function cniConfig(l: NodeLayout): string {
  const conf = {
    cniVersion: '0.4.0',
    name: 'k2k',
    plugins: [
      {
        type: 'bridge',
        bridge: network.bridge,
        isGateway: true,
        ipMasq: false,
        // A pod that reaches itself through its own Service needs its packets sent back on the same port.
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: network.podCidr, gateway: network.nodeIp }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: l.cni.ipamDir,
        },
      },
    ],
  };
  return `${JSON.stringify(conf, null, 2)}\n`;
}

export interface KubeletFiles {
  caCert: string;
  servingCert: string;
  servingKey: string;
}

export function kubeletConfig(l: NodeLayout, f: KubeletFiles): string {
  const config = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // This machine's kernel has cgroup v1 only; kubelet 1.35+ refuses it unless told not to.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    containerRuntimeEndpoint: `unix://${l.containerd.socket}`,
    imageServiceEndpoint: `unix://${l.containerd.socket}`,
    address: network.nodeIp,
    port: network.kubeletPort,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: network.kubeletHealthzPort,
    tlsCertFile: f.servingCert,
    tlsPrivateKeyFile: f.servingKey,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: f.caCert },
    },
    authorization: { mode: 'Webhook' },
    clusterDNS: [network.clusterDnsIp],
    clusterDomain: network.clusterDomain,
    // Pods with dnsPolicy Default get no nameserver rather than the machine's resolver, which is
    // off the host and so unreachable from pods anyway (the FORWARD guard).
    resolvConf: '',
    podLogsDir: l.kubelet.podLogsDir,
    failSwapOn: false,
    // A developer machine's disk is often fuller than the defaults (10-15% free) allow.
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    // The pod status reaches the API sooner, which is most of what a test waits on.
    nodeStatusUpdateFrequency: '10s',
  };
  return yaml.dump(config);
}

export function kubeProxyConfig(l: NodeLayout): string {
  const config = {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'iptables',
    clientConnection: { kubeconfig: l.kubeProxy.kubeconfig },
    hostnameOverride: network.nodeName,
    clusterCIDR: network.podCidr,
    bindAddress: '127.0.0.1',
    healthzBindAddress: `127.0.0.1:${network.kubeProxyHealthzPort}`,
    metricsBindAddress: `127.0.0.1:${network.kubeProxyMetricsPort}`,
    // NodePorts only on the node's own addresses, never on the machine's outward interface.
    nodePortAddresses: [`${network.nodeIp}/32`],
    // kube-proxy would otherwise change machine-wide conntrack settings (table size, TCP
    // timeouts) that `down` could not tell apart from the machine's own; 0 leaves each as it is.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
  };
  return yaml.dump(config);
}
