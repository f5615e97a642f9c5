import { execFile } from 'node:child_process';

/** Runs a command and resolves with its stdout; rejects with its stderr in the message. */
export function execFileText(
  file: string,
  args: readonly string[],
  opts: { cwd?: string } = {},
): Promise<string> {
  return new Promise((res, rej) => {
    execFile(file, args, { cwd: opts.cwd, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) rej(new Error(`${file} ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
      else res(stdout);
    });
  });
}
