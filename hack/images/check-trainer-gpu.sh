#!/usr/bin/env bash
# Checks the GPU trainer image on a machine without a GPU (docs/decisions/0030-native-trainer-image.md):
#   1. every shared library of the CUDA/cuDNN wheels loads in the image (its dependencies resolve
#      through the wheels' RUNPATHs; libcuda.so.1 comes from a GPU node's driver and is not needed
#      to load them);
#   2. the trainer's backend selection ("auto") picks tensorflow from @tensorflow/tfjs-node-gpu;
#   3. it trains: TensorFlow finds no CUDA driver and falls back to its CPU kernels; the loss of a
#      small MLP must fall over two epochs.
# What only a GPU node can check: that cuInit succeeds against its driver and kernels run there.
#
# Usage: hack/images/check-trainer-gpu.sh [--if-changed] [IMAGE]   (default localhost/k2k/trainer-gpu:dev)
#   --if-changed  builds the image (hack/images/build.sh trainer-gpu) and checks it only when its
#                 inputs changed since the last check that passed: CI runs it this way, so the
#                 ~4.7 GB image costs nothing on runs that do not touch it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

if_changed=false
[ "${1:-}" = --if-changed ] && { if_changed=true; shift; }
image="${1:-localhost/k2k/trainer-gpu:dev}"

if $if_changed; then
  # The image's inputs: what selects and builds its native part, and the program it runs.
  inputs="$(cd "$repo" && cat hack/lib/versions.sh hack/build-tfjs-node.sh hack/images/build.sh \
    hack/images/check-trainer-gpu.sh Dockerfile.trainer package-lock.json | sha256sum | cut -c1-16)"
  stamp="$IMAGES_DIR/trainer-gpu-checked-$inputs"
  if [ -f "$stamp" ]; then
    log "trainer-gpu: inputs unchanged since the last passing check ($stamp)"
    exit 0
  fi
  bash "$here/build.sh" trainer-gpu
fi

container="$(bah from --pull=never "$image")"
trap 'bah rm "$container" >/dev/null' EXIT
started=$SECONDS
bah run --user 65532:65532 --workingdir /app "$container" -- node --input-type=module -e "
import fs from 'node:fs';
import path from 'node:path';
const root = '/app/node_modules/@tensorflow/tfjs-node-gpu/deps/nvidia';
const libs = fs.readdirSync(root).flatMap((d) => fs.readdirSync(path.join(root, d, 'lib')).map((f) => path.join(root, d, 'lib', f)));
if (libs.length < 12) throw new Error('only ' + libs.length + ' CUDA libraries under ' + root);
for (const lib of libs) {
  // A library that loads but is no Node addon fails with 'did not self-register': it loaded.
  try { process.dlopen({ exports: {} }, lib); } catch (err) {
    if (!/did not self-register/.test(err.message)) throw new Error('cannot load ' + lib + ': ' + err.message);
  }
}
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const { selectBackend } = await import('/app/dist/trainer/backend.js');
const selected = await selectBackend('auto', quiet);
if (selected.name !== 'tensorflow' || selected.source !== '@tensorflow/tfjs-node-gpu')
  throw new Error('auto selected ' + JSON.stringify(selected));
const tf = await import('@tensorflow/tfjs');
const model = tf.sequential({ layers: [
  tf.layers.dense({ units: 64, activation: 'relu', inputShape: [784] }),
  tf.layers.dense({ units: 10, activation: 'softmax' }),
] });
model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
const x = tf.randomUniform([1024, 784], 0, 1, 'float32', 1);
const y = tf.oneHot(tf.argMax(x.slice([0, 0], [1024, 10]), 1), 10);
const { history } = await model.fit(x, y, { batchSize: 128, epochs: 2, verbose: 0 });
const [first, last] = [history.loss[0], history.loss[1]];
if (!(last < first)) throw new Error('loss did not fall: ' + history.loss);
console.log(libs.length + ' CUDA libraries load; backend ' + selected.name + ' from ' + selected.source + '; loss ' + first.toFixed(3) + ' -> ' + last.toFixed(3));
" 2> >(grep -v -e 'absl::InitializeLog' -e 'oneDNN custom operations' >&2)
log "trainer-gpu $image: checked in $((SECONDS - started))s"
if $if_changed; then touch "$stamp"; fi
