// Makes the TensorFlow.js backends available to the process: the native TensorFlow one when
// @tensorflow/tfjs-node can be loaded (its addon is built by hack/build-tfjs-node.sh, see
// docs/decisions/0003), WebAssembly, and plain JavaScript only when neither works. "auto" returns
// every candidate that initialised, and the model holder keeps the one that measured fastest for
// its model (backend-choice.ts, docs/decisions/0037); a named backend must work or the server
// does not start.
import * as tf from '@tensorflow/tfjs';
import type { ServerSettings } from '../../api/server.ts';

export type BackendRequest = ServerSettings['backend'];

const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

async function tryNative(): Promise<boolean> {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2'; // keep libtensorflow's stderr chatter out of the JSON logs
  for (const pkg of NATIVE_PACKAGES) {
    try {
      await import(pkg);
      if (await tf.setBackend('tensorflow')) return true;
    } catch {
      // Not installed, or installed without its native addon: the next candidate.
    }
  }
  return false;
}

async function trySet(name: 'wasm' | 'cpu'): Promise<boolean> {
  try {
    if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

const initialised = new Map<BackendRequest, Promise<string[]>>();

/**
 * Initialises the requested backend (all candidates for "auto") and resolves with the names that
 * work, in the old fixed order; the first is active. Each request is initialised once per process.
 */
export function initBackend(requested: BackendRequest): Promise<string[]> {
  let candidates = initialised.get(requested);
  if (!candidates) {
    candidates = (async () => {
      tf.enableProdMode(); // no console banners: logs stay one JSON object per line
      const names: string[] = [];
      if (requested === 'auto') {
        if (await tryNative()) names.push('tensorflow');
        if (await trySet('wasm')) names.push('wasm');
        // Plain JavaScript is 10–100x slower than either: a candidate only when nothing else works.
        if (names.length === 0 && (await trySet('cpu'))) names.push('cpu');
      } else if (requested === 'tensorflow' ? await tryNative() : await trySet(requested)) {
        names.push(requested);
      }
      if (names.length === 0) {
        throw new Error(
          requested === 'tensorflow'
            ? 'backend "tensorflow" was requested but @tensorflow/tfjs-node cannot be loaded (build it with hack/build-tfjs-node.sh) ; use K2K_BACKEND=auto'
            : `TensorFlow.js backend "${requested}" failed to initialise`,
        );
      }
      return names;
    })();
    initialised.set(requested, candidates);
  }
  return candidates.then(async (names) => {
    await tf.setBackend(names[0] as string);
    await tf.ready();
    return names;
  });
}
