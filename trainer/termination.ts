// Writes the termination message (api/termination.ts) where Kubernetes looks for it.
import { writeFileSync } from 'node:fs';
import {
  encodeTermination,
  TERMINATION_LOG,
  type TrainerFailed,
  type TrainerSucceeded,
} from '../api/termination.ts';

/** Writes the message; outside a pod the default path is usually not writable, which is no error. */
export function writeTermination(
  msg: TrainerSucceeded | TrainerFailed,
  path: string = TERMINATION_LOG,
): boolean {
  try {
    writeFileSync(path, encodeTermination(msg));
    return true;
  } catch {
    return false;
  }
}
