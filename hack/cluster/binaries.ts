// Where the Kubernetes and etcd binaries live, and building them when they are missing.
// hack/lib/versions.sh is the single source of the pinned versions and the cache location, so it is
// read through bash rather than parsed here.
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ControlPlaneError, ControlPlaneErrorCode } from './errors.ts';
import { execFileText } from './exec.ts';

export const hackDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface Binaries {
  k8sVersion: string;
  etcdVersion: string;
  /** Directory of kube-apiserver, kube-controller-manager, kube-scheduler, kubectl. */
  binDir: string;
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
}

export async function locateBinaries(): Promise<Binaries> {
  const out = await execFileText('bash', [
    '-c',
    'source "$1" && printf "%s\\n" "$K2K_CACHE" "$K8S_VERSION" "$ETCD_VERSION"',
    'versions',
    join(hackDir, 'lib', 'versions.sh'),
  ]);
  const [cache, k8sVersion, etcdVersion] = out.trim().split('\n');
  if (!cache || !k8sVersion || !etcdVersion) {
    throw new ControlPlaneError(ControlPlaneErrorCode.BinaryMissing, `hack/lib/versions.sh printed ${out}`);
  }
  const binDir = join(cache, `kubernetes-${k8sVersion}`, 'bin');
  return {
    k8sVersion,
    etcdVersion,
    binDir,
    etcd: join(cache, `etcd-${etcdVersion}`, 'bin', 'etcd'),
    kubeApiserver: join(binDir, 'kube-apiserver'),
    kubeControllerManager: join(binDir, 'kube-controller-manager'),
    kubeScheduler: join(binDir, 'kube-scheduler'),
  };
}

async function missing(bins: Binaries): Promise<string[]> {
  const paths = [bins.etcd, bins.kubeApiserver, bins.kubeControllerManager, bins.kubeScheduler];
  const absent: string[] = [];
  for (const p of paths) {
    try {
      await access(p, constants.X_OK);
    } catch {
      absent.push(p);
    }
  }
  return absent;
}

/** Returns the binaries, running hack/build-k8s.sh first (its output streamed to `log`) if any is missing. */
export async function ensureBinaries(log: (line: string) => void): Promise<Binaries> {
  const bins = await locateBinaries();
  const absent = await missing(bins);
  if (absent.length === 0) return bins;
  log(`missing ${absent.join(', ')}: running hack/build-k8s.sh (minutes on a cold cache)`);
  const started = Date.now();
  const child = spawn('bash', [join(hackDir, 'build-k8s.sh')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 30) tail.shift();
      // `go: downloading` lines are hundreds of lines of noise; the script's own lines are the progress.
      if (!line.startsWith('go: downloading')) log(`build-k8s: ${line}`);
    });
  }
  const code = await new Promise<number | null>((res) => child.on('close', res));
  if (code !== 0) {
    throw new ControlPlaneError(
      ControlPlaneErrorCode.BuildFailed,
      `hack/build-k8s.sh exited with ${code}; last lines:\n${tail.join('\n')}`,
    );
  }
  const still = await missing(bins);
  if (still.length > 0) {
    throw new ControlPlaneError(
      ControlPlaneErrorCode.BinaryMissing,
      `hack/build-k8s.sh succeeded but ${still.join(', ')} is missing`,
    );
  }
  log(`binaries built in ${seconds(Date.now() - started)}`);
  return bins;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Runs `fn` and logs how long it took: the progress lines of cluster start-up. */
export function timedStep(log: (line: string) => void) {
  return async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    const out = await fn();
    log(`${what} in ${seconds(Date.now() - started)}`);
    return out;
  };
}
