// MaxPoolGrad on the native CPU backend through oneDNN. TensorFlow's eager MaxPoolGrad is
// Eigen's generic kernel: 38 ms for one 128x26x26x32 batch of the CNN, against 3 ms in a
// tf.function graph, where TensorFlow's oneDNN pass swaps in its own pooling kernels (eager ops
// do not get that pass). This kernel calls oneDNN's pooling ops directly: the forward pass again
// for its workspace (which positions were the maxima), then the backward pass with it. The
// gradient is TensorFlow's: bit for bit when the windows do not overlap, summed in another order
// (a rounding apart) when they do (trainer/native-max-pool.test.ts).
//
// The oneDNN ops are registered under a kernel label that TensorFlow's graph rewrite sets; an
// eager op carries it as its `_kernel` attribute. When they are missing (a TensorFlow built
// without oneDNN) or the pooling is one they do not cover, tfjs-node's kernel runs, as before.
import * as tf from '@tensorflow/tfjs';
import {
  boolAttr,
  floatAttr,
  type NodeBackend,
  type OpAttr,
  replaceKernel,
  stringAttr,
} from './native-binding.ts';

const ONEDNN_LABEL = 'MklNameChangeOp';
let registered = false;
let oneDnn = true;

/** Which kernel computed the last max-pooling gradients: oneDNN's, or TensorFlow's eager one. */
export const maxPoolGradKernel = (): 'oneDNN' | 'tensorflow' =>
  registered && oneDnn ? 'oneDNN' : 'tensorflow';

/** Replaces tfjs-node's MaxPoolGrad kernel; call after the native backend is initialised. */
export function registerOneDnnMaxPoolGrad(): void {
  if (registered) return;
  const backend = tf.findBackend('tensorflow') as unknown as NodeBackend | null;
  if (!backend || backend.binding.isUsingGpuDevice()) return;
  registered = replaceKernel('MaxPoolGrad', (args, stock) => {
    const attrs = oneDnn ? poolAttrs(backend, args) : undefined;
    if (!attrs) return stock(args);
    try {
      return oneDnnMaxPoolGrad(backend, args.inputs as unknown as Inputs, attrs);
    } catch {
      // Not in this TensorFlow build: stop trying for the rest of the process.
      oneDnn = false;
      return stock(args);
    }
  });
}

interface Inputs {
  dy: tf.TensorInfo;
  input: tf.TensorInfo;
  output: tf.TensorInfo;
}

/** The ops' attributes, or undefined for a pooling they do not cover (explicit padding, not float32). */
function poolAttrs(backend: NodeBackend, args: Parameters<tf.KernelFunc>[0]): OpAttr[] | undefined {
  const { input } = args.inputs as unknown as Inputs;
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as tf.MaxPoolGradAttrs;
  if (input.dtype !== 'float32') return undefined;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  if (info.padInfo.type !== 'VALID' && info.padInfo.type !== 'SAME') return undefined;
  if (info.dataFormat !== 'channelsLast') return undefined;
  const int = (name: string, value: number[]): OpAttr => ({ name, type: backend.binding.TF_ATTR_INT, value });
  return [
    floatAttr(backend, 'T'),
    int('ksize', [1, info.filterHeight, info.filterWidth, 1]),
    int('strides', [1, info.strideHeight, info.strideWidth, 1]),
    stringAttr(backend, 'padding', info.padInfo.type),
    stringAttr(backend, 'data_format', 'NHWC'),
    boolAttr(backend, 'workspace_enabled', true),
    stringAttr(backend, '_kernel', ONEDNN_LABEL),
  ];
}

function oneDnnMaxPoolGrad(
  backend: NodeBackend,
  { dy, input, output }: Inputs,
  attrs: OpAttr[],
): tf.TensorInfo {
  const { binding } = backend;
  const [x, y, dyId] = backend.getInputTensorIds([input, output, dy]) as [number, number, number];
  const [pooled, workspace] = binding.executeOp('_MklNativeMaxPool', attrs, [x], 2);
  binding.deleteTensor(pooled!.id);
  try {
    const [grad] = binding.executeOp('_MklNativeMaxPoolGrad', attrs, [x, y, dyId, workspace!.id], 1);
    return backend.createOutputTensor(grad!);
  } finally {
    binding.deleteTensor(workspace!.id);
  }
}
