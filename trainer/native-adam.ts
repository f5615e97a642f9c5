// Adam as one TensorFlow kernel per variable on the native backend. tfjs's AdamOptimizer updates
// a variable with 14 element-wise ops and 7 scalars made from JavaScript numbers; tfjs-node runs
// each as its own eager call, which made the optimizer the largest part of an MLP step. Here the
// moments and a copy of the weights live in TensorFlow resource variables and ResourceApplyAdam
// (the kernel TensorFlow's own Adam uses) updates them in place; the tfjs variable then takes the
// new value with one ReadVariableOp. The update is Keras's formula (epsilon added to sqrt(v), not
// to the bias-corrected sqrt(v̂) as tfjs does): the same Adam, a hair apart for the first steps.
// On any other backend the class is tfjs's AdamOptimizer unchanged.
import * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-node's backend this file calls (its typings are not exported). */
interface TensorMetadata {
  id: number;
  shape: number[];
  dtype: number;
}
interface OpAttr {
  name: string;
  type: number;
  value: boolean | number | string | number[];
}
interface NodeBackend {
  binding: {
    executeOp(op: string, attrs: OpAttr[], inputIds: number[], numOutputs: number): TensorMetadata[];
    TF_FLOAT: number;
    TF_ATTR_TYPE: number;
    TF_ATTR_BOOL: number;
    TF_ATTR_STRING: number;
    TF_ATTR_SHAPE: number;
  };
  getInputTensorIds(tensors: tf.Tensor[]): number[];
  createOutputTensor(metadata: TensorMetadata): tf.Tensor;
}

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
    if (tf.getBackend() !== 'tensorflow') {
      super.applyGradients(grads);
      return;
    }
    const backend = tf.backend() as unknown as NodeBackend;
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
        run(backend, 'ResourceApplyAdam', [
          [slot.value, slot.m, slot.v, beta1Power, beta2Power, lr, beta1, beta2, epsilon, grad],
          [
            typeAttr(backend, 'T'),
            boolAttr(backend, 'use_locking', false),
            boolAttr(backend, 'use_nesterov', false),
          ],
        ]);
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
    if (this.slots.size === 0) return super.getWeights();
    const backend = tf.backend() as unknown as NodeBackend;
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

function run(backend: NodeBackend, op: string, [inputs, attrs]: [tf.Tensor[], OpAttr[]], outputs = 0) {
  return backend.binding
    .executeOp(op, attrs, backend.getInputTensorIds(inputs), outputs)
    .map((m) => backend.createOutputTensor(m));
}

const typeAttr = (b: NodeBackend, name: string): OpAttr => ({
  name,
  type: b.binding.TF_ATTR_TYPE,
  value: b.binding.TF_FLOAT,
});
const boolAttr = (b: NodeBackend, name: string, value: boolean): OpAttr => ({
  name,
  type: b.binding.TF_ATTR_BOOL,
  value,
});

function newVariable(backend: NodeBackend, shape: number[]): tf.Tensor {
  const [handle] = run(
    backend,
    'VarHandleOp',
    [
      [],
      [
        typeAttr(backend, 'dtype'),
        { name: 'shape', type: backend.binding.TF_ATTR_SHAPE, value: shape },
        { name: 'shared_name', type: backend.binding.TF_ATTR_STRING, value: ANONYMOUS },
      ],
    ],
    1,
  );
  return tf.keep(handle!);
}

function assignVariable(backend: NodeBackend, handle: tf.Tensor, value: tf.Tensor): void {
  run(backend, 'AssignVariableOp', [[handle, value], [typeAttr(backend, 'dtype')]]);
}

function readVariable(backend: NodeBackend, handle: tf.Tensor): tf.Tensor {
  return run(backend, 'ReadVariableOp', [[handle], [typeAttr(backend, 'dtype')]], 1)[0]!;
}
