// Starts a real S3-compatible server (VersityGW with its posix backend, see
// docs/decisions/0002-s3-server-for-tests.md) for the tests: built from its Go module by
// hack/build-s3.sh, listening on a free 127.0.0.1 port, storing buckets as directories in a
// fresh temp dir, with credentials generated per run.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export interface S3Server {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** The posix backend's root: bucket b's object k is the file <dataDir>/b/k. */
  dataDir: string;
  stop(): Promise<void>;
}

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const REGION = 'us-east-1';
/** The first build compiles ~300 Go packages; later runs reuse the cached binary. */
const BUILD_TIMEOUT_MS = 15 * 60_000;
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
/** Another process can take the probed port before the server binds it; try a few. */
const PORT_ATTEMPTS = 3;

function log(line: string): void {
  console.log(`[s3] ${line}`);
}

/** Builds the server if it is not cached yet and returns the binary's path. */
async function buildServer(): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [path.join(REPO, 'hack/build-s3.sh')], {
    timeout: BUILD_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  const bin = stdout.trim().split('\n').pop();
  if (!bin) throw new Error('hack/build-s3.sh printed no binary path');
  return bin;
}

/** A port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves with the Server header of any HTTP answer (the S3 API answers 403 to an anonymous GET). */
function probe(endpoint: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.get(`${endpoint}/`, { timeout: 1000, agent: false }, (res) => {
      res.resume();
      resolve(String(res.headers.server ?? ''));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

async function tail(file: string, lines = 20): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * A detached shell that outlives a SIGKILLed test runner: once this process is gone it stops the
 * server and removes its data. The 'exit' handler covers normal exits; this covers the rest.
 */
function spawnWatchdog(serverPid: number, dir: string): ChildProcess {
  const script = `
    while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
    if ! kill -0 "$1" 2>/dev/null; then
      kill -TERM "$2" 2>/dev/null; sleep 2; kill -KILL "$2" 2>/dev/null; rm -rf "$3"
    fi`;
  const dog = spawn('bash', ['-c', script, 'k2k-s3-watchdog', String(process.pid), String(serverPid), dir], {
    detached: true,
    stdio: 'ignore',
  });
  dog.unref();
  return dog;
}

async function launch(
  bin: string,
  root: string,
  logFile: string,
  accessKeyId: string,
  secretAccessKey: string,
) {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(bin, ['--port', `127.0.0.1:${port}`, '--region', REGION, '--quiet', 'posix', root], {
      // Credentials go through the environment, not argv, so `ps` does not show them.
      env: { ...process.env, ROOT_ACCESS_KEY_ID: accessKeyId, ROOT_SECRET_ACCESS_KEY: secretAccessKey },
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  child.unref();
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!alive(child)) return { child, endpoint, ready: false };
    // The Server header tells our server from whatever else might have grabbed the port.
    if ((await probe(endpoint)) === 'VERSITYGW') return { child, endpoint, ready: true };
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(
    `versitygw did not answer at ${endpoint} within ${READY_TIMEOUT_MS / 1000}s:\n${await tail(logFile)}`,
  );
}

export async function startS3Server(): Promise<S3Server> {
  const bin = await buildServer();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'k2k-s3-'));
  const root = path.join(dir, 'data');
  const logFile = path.join(dir, 'versitygw.log');
  await mkdir(root);
  const accessKeyId = `k2k${randomBytes(8).toString('hex')}`;
  const secretAccessKey = randomBytes(24).toString('base64url');

  let started: Awaited<ReturnType<typeof launch>> | undefined;
  for (let attempt = 1; attempt <= PORT_ATTEMPTS && !started?.ready; attempt++) {
    started = await launch(bin, root, logFile, accessKeyId, secretAccessKey);
  }
  if (!started?.ready) {
    const msg = `versitygw exited before it answered:\n${await tail(logFile)}`;
    await rm(dir, { recursive: true, force: true });
    throw new Error(msg);
  }
  const { child, endpoint } = started;
  const watchdog = spawnWatchdog(child.pid!, dir);
  const onExit = () => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  log(`versitygw at ${endpoint}, data in ${root}`);

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      process.off('exit', onExit);
      watchdog.kill('SIGKILL');
      if (alive(child)) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.ref(); // keep the event loop alive until it has exited
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  return { endpoint, accessKeyId, secretAccessKey, region: REGION, dataDir: root, stop };
}
