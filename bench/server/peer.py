"""The benchmark peer: KServe's Python model server (the `kserve` package's ModelServer, the same
server KServe's own predictors build on) serving a k2k artifact over the Open Inference Protocol v2
REST and gRPC APIs, computing the artifact's network with numpy: Flatten and Dense layers, after the
artifact's preprocessing (tabular z-score normalisation, or image scaling by 1/imageScale).

Env: K2K_BENCH_ARTIFACT_DIR (a file:// artifact version directory), K2K_BENCH_PORT,
K2K_BENCH_GRPC_PORT, K2K_BENCH_MODEL. REST listens on 127.0.0.1 only (kserve hard-codes 0.0.0.0;
the Config is wrapped below); so does gRPC (its server's port binding is wrapped the same way).
"""

import json
import os
import pathlib

import numpy as np
import uvicorn

_Config = uvicorn.Config


class _LoopbackConfig(_Config):
    def __init__(self, *args, **kwargs):
        kwargs["host"] = "127.0.0.1"
        super().__init__(*args, **kwargs)


uvicorn.Config = _LoopbackConfig

import grpc.aio  # noqa: E402

_aio_server = grpc.aio.server


def _loopback_aio_server(*args, **kwargs):
    server = _aio_server(*args, **kwargs)
    add = server.add_insecure_port
    server.add_insecure_port = lambda address: add("127.0.0.1:" + address.rsplit(":", 1)[1])
    return server


grpc.aio.server = _loopback_aio_server

from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer  # noqa: E402

ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0),
    "linear": lambda x: x,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
    "softmax": lambda x: (lambda e: e / e.sum(axis=-1, keepdims=True))(np.exp(x - x.max(axis=-1, keepdims=True))),
}


class DenseArtifact(Model):
    """A Sequential stack of Flatten and Dense layers from model.json + weights.bin, with
    preprocessing.json's normalisation or image scaling: the computation the k2k server runs."""

    def __init__(self, name: str, directory: pathlib.Path):
        super().__init__(name)
        self.directory = directory
        self.load()

    def load(self) -> bool:
        model = json.loads((self.directory / "model.json").read_text())
        pre = json.loads((self.directory / "preprocessing.json").read_text())
        weights = np.fromfile(self.directory / "weights.bin", dtype="<f4")
        specs, offset, tensors = model["weightsManifest"][0]["weights"], 0, {}
        for spec in specs:
            size = int(np.prod(spec["shape"]))
            tensors[spec["name"]] = weights[offset : offset + size].reshape(spec["shape"])
            offset += size
        self.layers = []
        for layer in model["modelTopology"]["config"]["layers"]:
            if layer["class_name"] == "Flatten":
                self.layers.append(lambda x: x.reshape(x.shape[0], -1))
                continue
            if layer["class_name"] != "Dense":
                raise ValueError(f"the peer only runs Flatten and Dense layers, not {layer['class_name']}")
            name = layer["config"]["name"]
            kernel, bias = tensors[f"{name}/kernel"], tensors[f"{name}/bias"]
            activation = ACTIVATIONS[layer["config"]["activation"]]
            self.layers.append(lambda x, k=kernel, b=bias, f=activation: f(x @ k + b))
        inp = pre["input"]
        norm = inp.get("normalization")
        scale = inp.get("imageScale") if inp["kind"] == "image" else None
        # Images: divide by imageScale (as the server does); tabular: z-score with the saved statistics.
        self.mean = np.asarray(norm["mean"], dtype=np.float32) if norm else np.float32(0)
        self.std = np.asarray(norm["std"], dtype=np.float32) if norm else np.float32(scale or 1)
        self.ready = True
        return True

    async def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        x = payload.inputs[0].as_numpy().astype(np.float32)
        x = (x - self.mean) / self.std
        for layer in self.layers:
            x = layer(x)
        out = InferOutput(name="output", shape=list(x.shape), datatype="FP32")
        out.set_data_from_numpy(x.astype(np.float32), binary_data=False)
        return InferResponse(model_name=self.name, infer_outputs=[out], response_id=payload.id or "")


if __name__ == "__main__":
    directory = pathlib.Path(os.environ["K2K_BENCH_ARTIFACT_DIR"])
    model = DenseArtifact(os.environ.get("K2K_BENCH_MODEL", "tiny"), directory)
    ModelServer(
        http_port=int(os.environ["K2K_BENCH_PORT"]),
        grpc_port=int(os.environ["K2K_BENCH_GRPC_PORT"]),
        enable_grpc=True,
        enable_latency_logging=False,
        workers=1,
    ).start([model])
