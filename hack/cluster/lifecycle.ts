// Where a test control plane lives (free loopback ports, tmpfs) and how it is cleaned up when its
// process goes away without calling stop(): exit and signal handlers, and a watchdog process for
// SIGKILL and crashes.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import type { Ports } from './components.ts';

/** Holds all listeners open at once so the five ports are distinct, then frees them for the components. */
export async function allocatePorts(): Promise<Ports> {
  const servers = await Promise.all(
    Array.from(
      { length: 5 },
      () =>
        new Promise<ReturnType<typeof createServer>>((res, rej) => {
          const s = createServer();
          s.on('error', rej);
          s.listen(0, '127.0.0.1', () => res(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const addr = s.address();
    if (addr === null || typeof addr === 'string') throw new Error('listener has no port');
    return addr.port;
  });
  await Promise.all(servers.map((s) => new Promise((res) => s.close(res))));
  const [etcdClient, etcdPeer, apiserver, controllerManager, scheduler] = ports as [
    number,
    number,
    number,
    number,
    number,
  ];
  return { etcdClient, etcdPeer, apiserver, controllerManager, scheduler };
}
/** tmpfs when available: etcd's writes and the teardown's rm stay in memory. */
export function tempBase(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

// One set of process-wide handlers, shared by every live control plane of this process.
const exitCleanups = new Set<() => void>();
const signals = ['SIGINT', 'SIGTERM'] as const;

function runExitCleanups(): void {
  for (const fn of exitCleanups) fn();
  exitCleanups.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  runExitCleanups();
  for (const s of signals) process.off(s, onSignal);
  // Restore the default behaviour (terminate) unless someone else handles the signal.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

export function registerExitCleanup(fn: () => void): void {
  if (exitCleanups.size === 0) {
    process.on('exit', runExitCleanups);
    for (const s of signals) process.on(s, onSignal);
  }
  exitCleanups.add(fn);
}

export function unregisterExitCleanup(fn: () => void): void {
  exitCleanups.delete(fn);
  if (exitCleanups.size === 0) {
    process.off('exit', runExitCleanups);
    for (const s of signals) process.off(s, onSignal);
  }
}

/**
 * A bash loop that outlives a SIGKILLed or crashed parent: when the parent is gone it kills the
 * process groups named by the pid files in `dir` (and removes the directory). Exit handlers cannot
 * run in those cases, and orphaned apiservers would otherwise linger on the machine.
 */
export function startWatchdog(dir: string, removeDir: boolean): number | undefined {
  const script = `
    while kill -0 "$1" 2>/dev/null; do sleep 1; done
    for f in "$2"/*.pid; do [ -f "$f" ] && kill -KILL -- "-$(cat "$f")" 2>/dev/null; done
    if [ "$3" = 1 ]; then rm -rf "$2"; fi`;
  const child = spawn(
    'bash',
    ['-c', script, 'k2k-controlplane-watchdog', String(process.pid), dir, removeDir ? '1' : '0'],
    {
      detached: true,
      stdio: 'ignore',
    },
  );
  child.unref();
  return child.pid;
}
