"""The benchmark peer: KServe's Python model server (the `kserve` package's ModelServer, the same
server KServe's own predictors build on) serving a k2k tabular artifact over the Open Inference
Protocol v2 REST API, computing the artifact's dense network with numpy.

Env: K2K_BENCH_ARTIFACT_DIR (a file:// artifact version directory), K2K_BENCH_PORT, K2K_BENCH_MODEL.
It listens on 127.0.0.1 only (kserve hard-codes 0.0.0.0; the Config is wrapped below).
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

from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer  # noqa: E402

ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0),
    "linear": lambda x: x,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
    "softmax": lambda x: (lambda e: e / e.sum(axis=-1, keepdims=True))(np.exp(x - x.max(axis=-1, keepdims=True))),
}


class DenseArtifact(Model):
    """A Sequential stack of Dense layers from model.json + weights.bin, with preprocessing.json's
    z-score normalisation: the same computation the k2k server runs for this artifact."""

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
            if layer["class_name"] != "Dense":
                raise ValueError(f"the peer only runs Dense layers, not {layer['class_name']}")
            name = layer["config"]["name"]
            self.layers.append((tensors[f"{name}/kernel"], tensors[f"{name}/bias"], ACTIVATIONS[layer["config"]["activation"]]))
        norm = pre["input"].get("normalization")
        self.mean = np.asarray(norm["mean"], dtype=np.float32) if norm else 0
        self.std = np.asarray(norm["std"], dtype=np.float32) if norm else 1
        self.ready = True
        return True

    async def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        x = payload.inputs[0].as_numpy().astype(np.float32)
        x = (x - self.mean) / self.std
        for kernel, bias, activation in self.layers:
            x = activation(x @ kernel + bias)
        out = InferOutput(name="output", shape=list(x.shape), datatype="FP32")
        out.set_data_from_numpy(x.astype(np.float32), binary_data=False)
        return InferResponse(model_name=self.name, infer_outputs=[out], response_id=payload.id or "")


if __name__ == "__main__":
    directory = pathlib.Path(os.environ["K2K_BENCH_ARTIFACT_DIR"])
    model = DenseArtifact(os.environ.get("K2K_BENCH_MODEL", "tiny"), directory)
    ModelServer(
        http_port=int(os.environ["K2K_BENCH_PORT"]),
        enable_grpc=False,
        enable_latency_logging=False,
        workers=1,
    ).start([model])
