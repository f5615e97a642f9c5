// What the local node changes on the machine itself, and undoing all of it: kernel settings, the
// pod bridge, the FORWARD guard that keeps pod traffic on this machine, and (on teardown) the
// mounts, network namespaces, veths, cgroups and iptables chains its components leave behind.
import { readdir, readFile, readlink, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execFileText } from './exec.ts';
import { network } from './node-config.ts';

/** Kernel settings the node needs; their previous values are recorded and restored by teardown. */
export const sysctls = {
  // Pods reach each other and Service backends through the host's routing.
  'net/ipv4/ip_forward': '1',
  // Bridged pod-to-pod packets must traverse iptables, or Service DNAT misses same-bridge traffic.
  'net/bridge/bridge-nf-call-iptables': '1',
} as const;

export const guardChain = 'K2K-POD-GUARD';
const guardComment = 'k2k: pod traffic stays on this machine';

/** What the machine looked like before the node first started: what teardown restores or keeps. */
export interface HostBefore {
  sysctls: Record<string, string>;
  /** KUBE-* chains that existed before (another cluster's): teardown leaves them alone. */
  kubeChains: string[];
}

async function run(cmd: string, args: readonly string[]): Promise<string> {
  return execFileText(cmd, args);
}

async function tryRun(cmd: string, args: readonly string[]): Promise<string | undefined> {
  try {
    return await run(cmd, args);
  } catch {
    return undefined;
  }
}

export async function readSysctl(key: string): Promise<string> {
  return (await readFile(join('/proc/sys', key), 'utf8')).trim();
}

async function writeSysctl(key: string, value: string): Promise<void> {
  await writeFile(join('/proc/sys', key), `${value}\n`);
}

export async function recordHost(): Promise<HostBefore> {
  const before: Record<string, string> = {};
  for (const key of Object.keys(sysctls)) before[key] = await readSysctl(key);
  return { sysctls: before, kubeChains: await kubeChains() };
}

export async function applySysctls(): Promise<void> {
  for (const [key, value] of Object.entries(sysctls)) await writeSysctl(key, value);
}

export async function restoreSysctls(before: HostBefore | undefined): Promise<void> {
  for (const [key, value] of Object.entries(before?.sysctls ?? {})) await writeSysctl(key, value);
}

/**
 * Creates the pod bridge with the node's address before the first pod does (the CNI bridge plugin
 * reuses it), so the kubelet and the apiserver proxy can listen on that address from the start.
 */
export async function ensureBridge(): Promise<void> {
  if ((await tryRun('ip', ['link', 'show', network.bridge])) === undefined) {
    await run('ip', ['link', 'add', network.bridge, 'type', 'bridge']);
  }
  const addrs = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', network.bridge]);
  if (!addrs.includes(` ${network.nodeIp}/`)) {
    await run('ip', ['addr', 'add', `${network.nodeIp}/${network.podPrefixLength}`, 'dev', network.bridge]);
  }
  await run('ip', ['link', 'set', network.bridge, 'up']);
  // The Service range is routed onto the bridge, from the node's address: a connection from this
  // machine to a ClusterIP then leaves from 10.244.0.1 towards the pod kube-proxy picks, and one to
  // a ClusterIP kube-proxy has no rule for (yet) goes nowhere, instead of out of the default route
  // to the machine's gateway. Deleting the bridge takes the route with it.
  await run('ip', ['route', 'replace', network.serviceCidr, 'dev', network.bridge, 'src', network.nodeIp]);
}

/** The guard's rules, in order (iptables arguments after `-A <chain>`). */
export function guardRules(): string[][] {
  const c = ['-m', 'comment', '--comment', guardComment];
  return [
    // Between pods (Service traffic is already DNATed to a pod address here).
    ['-s', network.podCidr, '-d', network.podCidr, ...c, '-j', 'RETURN'],
    // From a pod to anything else that would be routed: another host, the internet. The node's
    // own addresses are not forwarded (INPUT), so the apiserver proxy and the kubelet stay reachable.
    ['-s', network.podCidr, ...c, '-j', 'DROP'],
    // Into the pod range from anywhere but the bridge: no other host reaches pods through this one.
    ['-d', network.podCidr, '!', '-i', network.bridge, ...c, '-j', 'DROP'],
  ];
}

/**
 * Installs the FORWARD guard as the first rule of FORWARD. Called again after kube-proxy started,
 * because kube-proxy prepends its own jumps (whose ACCEPT rules would otherwise come first).
 */
export async function ensureForwardGuard(): Promise<void> {
  if ((await tryRun('iptables', ['-w', '-n', '-L', guardChain])) === undefined) {
    await run('iptables', ['-w', '-N', guardChain]);
  }
  await run('iptables', ['-w', '-F', guardChain]);
  for (const rule of guardRules()) await run('iptables', ['-w', '-A', guardChain, ...rule]);
  while ((await tryRun('iptables', ['-w', '-D', 'FORWARD', '-j', guardChain])) !== undefined) {
    // Remove every earlier jump so exactly one remains, at the top.
  }
  await run('iptables', ['-w', '-I', 'FORWARD', '1', '-j', guardChain]);
}

/** True when FORWARD's first rule jumps to the guard. */
export async function forwardGuardFirst(): Promise<boolean> {
  const out = await tryRun('iptables', ['-w', '-S', 'FORWARD']);
  const first = out?.split('\n').find((l) => l.startsWith('-A FORWARD'));
  return first === `-A FORWARD -j ${guardChain}`;
}

export async function removeForwardGuard(): Promise<void> {
  while ((await tryRun('iptables', ['-w', '-D', 'FORWARD', '-j', guardChain])) !== undefined) {
    // One jump per earlier start at most; remove them all.
  }
  await tryRun('iptables', ['-w', '-F', guardChain]);
  await tryRun('iptables', ['-w', '-X', guardChain]);
}

const tables = ['filter', 'nat', 'mangle', 'raw'] as const;
const families = ['iptables', 'ip6tables'] as const;

/** "iptables/nat/KUBE-SERVICES" for every KUBE-* chain in every table of both families. */
export async function kubeChains(): Promise<string[]> {
  const found: string[] = [];
  for (const fam of families) {
    for (const table of tables) {
      const out = (await tryRun(`${fam}-save`, ['-t', table])) ?? '';
      for (const m of out.matchAll(/^:(KUBE-\S+)/gm)) found.push(`${fam}/${table}/${m[1]}`);
    }
  }
  return found;
}

/** Splits an iptables-save rule line into arguments, honouring double quotes (comments). */
export function splitRule(line: string): string[] {
  const args: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    args.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] as string));
  }
  return args;
}

/**
 * Deletes the KUBE-* chains that kubelet and kube-proxy made (all but `keep`), with every rule
 * that jumps to them. `kube-proxy --cleanup` removes most; this also covers the kubelet's.
 */
export async function removeKubeChains(keep: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const fam of families) {
    for (const table of tables) {
      const out = (await tryRun(`${fam}-save`, ['-t', table])) ?? '';
      const ours = [...out.matchAll(/^:(KUBE-\S+)/gm)]
        .map((m) => m[1] as string)
        .filter((chain) => !keep.includes(`${fam}/${table}/${chain}`));
      if (ours.length === 0) continue;
      // Rules in chains we keep (built-in ones like FORWARD) that jump into ours.
      for (const line of out.split('\n').filter((l) => l.startsWith('-A '))) {
        const args = splitRule(line);
        const chain = args[1] as string;
        const target = args[args.indexOf('-j') + 1];
        if (!ours.includes(chain) && target !== undefined && ours.includes(target)) {
          await tryRun(fam, ['-w', '-t', table, '-D', chain, ...args.slice(2)]);
        }
      }
      for (const chain of ours) await tryRun(fam, ['-w', '-t', table, '-F', chain]);
      for (const chain of ours) {
        if ((await tryRun(fam, ['-w', '-t', table, '-X', chain])) !== undefined) {
          removed.push(`${fam}/${table}/${chain}`);
        }
      }
    }
  }
  return removed;
}

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const points = info
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

export async function unmountUnder(dir: string): Promise<number> {
  let count = 0;
  // Mounts can be stacked on one point; repeat until none is left or no progress is made.
  for (let round = 0; round < 5; round++) {
    const points = await mountsUnder(dir);
    if (points.length === 0) break;
    for (const p of points) {
      if ((await tryRun('umount', [p])) !== undefined || (await tryRun('umount', ['-l', p])) !== undefined) {
        count++;
      }
    }
  }
  return count;
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/** Pids of every process whose command line contains `needle` (e.g. our containerd socket). */
export async function pidsWithArg(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await listDir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.split('\0').some((a) => a.includes(needle))) pids.push(Number(entry));
    } catch {
      // Exited meanwhile.
    }
  }
  return pids;
}

const cgroupRoot = '/sys/fs/cgroup';
/** The kubelet's cgroup (cgroupsPerQOS with cgroupRoot /) in each v1 controller hierarchy. */
const podsCgroup = 'kubepods';

/** Pids in the kubelet's pod cgroups: the containers, which outlive a killed containerd. */
export async function podProcesses(): Promise<number[]> {
  const pids = new Set<number>();
  const walk = async (dir: string): Promise<void> => {
    for (const pid of ((await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '')) as string)
      .split('\n')
      .filter(Boolean)) {
      pids.add(Number(pid));
    }
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await walk(join(dir, e.name));
  };
  await walk(join(cgroupRoot, 'pids', podsCgroup));
  await walk(join(cgroupRoot, 'memory', podsCgroup));
  return [...pids];
}

/** Removes the pod cgroups, deepest first; a cgroup with processes left in it cannot be removed. */
export async function removePodCgroups(): Promise<string[]> {
  const left: string[] = [];
  const removeTree = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await removeTree(join(dir, e.name));
    try {
      await rmdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') left.push(dir);
    }
  };
  for (const controller of await listDir(cgroupRoot)) {
    const dir = join(cgroupRoot, controller, podsCgroup);
    if (
      await stat(dir).then(
        () => true,
        () => false,
      )
    )
      await removeTree(dir);
  }
  return left;
}

export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
}

/** SIGKILLs pod processes and our shims until none is left (a shim may restart nothing, but be safe). */
export async function killPodsAndShims(containerdSocket: string): Promise<number> {
  let killed = 0;
  for (let round = 0; round < 20; round++) {
    const pids = [...(await podProcesses()), ...(await pidsWithArg(containerdSocket))];
    if (pids.length === 0) break;
    killAll(pids);
    killed += pids.length;
    await sleep(100);
  }
  return killed;
}

/** Deletes the bridge and any veth still attached to it. */
export async function removeBridge(): Promise<string[]> {
  const removed: string[] = [];
  const attached = (await tryRun('ip', ['-o', 'link', 'show', 'master', network.bridge])) ?? '';
  for (const m of attached.matchAll(/^\d+: ([^:@]+)[@:]/gm)) {
    if ((await tryRun('ip', ['link', 'del', m[1] as string])) !== undefined) removed.push(m[1] as string);
  }
  if ((await tryRun('ip', ['link', 'del', network.bridge])) !== undefined) removed.push(network.bridge);
  return removed;
}

export async function flushPodConntrack(): Promise<void> {
  await tryRun('conntrack', ['-D', '-s', network.podCidr]);
  await tryRun('conntrack', ['-D', '-d', network.podCidr]);
}

/** The kubelet's symlinks in /var/log/containers (a fixed path) that point into our pod log directory. */
export async function removeContainerLogLinks(podLogsDir: string): Promise<number> {
  let count = 0;
  const dir = '/var/log/containers';
  for (const name of await listDir(dir)) {
    const target = await readlink(join(dir, name)).catch(() => '');
    if (target.startsWith(`${podLogsDir}/`)) {
      await rm(join(dir, name), { force: true });
      count++;
    }
  }
  return count;
}

/**
 * libcni's result cache, a fixed path: /var/lib/cni/results/<network>-<sandbox id>-<interface>,
 * for our bridge network ("k2k") and the loopback network containerd adds to every sandbox.
 */
export async function removeCniCache(networkName: string, sandboxIds: readonly string[]): Promise<number> {
  let count = 0;
  const dir = '/var/lib/cni/results';
  for (const name of await listDir(dir)) {
    if (name.startsWith(`${networkName}-`) || sandboxIds.some((id) => name.includes(`-${id}-`))) {
      await rm(join(dir, name), { force: true });
      count++;
    }
  }
  return count;
}

/** A summary of the machine's network devices, mounts and iptables rules, to compare before and after. */
export async function hostSnapshot(dirs: readonly string[]): Promise<{
  links: string[];
  mounts: string[];
  iptables: string[];
  sysctls: string[];
  files: string[];
}> {
  const links = ((await tryRun('ip', ['-o', 'link', 'show'])) ?? '')
    .split('\n')
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined)
    .sort();
  const mounts = (await Promise.all(dirs.map(mountsUnder))).flat();
  const iptables: string[] = [];
  for (const fam of families) {
    for (const table of tables) {
      const out = (await tryRun(`${fam}-save`, ['-t', table])) ?? '';
      for (const l of out.split('\n')) {
        if (
          l.startsWith('-A ') ||
          (l.startsWith(':') && !/^:(INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) /.test(l))
        ) {
          iptables.push(`${fam} ${table} ${l.replace(/\[\d+:\d+\]/, '')}`);
        }
      }
    }
  }
  const sysctlValues = await Promise.all(
    Object.keys(sysctls).map(async (k) => `${k}=${await readSysctl(k).catch(() => '?')}`),
  );
  const files = [
    ...(await listDir('/var/lib/cni/results')).map((f) => `/var/lib/cni/results/${f}`),
    ...(await listDir('/var/log/containers')).map((f) => `/var/log/containers/${f}`),
    ...(await listDir(join(cgroupRoot, 'memory', podsCgroup)).then((e) =>
      e.length ? [`${cgroupRoot}/memory/${podsCgroup}`] : [],
    )),
  ];
  return { links, mounts, iptables, sysctls: sysctlValues, files };
}
