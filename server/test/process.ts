// server/main.ts as its own process, as the container runs it: for what only the real process
// shows (signals, exit codes, the termination message).
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ServerProcess {
  child: ChildProcess;
  /** stdout and stderr, as they arrived. */
  logs: string[];
  exit: Promise<number | null>;
  /** Resolves with http://127.0.0.1:<port> once the server listens; rejects if it exits first. */
  listening(): Promise<string>;
}

export function spawnServer(env: Record<string, string>, args: string[] = []): ServerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', ...args], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      K2K_HOST: '127.0.0.1',
      K2K_PORT: '0',
      K2K_ADMIN_PORT: '0',
      K2K_GRPC_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.stdout!.on('data', (c: Buffer) => logs.push(c.toString()));
  child.stderr!.on('data', (c: Buffer) => logs.push(c.toString()));
  const listening = () =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not listen:\n${logs.join('')}`)), 60_000);
      const check = () => {
        const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(logs.join(''));
        if (!m) return;
        clearTimeout(timer);
        resolve(m[1]!);
      };
      check();
      child.stdout!.on('data', check);
      void exit.then((code) => reject(new Error(`server exited with ${code}:\n${logs.join('')}`)));
    });
  return { child, logs, exit, listening };
}
