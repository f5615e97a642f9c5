# A TensorFlow Serving Predict call made with TensorFlow's own TensorProto codec: the request
# tensor from tf.make_tensor_proto (tensor_content), the answer read with tf.make_ndarray. The
# PredictRequest/PredictResponse wrappers are declared here (tensorflow_serving is not a TensorFlow
# dependency) with the published field numbers; the tensors inside them are TensorFlow's.
#   python predict.py <host:port> <model> <rows as JSON>   → prints the outputs as JSON
import json
import sys

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from tensorflow.core.framework import tensor_pb2  # noqa: F401  (puts TensorProto in the pool)

STRING, MESSAGE, OPTIONAL, REPEATED = 9, 11, 1, 3

f = descriptor_pb2.FileDescriptorProto(
    name="k2k_test/predict.proto",
    package="tensorflow.serving",
    dependency=["tensorflow/core/framework/tensor.proto"],
    syntax="proto3",
)
spec = f.message_type.add(name="ModelSpec")
spec.field.add(name="name", number=1, type=STRING, label=OPTIONAL)


def tensor_map(message, name, number):
    entry = message.nested_type.add(name=name[0].upper() + name[1:] + "Entry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=STRING, label=OPTIONAL)
    entry.field.add(name="value", number=2, type=MESSAGE, label=OPTIONAL, type_name=".tensorflow.TensorProto")
    message.field.add(
        name=name, number=number, type=MESSAGE, label=REPEATED,
        type_name=f".tensorflow.serving.{message.name}.{entry.name}",
    )


request = f.message_type.add(name="PredictRequest")
request.field.add(name="model_spec", number=1, type=MESSAGE, label=OPTIONAL, type_name=".tensorflow.serving.ModelSpec")
tensor_map(request, "inputs", 2)
response = f.message_type.add(name="PredictResponse")
tensor_map(response, "outputs", 1)
response.field.add(name="model_spec", number=2, type=MESSAGE, label=OPTIONAL, type_name=".tensorflow.serving.ModelSpec")

pool = descriptor_pool.Default()
pool.Add(f)
Request = message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.serving.PredictRequest"))
Response = message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.serving.PredictResponse"))

target, model, rows = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
req = Request()
req.model_spec.name = model
req.inputs["input"].CopyFrom(tf.make_tensor_proto(np.array(rows, dtype=np.float32)))
with grpc.insecure_channel(target) as channel:
    predict = channel.unary_unary(
        "/tensorflow.serving.PredictionService/Predict",
        request_serializer=Request.SerializeToString,
        response_deserializer=Response.FromString,
    )
    answer = predict(req, timeout=30)
print(json.dumps({name: tf.make_ndarray(t).tolist() for name, t in answer.outputs.items()}))
