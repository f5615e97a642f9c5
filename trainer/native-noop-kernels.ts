// tfjs's gradient code casts float32 tensors to float32 and reshapes tensors to the shape they
// already have (9 casts and 5 reshapes in one step of the MNIST MLP). tfjs-node runs each as a
// TensorFlow call — a reshape as two, its target shape uploaded first — where tfjs's own CPU
// backend hands back the input. On the native backend these do the same: the result shares the
// input's data (reference-counted, as tfjs-node's Identity kernel does); any other cast or reshape
// still runs TensorFlow's kernel.
import type * as tf from '@tensorflow/tfjs';
import { replaceKernel } from './native-binding.ts';

let registered = false;

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** Whether the kernel's output would be its input unchanged. */
const NO_OPS: Record<'Cast' | 'Reshape', (x: tf.TensorInfo, attrs: tf.NamedAttrMap) => boolean> = {
  Cast: (x, attrs) => (attrs as unknown as tf.CastAttrs).dtype === x.dtype,
  Reshape: (x, attrs) => sameShape((attrs as unknown as tf.ReshapeAttrs).shape, x.shape),
};

/** Wraps tfjs-node's Cast and Reshape kernels; call after the native backend is initialised. */
export function registerNoOpKernels(): void {
  if (registered) return;
  for (const [name, isNoOp] of Object.entries(NO_OPS)) {
    replaceKernel(name, (args, stock) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      if (!isNoOp(x, args.attrs ?? {})) return stock(args);
      (args.backend as unknown as { incRef(id: object): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    });
  }
  registered = true;
}
