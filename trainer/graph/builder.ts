// A GraphDef built op by op: each call adds one NodeDef and returns the name of its first output
// ("name:1" for a later one), the way TensorFlow's graph refers to tensors.
import {
  type AttrValue,
  DT_BOOL,
  DT_FLOAT,
  DT_INT32,
  DT_INT64,
  type NodeDef,
  type ShapeProto,
} from './proto.ts';

const encoder = new TextEncoder();

export const attr = {
  float: { type: DT_FLOAT } as AttrValue,
  int32: { type: DT_INT32 } as AttrValue,
  int64: { type: DT_INT64 } as AttrValue,
  boolType: { type: DT_BOOL } as AttrValue,
  bool: (b: boolean): AttrValue => ({ b }),
  string: (s: string): AttrValue => ({ s: encoder.encode(s) }),
  ints: (i: number[]): AttrValue => ({ list: { i } }),
  shape: (dims: number[] | undefined): AttrValue => ({ shape: shapeProto(dims) }),
};

/** -1 for a dimension of any size; undefined for any rank. */
function shapeProto(dims: number[] | undefined): ShapeProto {
  return dims ? { dim: dims.map((size) => ({ size })) } : { unknown_rank: true };
}

export class GraphBuilder {
  readonly nodes: NodeDef[] = [];
  private readonly used = new Set<string>();

  /** Adds an op; `name` is made unique. Returns its first output. */
  op(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, name = op): string {
    let unique = name;
    for (let i = 1; this.used.has(unique); i++) unique = `${name}_${i}`;
    this.used.add(unique);
    this.nodes.push({ name: unique, op, input: inputs, attr: attrs });
    return unique;
  }

  /** A float32 op with attribute T, the common case. */
  f(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, name = op): string {
    return this.op(op, inputs, { T: attr.float, ...attrs }, name);
  }

  /** The int32 shape of a float tensor. */
  shape(t: string): string {
    return this.op('Shape', [t], { T: attr.float, out_type: attr.int32 });
  }

  /** The mean of every element of a float tensor of rank `rank`. */
  meanAll(t: string, rank: number): string {
    const axes = this.ints(Array.from({ length: rank }, (_, i) => i));
    return this.f('Mean', [t, axes], { Tidx: attr.int32, keep_dims: attr.bool(false) });
  }

  /** `t` of type `from` as float32. */
  toFloat(t: string, from: AttrValue): string {
    return this.op('Cast', [t], { SrcT: from, DstT: attr.float, Truncate: attr.bool(false) });
  }

  placeholder(name: string, shape: number[] | undefined, dtype = attr.float): string {
    return this.op('Placeholder', [], { dtype, shape: attr.shape(shape) }, name);
  }

  scalar(value: number, name = 'Const'): string {
    return this.op(
      'Const',
      [],
      { dtype: attr.float, value: { tensor: { dtype: DT_FLOAT, tensor_shape: {}, float_val: [value] } } },
      name,
    );
  }

  /** An int32 scalar. */
  int(value: number, name = 'Const'): string {
    return this.op(
      'Const',
      [],
      { dtype: attr.int32, value: { tensor: { dtype: DT_INT32, tensor_shape: {}, int_val: [value] } } },
      name,
    );
  }

  /** An int32 vector. */
  ints(values: number[], name = 'Const'): string {
    return this.op(
      'Const',
      [],
      {
        dtype: attr.int32,
        value: {
          tensor: { dtype: DT_INT32, tensor_shape: shapeProto([values.length]), int_val: values },
        },
      },
      name,
    );
  }
}

export const output = (node: string, index: number) => (index === 0 ? node : `${node}:${index}`);
