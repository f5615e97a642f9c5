// The container's termination message: Kubernetes copies the file into the pod status
// (state.terminated.message), where the operator reads the artifact's identity or the error
// without scraping logs. Kubernetes keeps at most 4096 bytes of it.
import { writeFileSync } from 'node:fs';

export const TERMINATION_LOG = '/dev/termination-log';
export const TERMINATION_LIMIT = 4096;

export type TerminationMessage =
  | {
      artifact: { uri: string; version: string; manifestSha256: string };
      metrics: Record<string, number | null>;
      backend: string;
    }
  | { error: { code: string; message: string } };

/** Compact JSON under the size limit: long error messages and then metrics are cut, never the JSON structure. */
export function encodeTermination(msg: TerminationMessage): string {
  let text = JSON.stringify(msg);
  if (Buffer.byteLength(text) <= TERMINATION_LIMIT) return text;
  if ('error' in msg) {
    let message = msg.error.message;
    while (Buffer.byteLength(text) > TERMINATION_LIMIT && message.length > 0) {
      message = message.slice(
        0,
        Math.max(0, message.length - (Buffer.byteLength(text) - TERMINATION_LIMIT) - 3),
      );
      text = JSON.stringify({ error: { code: msg.error.code, message: `${message}...` } });
    }
    return text;
  }
  // Metrics are the only unbounded part of a success message; drop them from the end.
  const metrics = { ...msg.metrics };
  const keys = Object.keys(metrics);
  while (Buffer.byteLength(text) > TERMINATION_LIMIT && keys.length > 0) {
    delete metrics[keys.pop()!];
    text = JSON.stringify({ ...msg, metrics });
  }
  return text;
}

/** Writes the message where Kubernetes looks for it; outside a pod the path is usually not writable. */
export function writeTermination(msg: TerminationMessage, path: string = TERMINATION_LOG): boolean {
  try {
    writeFileSync(path, encodeTermination(msg));
    return true;
  } catch {
    return false;
  }
}
