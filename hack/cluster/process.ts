// Running components as processes: each in its own process group (so a stop reaches anything it
// forks), output appended to <dir>/<name>.log, pid in <dir>/<name>.pid (what `cli.ts down` and the
// watchdog read when the process that started them is gone).
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { seconds } from './binaries.ts';
import { ControlPlaneError, ControlPlaneErrorCode } from './errors.ts';
import { type HttpResponse, request, type TlsAuth } from './http.ts';

export interface HealthCheck {
  url: string;
  auth: TlsAuth;
}

export interface ComponentSpec {
  name: string;
  command: string;
  args: string[];
  health: HealthCheck;
}

export interface RunningComponent {
  name: string;
  pid: number;
  logFile: string;
  /** Set once the process has exited (only observable from the process that started it). */
  exit?: { code: number | null; signal: NodeJS.Signals | null };
}

export function launch(spec: ComponentSpec, dir: string): RunningComponent {
  const logFile = join(dir, `${spec.name}.log`);
  const fd = openSync(logFile, 'a');
  try {
    // detached: a new session and process group, so the group can be signalled as a whole and the
    // component outlives this process when the CLI starts it.
    const child = spawn(spec.command, spec.args, { detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) {
      throw new ControlPlaneError(
        ControlPlaneErrorCode.ComponentExited,
        `${spec.name}: could not spawn ${spec.command}`,
      );
    }
    const running: RunningComponent = { name: spec.name, pid: child.pid, logFile };
    child.on('exit', (code, signal) => {
      running.exit = { code, signal };
    });
    // Never keep the event loop alive for a component: stop() or the exit handlers end them.
    child.unref();
    return running;
  } finally {
    closeSync(fd);
  }
}

export async function writePidFile(dir: string, c: RunningComponent): Promise<void> {
  await writeFile(join(dir, `${c.name}.pid`), `${c.pid}\n`);
}

export async function readPidFiles(dir: string): Promise<Map<string, number>> {
  const pids = new Map<string, number>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return pids;
  }
  for (const f of names.filter((n) => n.endsWith('.pid'))) {
    const pid = Number.parseInt(await readFile(join(dir, f), 'utf8'), 10);
    if (Number.isInteger(pid) && pid > 1) pids.set(f.slice(0, -'.pid'.length), pid);
  }
  return pids;
}

export async function removePidFile(dir: string, name: string): Promise<void> {
  await rm(join(dir, `${name}.pid`), { force: true });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Signals a whole process group; synchronous so it can run in an 'exit' handler. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** SIGTERM the groups, wait up to graceMs for their leaders to exit, then SIGKILL what is left. */
export async function stopGroups(pids: readonly number[], graceMs = 5000): Promise<void> {
  for (const pid of pids) signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(isAlive) && Date.now() < deadline) await sleep(50);
  for (const pid of pids) signalGroup(pid, 'SIGKILL');
  while (pids.some(isAlive)) await sleep(20);
}

export async function logTail(logFile: string, lines = 25): Promise<string> {
  try {
    const text = await readFile(logFile, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Polls the component's health endpoint until it answers 200; fails fast if the process exits. */
export async function waitHealthy(
  c: RunningComponent,
  health: HealthCheck,
  timeoutMs: number,
): Promise<void> {
  const started = Date.now();
  let last: HttpResponse | Error | undefined;
  while (Date.now() - started < timeoutMs) {
    if (c.exit || !isAlive(c.pid)) {
      const how = c.exit ? `code ${c.exit.code ?? ''}${c.exit.signal ?? ''}` : 'unknown status';
      throw new ControlPlaneError(
        ControlPlaneErrorCode.ComponentExited,
        `${c.name} exited (${how}) before it became healthy; last lines of ${c.logFile}:\n${await logTail(c.logFile)}`,
      );
    }
    try {
      last = await request(health.url, { ...health.auth, timeoutMs: 2000 });
      if (last.status === 200) return;
    } catch (err) {
      last = err as Error;
    }
    await sleep(100);
  }
  const lastSeen =
    last instanceof Error
      ? last.message
      : last
        ? `HTTP ${last.status} ${failedChecks(last.body)}`
        : 'nothing';
  throw new ControlPlaneError(
    ControlPlaneErrorCode.HealthTimeout,
    `${c.name} not healthy after ${seconds(timeoutMs)} at ${health.url} (last: ${lastSeen}); last lines of ${c.logFile}:\n${await logTail(c.logFile)}`,
  );
}

/** The failing checks of a /readyz or /healthz answer ("[-]etcd failed: ..."), else the start of the body. */
function failedChecks(body: string): string {
  const failed = body.split('\n').filter((l) => l.startsWith('[-]'));
  return failed.length > 0 ? failed.join(', ') : body.slice(0, 300);
}
