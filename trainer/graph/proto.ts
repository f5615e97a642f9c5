// The subset of TensorFlow's protocol buffers a SavedModel of one graph needs, with TensorFlow's
// field numbers (tensorflow/core/framework/{graph,node_def,attr_value,tensor,tensor_shape,
// types,versions}.proto, tensorflow/core/protobuf/{meta_graph,saved_model}.proto, TensorFlow
// 2.21). These numbers are a wire contract with TensorFlow's loader: graph.test.ts checks that
// TensorFlow reads back what this writes.
import protobuf from 'protobufjs';

const PROTO = `
syntax = "proto3";
package tensorflow;

enum DataType { DT_INVALID = 0; DT_FLOAT = 1; DT_INT32 = 3; DT_INT64 = 9; DT_BOOL = 10; }

message TensorShapeProto {
  message Dim { int64 size = 1; string name = 2; }
  repeated Dim dim = 2;
  bool unknown_rank = 3;
}

message TensorProto {
  DataType dtype = 1;
  TensorShapeProto tensor_shape = 2;
  int32 version_number = 3;
  bytes tensor_content = 4;
  repeated float float_val = 5 [packed = true];
  repeated int32 int_val = 7 [packed = true];
}

message AttrValue {
  message ListValue {
    repeated bytes s = 2;
    repeated int64 i = 3 [packed = true];
    repeated float f = 4 [packed = true];
    repeated bool b = 5 [packed = true];
    repeated DataType type = 6 [packed = true];
    repeated TensorShapeProto shape = 7;
  }
  oneof value {
    ListValue list = 1;
    bytes s = 2;
    int64 i = 3;
    float f = 4;
    bool b = 5;
    DataType type = 6;
    TensorShapeProto shape = 7;
    TensorProto tensor = 8;
  }
}

message NodeDef {
  string name = 1;
  string op = 2;
  repeated string input = 3;
  string device = 4;
  map<string, AttrValue> attr = 5;
}

message VersionDef { int32 producer = 1; int32 min_consumer = 2; }

message GraphDef {
  repeated NodeDef node = 1;
  VersionDef versions = 4;
}

message MetaGraphDef {
  message MetaInfoDef {
    string meta_graph_version = 1;
    repeated string tags = 4;
  }
  MetaInfoDef meta_info_def = 1;
  GraphDef graph_def = 2;
}

message SavedModel {
  int64 saved_model_schema_version = 1;
  repeated MetaGraphDef meta_graphs = 2;
}
`;

const root = protobuf.parse(PROTO, { keepCase: true }).root;
const SavedModel = root.lookupType('tensorflow.SavedModel');

export const DT_FLOAT = 1;
export const DT_INT32 = 3;
export const DT_INT64 = 9;
export const DT_BOOL = 10;

/** An attribute value, exactly one member set (AttrValue's oneof). */
export type AttrValue =
  | { s: Uint8Array }
  | { i: number }
  | { f: number }
  | { b: boolean }
  | { type: number }
  | { shape: ShapeProto }
  | { tensor: TensorProto }
  | { list: { i?: number[]; s?: Uint8Array[]; type?: number[] } };

export interface ShapeProto {
  dim?: { size: number }[];
  unknown_rank?: boolean;
}

export interface TensorProto {
  dtype: number;
  tensor_shape: ShapeProto;
  float_val?: number[];
  int_val?: number[];
  tensor_content?: Uint8Array;
}

export interface NodeDef {
  name: string;
  op: string;
  input: string[];
  attr: Record<string, AttrValue>;
}

// The GraphDef version TensorFlow 2.21 writes (tf.version.GRAPH_DEF_VERSION); ops' semantics are
// those of this producer.
const PRODUCER = 2474;

/** saved_model.pb holding one MetaGraphDef with `tags` and the graph `nodes`, no variables. */
export function encodeSavedModel(nodes: NodeDef[], tags: string[]): Uint8Array {
  const message = {
    saved_model_schema_version: 1,
    meta_graphs: [
      {
        meta_info_def: { tags },
        graph_def: { node: nodes, versions: { producer: PRODUCER, min_consumer: 0 } },
      },
    ],
  };
  const err = SavedModel.verify(message);
  if (err) throw new Error(`SavedModel: ${err}`);
  return SavedModel.encode(SavedModel.fromObject(message)).finish();
}
