// tfjs's Adam as one TensorFlow kernel per variable on the native backend. tfjs's AdamOptimizer
// updates a variable with 14 element-wise ops and 7 scalars made from JavaScript numbers; tfjs-node
// runs each as its own eager call, which made the optimizer the largest part of an MLP step. Here
// the moments and a copy of the weights live in TensorFlow resource variables and
// ResourceApplyAdam (the kernel TensorFlow's own Adam uses) updates them in place; the tfjs
// variable then takes the new value with one ReadVariableOp.
//
// ResourceApplyAdam adds epsilon to sqrt(v), tfjs to the bias-corrected sqrt(v̂) = sqrt(v) /
// sqrt(1 - beta2^t); passing it epsilon * sqrt(1 - beta2^t) makes the two the same formula, so a
// model trains as it does with tfjs's Adam (to float rounding) and its optimizer state, kept in
// tfjs's layout, continues on either (ADR 0033, docs/decisions/0036-native-kernels-past-tfjs.md).
// On any other backend the class is tfjs's AdamOptimizer unchanged.
import * as tf from '@tensorflow/tfjs';
import { boolAttr, floatAttr, type NodeBackend, nativeBackend, runOp, stringAttr } from './native-binding.ts';

// TensorFlow's ResourceHandle::ANONYMOUS_NAME: the resource is freed with its last handle, as
// eager Python's variables are, instead of living as long as the TensorFlow context.
const ANONYMOUS = 'cd2c89b7-88b7-44c8-ad83-06c2a9158347';

type Gradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];
type NamedTensor = { name: string; tensor: tf.Tensor };

interface Slot {
  /** Resource handles of the first and the second moment, named as tfjs's Adam names them. */
  m: tf.Tensor;
  v: tf.Tensor;
  names: [string, string];
  /** Resource handle of the weights' copy, made at the slot's first step. */
  value?: tf.Tensor;
  /** The tfjs variable's dataId when the copy was last written: another id means someone else assigned it. */
  synced?: object;
}

export class NativeAdam extends tf.AdamOptimizer {
  /** By the gradient's position, as tfjs's Adam keeps its moments (and a saved state restores them). */
  private slots: Slot[] = [];
  private constants: tf.Tensor[] | undefined;

  override applyGradients(grads: Gradients): void {
    const backend = nativeBackend();
    if (!backend) {
      super.applyGradients(grads);
      return;
    }
    const named: Array<{ name: string; tensor: tf.Tensor | undefined }> = Array.isArray(grads)
      ? grads
      : Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
    this.constants ??= [this.learningRate, this.beta1, this.beta2].map((x) => tf.keep(tf.scalar(x)));
    const [lr, beta1, beta2] = this.constants as [tf.Tensor, tf.Tensor, tf.Tensor];
    const t = this.iterations + 1;
    tf.tidy(() => {
      const beta1Power = tf.scalar(this.beta1 ** t);
      const beta2Power = tf.scalar(this.beta2 ** t);
      const epsilon = tf.scalar(this.epsilon * Math.sqrt(1 - this.beta2 ** t));
      for (const [i, { name, tensor: grad }] of named.entries()) {
        const variable = tf.engine().registeredVariables[name]!;
        const slot = this.slot(backend, i, name, variable);
        if (grad == null) continue;
        slot.value ??= newVariable(backend, variable.shape);
        const value = slot.value;
        if (slot.synced !== variable.dataId) assignVariable(backend, value, variable);
        runOp(
          backend,
          'ResourceApplyAdam',
          [value, slot.m, slot.v, beta1Power, beta2Power, lr, beta1, beta2, epsilon, grad],
          [
            floatAttr(backend, 'T'),
            boolAttr(backend, 'use_locking', false),
            boolAttr(backend, 'use_nesterov', false),
          ],
        );
        variable.assign(readVariable(backend, value));
        slot.synced = variable.dataId;
      }
    });
    this.incrementIterations();
  }

  private slot(backend: NodeBackend, i: number, name: string, variable: tf.Variable): Slot {
    let slot = this.slots[i];
    if (!slot) {
      const zeros = tf.zerosLike(variable);
      slot = newSlot(backend, [`${name}/m`, zeros], [`${name}/v`, zeros]);
      zeros.dispose();
      this.slots[i] = slot;
    }
    return slot;
  }

  /** tfjs's layout: the iteration count, every first moment, then every second moment. */
  override async getWeights(): Promise<NamedTensor[]> {
    const backend = nativeBackend();
    if (this.slots.length === 0 || !backend) return super.getWeights();
    const read = (s: Slot, k: 0 | 1) => ({
      name: s.names[k],
      tensor: readVariable(backend, k === 0 ? s.m : s.v),
    });
    return [
      await this.saveIterations(),
      ...this.slots.map((s) => read(s, 0)),
      ...this.slots.map((s) => read(s, 1)),
    ];
  }

  /** Takes a state in tfjs's layout (a checkpoint's, or another run's): the next step continues it. */
  override async setWeights(weights: NamedTensor[]): Promise<void> {
    const backend = nativeBackend();
    if (!backend) return super.setWeights(weights);
    const moments = await this.extractIterations(weights);
    const n = moments.length / 2;
    this.disposeSlots();
    this.slots = moments.slice(0, n).map((m, i) => {
      const v = moments[n + i]!;
      return newSlot(backend, [m.name, m.tensor], [v.name, v.tensor]);
    });
  }

  override dispose(): void {
    super.dispose();
    this.disposeSlots();
    if (this.constants) tf.dispose(this.constants);
    this.constants = undefined;
  }

  private disposeSlots(): void {
    for (const s of this.slots) tf.dispose([s.m, s.v, ...(s.value ? [s.value] : [])]);
    this.slots = [];
  }
}

function newSlot(
  backend: NodeBackend,
  [mName, m]: [string, tf.Tensor],
  [vName, v]: [string, tf.Tensor],
): Slot {
  const slot: Slot = {
    m: newVariable(backend, m.shape),
    v: newVariable(backend, v.shape),
    names: [mName, vName],
  };
  assignVariable(backend, slot.m, m);
  assignVariable(backend, slot.v, v);
  return slot;
}

function newVariable(backend: NodeBackend, shape: number[]): tf.Tensor {
  const [handle] = runOp(
    backend,
    'VarHandleOp',
    [],
    [
      floatAttr(backend, 'dtype'),
      { name: 'shape', type: backend.binding.TF_ATTR_SHAPE, value: shape },
      stringAttr(backend, 'shared_name', ANONYMOUS),
    ],
    1,
  );
  return tf.keep(handle!);
}

function assignVariable(backend: NodeBackend, handle: tf.Tensor, value: tf.Tensor): void {
  runOp(backend, 'AssignVariableOp', [handle, value], [floatAttr(backend, 'dtype')]);
}

function readVariable(backend: NodeBackend, handle: tf.Tensor): tf.Tensor {
  return runOp(backend, 'ReadVariableOp', [handle], [floatAttr(backend, 'dtype')], 1)[0]!;
}
