"""Keras peer of bench/trainer/run.ts: trains the same two models with the same timing protocol
(see measure.ts) and prints one JSON object on stdout; diagnostics go to stderr.

Two variants: "keras" is what model.compile() gives by default (jit_compile="auto", which Keras
resolves to no XLA on a machine without accelerators: a tf.function graph of the same kernels
tfjs-node calls one by one), and "keras-xla" forces XLA compilation (jit_compile=True).

Usage: keras_peer.py --batch-size 128 --warmup-steps 3 --budget-seconds 3 --min-steps 1 --models mlp,cnn
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

INPUT_SHAPE = (28, 28, 1)
CLASSES = 10
POOL = 8  # distinct synthetic batches, as in run.ts


def build_model(name: str, jit_compile) -> keras.Model:
    if name == "mlp":
        body = [keras.layers.Flatten(), keras.layers.Dense(512, activation="relu")]
    elif name == "cnn":
        body = [
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
        ]
    else:
        raise SystemExit(f"--models: unknown model {name!r} (want mlp or cnn)")
    model = keras.Sequential(
        [keras.Input(shape=INPUT_SHAPE), *body, keras.layers.Dense(CLASSES, activation="softmax")]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", jit_compile=jit_compile
    )
    return model


def synthetic_batches(batch_size: int):
    rng = np.random.default_rng(1)
    return [
        (
            tf.constant(rng.random((batch_size, *INPUT_SHAPE), dtype=np.float32)),
            tf.constant(np.eye(CLASSES, dtype=np.float32)[rng.integers(0, CLASSES, batch_size)]),
        )
        for _ in range(POOL)
    ]


def measure(model: keras.Model, batches, args) -> dict:
    # train_on_batch returns the loss as a NumPy value, so each step has finished when it returns.
    i = 0
    warmup_start = time.perf_counter()
    while i < args.warmup_steps:
        model.train_on_batch(*batches[i % POOL])
        i += 1
        if time.perf_counter() - warmup_start >= args.budget_seconds:
            break
    steps = 0
    seconds = 0.0
    start = time.perf_counter()
    while steps < args.min_steps or seconds < args.budget_seconds:
        model.train_on_batch(*batches[i % POOL])
        i += 1
        steps += 1
        seconds = time.perf_counter() - start
    return {"samplesPerSecond": steps * args.batch_size / seconds, "steps": steps, "seconds": seconds}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--batch-size", type=int, required=True)
    p.add_argument("--warmup-steps", type=int, required=True)
    p.add_argument("--budget-seconds", type=float, required=True)
    p.add_argument("--min-steps", type=int, required=True)
    p.add_argument("--models", required=True)
    args = p.parse_args()

    batches = synthetic_batches(args.batch_size)
    results = []
    for name in args.models.split(","):
        for variant, jit in (("keras", "auto"), ("keras-xla", True)):
            model = build_model(name, jit)
            r = measure(model, batches, args)
            print(f"[keras_peer] {name} {variant}: {r['samplesPerSecond']:.0f} samples/s", file=sys.stderr)
            results.append({"model": name, "backend": variant, **r})
            keras.backend.clear_session()
    threads = tf.config.threading
    print(
        json.dumps(
            {
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
                "python": sys.version.split()[0],
                "intraOpThreads": threads.get_intra_op_parallelism_threads(),
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
