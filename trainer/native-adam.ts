// Adam as one TensorFlow kernel per variable on the native backend. tfjs's AdamOptimizer updates
// a variable with 14 element-wise ops and 7 scalars made from JavaScript numbers; tfjs-node runs
// each as its own eager call, which made the optimizer the largest part of an MLP step. Here the
// moments and a copy of the weights live in TensorFlow resource variables and ResourceApplyAdam
// (the kernel TensorFlow's own Adam uses) updates them in place; the tfjs variable then takes the
// new value with one ReadVariableOp. The update is Keras's formula (epsilon added to sqrt(v), not
// to the bias-corrected sqrt(v̂) as tfjs does): the same Adam, a hair apart for the first steps.
// On any other backend the class is tfjs's AdamOptimizer unchanged.
import * as tf from '@tensorflow/tfjs';
import { boolAttr, floatAttr, type NodeBackend, nativeBackend, runOp, stringAttr } from './native-binding.ts';

// TensorFlow's ResourceHandle::ANONYMOUS_NAME: the resource is freed with its last handle, as
// eager Python's variables are, instead of living as long as the TensorFlow context.
const ANONYMOUS = 'cd2c89b7-88b7-44c8-ad83-06c2a9158347';

type Gradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];
type NamedTensor = { name: string; tensor: tf.Tensor };

interface Slot {
  /** Resource handles: the weights' copy, the first and the second moment. */
  value: tf.Tensor;
  m: tf.Tensor;
  v: tf.Tensor;
  /** The tfjs variable's dataId when the copy was last written: another id means someone else assigned it. */
  synced: object | undefined;
}

export class NativeAdam extends tf.AdamOptimizer {
  private readonly slots = new Map<string, Slot>();
  private constants: tf.Tensor[] | undefined;
  private step = 0;

  override applyGradients(grads: Gradients): void {
    const backend = nativeBackend();
    if (!backend) {
      super.applyGradients(grads);
      return;
    }
    const named: NamedTensor[] = Array.isArray(grads)
      ? grads
      : Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
    this.step++;
    this.constants ??= [this.learningRate, this.beta1, this.beta2, this.epsilon].map((x) =>
      tf.keep(tf.scalar(x)),
    );
    const [lr, beta1, beta2, epsilon] = this.constants as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    tf.tidy(() => {
      const beta1Power = tf.scalar(this.beta1 ** this.step);
      const beta2Power = tf.scalar(this.beta2 ** this.step);
      for (const { name, tensor: grad } of named) {
        if (grad == null) continue;
        const variable = tf.engine().registeredVariables[name]!;
        const slot = this.slot(backend, name, variable);
        if (slot.synced !== variable.dataId) assignVariable(backend, slot.value, variable);
        runOp(
          backend,
          'ResourceApplyAdam',
          [slot.value, slot.m, slot.v, beta1Power, beta2Power, lr, beta1, beta2, epsilon, grad],
          [
            floatAttr(backend, 'T'),
            boolAttr(backend, 'use_locking', false),
            boolAttr(backend, 'use_nesterov', false),
          ],
        );
        variable.assign(readVariable(backend, slot.value));
        slot.synced = variable.dataId;
      }
    });
    this.incrementIterations();
  }

  private slot(backend: NodeBackend, name: string, variable: tf.Variable): Slot {
    let slot = this.slots.get(name);
    if (!slot) {
      slot = {
        value: newVariable(backend, variable.shape),
        m: newVariable(backend, variable.shape),
        v: newVariable(backend, variable.shape),
        synced: undefined,
      };
      const zeros = tf.zerosLike(variable);
      assignVariable(backend, slot.m, zeros);
      assignVariable(backend, slot.v, zeros);
      this.slots.set(name, slot);
    }
    return slot;
  }

  override async getWeights(): Promise<NamedTensor[]> {
    const backend = nativeBackend();
    if (this.slots.size === 0 || !backend) return super.getWeights();
    const slots = [...this.slots];
    return [
      await this.saveIterations(),
      ...slots.map(([name, s]) => ({ name: `${name}/m`, tensor: readVariable(backend, s.m) })),
      ...slots.map(([name, s]) => ({ name: `${name}/v`, tensor: readVariable(backend, s.v) })),
    ];
  }

  override async setWeights(weights: NamedTensor[]): Promise<void> {
    if (this.slots.size > 0) throw new Error('NativeAdam cannot load optimizer weights after its first step');
    return super.setWeights(weights);
  }

  override dispose(): void {
    super.dispose();
    for (const s of this.slots.values()) tf.dispose([s.value, s.m, s.v]);
    this.slots.clear();
    if (this.constants) tf.dispose(this.constants);
    this.constants = undefined;
  }
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
