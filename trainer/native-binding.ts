// The parts of @tensorflow/tfjs-node's backend that trainer/native-*.ts call to run TensorFlow
// ops tfjs has no kernel for (its typings do not export them): `executeOp` runs any registered
// TensorFlow op eagerly on tensor ids, `createOutputTensor` hands a result to tfjs.
import * as tf from '@tensorflow/tfjs';

export interface TensorMetadata {
  id: number;
  shape: number[];
  dtype: number;
}

export interface OpAttr {
  name: string;
  type: number;
  value: boolean | number | string | number[];
}

export interface NodeBackend {
  binding: {
    executeOp(op: string, attrs: OpAttr[], inputIds: number[], numOutputs: number): TensorMetadata[];
    deleteTensor(id: number): void;
    isUsingGpuDevice(): boolean;
    TF_FLOAT: number;
    TF_ATTR_INT: number;
    TF_ATTR_TYPE: number;
    TF_ATTR_BOOL: number;
    TF_ATTR_STRING: number;
    TF_ATTR_SHAPE: number;
  };
  getInputTensorIds(tensors: tf.TensorInfo[]): number[];
  createOutputTensor(metadata: TensorMetadata): tf.Tensor;
}

/** The native backend, when it is the current one. */
export function nativeBackend(): NodeBackend | undefined {
  return tf.getBackend() === 'tensorflow' ? (tf.backend() as unknown as NodeBackend) : undefined;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

/**
 * Puts `kernelFunc` in place of tfjs-node's kernel `name`, handing it the stock kernel to fall
 * back on. False (nothing replaced) when the native backend has no such kernel.
 */
export function replaceKernel(
  name: string,
  kernelFunc: (args: KernelArgs, stock: tf.KernelFunc) => ReturnType<tf.KernelFunc>,
): boolean {
  const stock = tf.getKernel(name, 'tensorflow');
  if (!stock) return false;
  tf.unregisterKernel(name, 'tensorflow');
  tf.registerKernel({
    kernelName: name,
    backendName: 'tensorflow',
    kernelFunc: (args) => kernelFunc(args, stock.kernelFunc),
  });
  return true;
}

/** Runs one TensorFlow op on tfjs tensors; its outputs become tfjs tensors (tracked by tf.tidy). */
export function runOp(
  backend: NodeBackend,
  op: string,
  inputs: tf.TensorInfo[],
  attrs: OpAttr[],
  outputs = 0,
) {
  return backend.binding
    .executeOp(op, attrs, backend.getInputTensorIds(inputs), outputs)
    .map((m) => backend.createOutputTensor(m));
}

export const floatAttr = (b: NodeBackend, name: string): OpAttr => ({
  name,
  type: b.binding.TF_ATTR_TYPE,
  value: b.binding.TF_FLOAT,
});

export const boolAttr = (b: NodeBackend, name: string, value: boolean): OpAttr => ({
  name,
  type: b.binding.TF_ATTR_BOOL,
  value,
});

export const stringAttr = (b: NodeBackend, name: string, value: string): OpAttr => ({
  name,
  type: b.binding.TF_ATTR_STRING,
  value,
});
