// One tree's model server (server/main.ts under tsx) on the benchmark's artifact, on free loopback
// ports, for the tools that start servers of their own (ab.ts, account.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { freePort } from './ports.ts';

export interface ServerProcess {
  tree: string;
  child: ChildProcess;
  port: number;
  grpcPort: number;
}

export interface ServerOptions {
  model: string;
  backend: string;
  /** Flags for node itself (--cpu-prof, --perf-basic-prof, --trace-gc...). */
  nodeArgs?: string[];
  /** A command the server runs under, e.g. ['taskset', '-c', '1']. */
  wrapper?: string[];
}

/** Starts the server and resolves once its model answers ready. */
export async function startServer(tree: string, uri: string, opts: ServerOptions): Promise<ServerProcess> {
  const [port, grpcPort] = [await freePort(), await freePort()];
  const command = [
    ...(opts.wrapper ?? []),
    process.execPath,
    ...(opts.nodeArgs ?? []),
    '--import',
    'tsx',
    'server/main.ts',
  ];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: tree,
    env: {
      ...process.env,
      K2K_MODEL_URI: uri,
      K2K_MODEL_NAME: opts.model,
      K2K_HOST: '127.0.0.1',
      K2K_PORT: String(port),
      K2K_GRPC_PORT: String(grpcPort),
      K2K_ADMIN_PORT: '0',
      K2K_LOG_LEVEL: 'warn',
      K2K_BACKEND: opts.backend,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (let i = 0; ; i++) {
    if (i > 1200 || child.exitCode !== null) throw new Error(`${tree}: server not ready`);
    const ok = await fetch(`http://127.0.0.1:${port}/v2/models/${opts.model}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { tree, child, port, grpcPort };
}

/** SIGTERM, and resolves when the process has exited (a clean exit writes a CPU profile). */
export async function stopServer(s: ServerProcess): Promise<void> {
  if (s.child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    s.child.once('exit', () => resolve());
    s.child.kill('SIGTERM');
  });
}

const TICKS_PER_SECOND = 100; // Linux USER_HZ

export interface CpuTimes {
  user: number;
  system: number;
}

/** User and system CPU seconds of a process, or of one of its threads, from /proc. */
export function cpuTimes(pid: number, task?: string): CpuTimes {
  const stat = readFileSync(task ? `/proc/${pid}/task/${task}/stat` : `/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / TICKS_PER_SECOND, system: Number(fields[12]) / TICKS_PER_SECOND };
}

/**
 * CPU seconds of a process's threads, summed under `label(task, comm)` (by default the thread's
 * name: the main JS thread and V8's GC and compiler helpers are all "node", libuv's pool and tsx's
 * loader have their own); threads that end meanwhile are left out.
 */
export function threadCpuTimes(
  pid: number,
  label: (task: string, comm: string) => string = (_task, comm) => comm,
): Map<string, CpuTimes> {
  const out = new Map<string, CpuTimes>();
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = label(task, readFileSync(`/proc/${pid}/task/${task}/comm`, 'utf8').trim());
      const t = cpuTimes(pid, task);
      const sum = out.get(name) ?? { user: 0, system: 0 };
      out.set(name, { user: sum.user + t.user, system: sum.system + t.system });
    } catch {
      // the thread ended
    }
  }
  return out;
}
