// What a child process wrote to stdout and stderr, as it arrived: for failure messages.
import type { ChildProcess } from 'node:child_process';

export function captureOutput(child: ChildProcess): () => string {
  let output = '';
  const add = (d: Buffer | string) => {
    output += d;
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => output;
}
