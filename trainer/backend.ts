// Picks the TensorFlow.js backend. The native one (libtensorflow through @tensorflow/tfjs-node,
// or -node-gpu in the GPU image) is optional: it is imported dynamically so an image without
// it still runs on WebAssembly or plain JavaScript.
import * as tf from '@tensorflow/tfjs';
import type { BACKENDS } from '../api/training.ts';
import { TrainerError, TrainerErrorCode } from './errors.ts';
import type { Logger } from './log.ts';
import { registerOneDnnMaxPoolGrad } from './native-max-pool.ts';
import { registerNoOpKernels } from './native-noop-kernels.ts';

export type BackendRequest = (typeof BACKENDS)[number];

export interface SelectedBackend {
  /** tf.getBackend(): tensorflow, wasm or cpu. */
  name: string;
  /** Where it came from, for the log: the npm package that registered it. */
  source: string;
}

/** The native packages, GPU first: an image ships at most one of them. */
const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

async function tryNative(log: Logger): Promise<string | undefined> {
  // libtensorflow logs to stderr through absl unless told otherwise; our logs are JSON on stdout.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  for (const pkg of NATIVE_PACKAGES) {
    try {
      await import(pkg);
      if (await tf.setBackend('tensorflow')) {
        registerOneDnnMaxPoolGrad();
        registerNoOpKernels();
        return pkg;
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Not installed is the normal case for the default image. Installed without its native
      // addon (npm ci without hack/build-tfjs-node.sh) is logged, but "auto" simply moves on.
      if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') {
        log.info('native TensorFlow backend not available', {
          package: pkg,
          reason: (err as Error).message.split('\n')[0],
        });
      }
    }
  }
  return undefined;
}

async function trySet(name: 'wasm' | 'cpu', log: Logger): Promise<boolean> {
  try {
    if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
    return await tf.setBackend(name);
  } catch (err) {
    log.warn('backend failed to initialise', { backend: name, error: (err as Error).message });
    return false;
  }
}

export async function selectBackend(requested: BackendRequest, log: Logger): Promise<SelectedBackend> {
  // Silences tfjs' console banners ("install the node backend ..."): logs stay one JSON per line.
  tf.enableProdMode();
  const order: Array<'tensorflow' | 'wasm' | 'cpu'> =
    requested === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [requested];
  for (const name of order) {
    if (name === 'tensorflow') {
      const pkg = await tryNative(log);
      if (pkg) return { name: tf.getBackend(), source: pkg };
    } else if (await trySet(name, log)) {
      return {
        name: tf.getBackend(),
        source: name === 'wasm' ? '@tensorflow/tfjs-backend-wasm' : '@tensorflow/tfjs',
      };
    }
  }
  throw new TrainerError(
    TrainerErrorCode.BackendUnavailable,
    requested === 'tensorflow'
      ? 'backend "tensorflow" was requested but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node can be loaded in this image; use backend "auto"'
      : `backend "${requested}" cannot be initialised`,
  );
}

/**
 * The first kernel that backpropagation through this model needs but the current backend lacks
 * (the WebAssembly backend has no Conv2DBackpropFilter or UnsortedSegmentSum, so it cannot train
 * a CNN or an embedding), found by computing gradients for one all-zero sample.
 */
export function missingTrainingKernel(model: tf.LayersModel, sampleShape: number[]): string | undefined {
  if (model.trainableWeights.length === 0) return undefined;
  try {
    tf.tidy(() => {
      const x = tf.zeros([1, ...sampleShape]);
      tf.variableGrads(() => tf.sum(model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
    });
    return undefined;
  } catch (err) {
    const m = /Kernel '(\w+)' not registered for backend/.exec((err as Error).message);
    if (m) return m[1];
    throw err;
  }
}

/** Switches to the plain JavaScript backend, which implements every kernel. */
export async function fallBackToCpu(): Promise<SelectedBackend> {
  await tf.setBackend('cpu');
  return { name: tf.getBackend(), source: '@tensorflow/tfjs' };
}
