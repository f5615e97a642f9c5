// Selects the TensorFlow.js backend once per process: the native TensorFlow one when
// @tensorflow/tfjs-node can be loaded (its addon is built by hack/build-tfjs-node.sh, see
// docs/decisions/0003), else WebAssembly, else plain JavaScript. "auto" tries them in that order,
// as the trainer does; a named backend must work or the server does not start.
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

let selected: Promise<string> | undefined;

/** Resolves with the backend in use (tf.getBackend()). The first call decides for the process. */
export function initBackend(requested: BackendRequest): Promise<string> {
  selected ??= (async () => {
    tf.enableProdMode(); // no console banners: logs stay one JSON object per line
    const order = requested === 'auto' ? (['tensorflow', 'wasm', 'cpu'] as const) : [requested];
    for (const name of order) {
      if (name === 'tensorflow' ? await tryNative() : await trySet(name)) {
        await tf.ready();
        return tf.getBackend();
      }
    }
    throw new Error(
      requested === 'tensorflow'
        ? 'backend "tensorflow" was requested but @tensorflow/tfjs-node cannot be loaded (build it with hack/build-tfjs-node.sh) ; use K2K_BACKEND=auto'
        : `TensorFlow.js backend "${requested}" failed to initialise`,
    );
  })();
  return selected;
}
