// Helpers for the trainer's tests against the real S3 server of the global setup: a fresh
// bucket per test file, the trainer run in-process or as a child process, its JSON logs, and
// small made-up datasets.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ObjectStore, openStore, type StorageOptions } from '../lib/storage/index.ts';
import { createTestBucket, testStorageOptions } from '../lib/storage/testing.ts';
import { main } from './main.ts';
import type { RunResult } from './run.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The test S3 server as the trainer's environment sees it (test/harness/s3.ts's S3Server fits). */
export interface S3Env {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export function s3FromEnv(): S3Env {
  const { endpoint, region, credentials } = testStorageOptions();
  return {
    endpoint,
    region,
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
  };
}

function storageOptions(s3: S3Env): StorageOptions {
  return {
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  };
}

/** The trainer's environment for this S3 server (what the operator puts in the pod). */
export function trainerEnv(s3: S3Env, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_REGION: s3.region,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    K2K_S3_FORCE_PATH_STYLE: 'true',
    ...extra,
  };
}

export function freshBucket(s3: S3Env, prefix = 'k2k-trainer'): Promise<string> {
  return createTestBucket(prefix, storageOptions(s3));
}

export function storeFor(s3: S3Env): ObjectStore {
  return openStore(storageOptions(s3));
}

/** The test S3 server, a store on it and a fresh bucket: what a trainer test file starts with. */
export async function s3Fixture(prefix: string): Promise<{ s3: S3Env; store: ObjectStore; bucket: string }> {
  const s3 = s3FromEnv();
  return { s3, store: storeFor(s3), bucket: await freshBucket(s3, prefix) };
}

export interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

function parseLines(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

export interface TrainerRun {
  code: number;
  logs: LogLine[];
  termination: unknown;
  result?: RunResult;
  stderr?: string;
}

function tempFile(name: string): string {
  return path.join(mkdtempSync(path.join(os.tmpdir(), 'k2k-trainer-')), name);
}

/** Runs main() in this process (fast: no TensorFlow.js start-up per run). */
export async function trainInProcess(
  config: unknown,
  env: Record<string, string>,
  onResult?: (r: RunResult) => void | Promise<void>,
): Promise<TrainerRun> {
  const lines: string[] = [];
  const termination = tempFile('termination-log');
  const code = await main(
    [],
    { ...env, K2K_TRAINER_CONFIG: JSON.stringify(config), K2K_TERMINATION_LOG: termination },
    {
      debug: () => {},
      info: (msg, f) => lines.push(JSON.stringify({ level: 'info', msg, ...f })),
      warn: (msg, f) => lines.push(JSON.stringify({ level: 'warn', msg, ...f })),
      error: (msg, f) => lines.push(JSON.stringify({ level: 'error', msg, ...f })),
    },
    onResult ? { onResult } : {},
  );
  return { code, logs: parseLines(lines.join('\n')), termination: readJSON(termination) };
}

export interface ChildTrainer {
  /** Resolves when the process exits. */
  done: Promise<TrainerRun>;
  /** Resolves with the first log line matching `pred`. */
  waitForLog(pred: (l: LogLine) => boolean): Promise<LogLine>;
  kill(signal: NodeJS.Signals): void;
}

/** Runs trainer/main.ts as its own process with tsx, as the container runs dist/trainer/main.js. */
export function trainChild(config: unknown, env: Record<string, string>, viaFile = false): ChildTrainer {
  const termination = tempFile('termination-log');
  // tsx as an in-process loader (not its CLI, which runs the script in a grandchild that a
  // SIGKILL of the child would orphan).
  const args = ['--import', 'tsx', path.join(REPO, 'trainer/main.ts')];
  const childEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    ...env,
  };
  childEnv.K2K_TERMINATION_LOG = termination;
  if (viaFile) {
    const file = tempFile('config.json');
    writeFileSync(file, JSON.stringify(config));
    args.push('--config', file);
  } else childEnv.K2K_TRAINER_CONFIG = JSON.stringify(config);
  const child = spawn(process.execPath, args, {
    env: childEnv,
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  let buffered = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parseLines(parts.join('\n'))) {
      for (const w of [...waiters]) {
        if (w.pred(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const done = new Promise<TrainerRun>((resolve) => {
    child.on('close', (code, signal) => {
      resolve({
        code: code ?? (signal === 'SIGKILL' ? 137 : 128),
        logs: parseLines(stdout),
        termination: readJSON(termination),
        stderr,
      });
    });
  });
  return {
    done,
    waitForLog: (pred) =>
      new Promise((resolve, reject) => {
        for (const l of parseLines(stdout)) if (pred(l)) return resolve(l);
        waiters.push({ pred, resolve });
        done.then((r) =>
          reject(
            new Error(
              `trainer exited (${r.code}) before the expected log line; stderr: ${stderr.slice(-2000)}`,
            ),
          ),
        );
      }),
    kill: (signal) => child.kill(signal),
  };
}

function readJSON(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * `rows` normal readings of four correlated sensor channels, as CSV with the header s1..s4 (an
 * autoencoder's training data): a reading that breaks the correlation is an anomaly.
 */
export function sensorsCSV(rows: number, gauss: () => number): string {
  const lines = ['s1,s2,s3,s4'];
  for (let i = 0; i < rows; i++) {
    const t = gauss();
    lines.push(
      [t, 2 * t + gauss() * 0.05, -t + gauss() * 0.05, 0.5 * t + gauss() * 0.05]
        .map((v) => v.toFixed(4))
        .join(','),
    );
  }
  return lines.join('\n');
}
