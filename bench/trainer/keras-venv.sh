#!/usr/bin/env bash
# Creates the Python environment of the benchmark's Keras peer: TensorFlow from PyPI, the same
# version whose C library hack/build-tfjs-node.sh links the native tfjs backend against, so both
# sides run the same kernels. Cached outside the repository and reused:
#   $K2K_CACHE/keras-venv-tf$TENSORFLOW_VERSION-py<python version>/bin/python
#
# Usage: bench/trainer/keras-venv.sh   (prints the venv's python on stdout)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../hack/lib/versions.sh
source "$here/../../hack/lib/versions.sh"
# shellcheck source=../lib/python-venv.sh
source "$here/../lib/python-venv.sh"

# The wheel hack/build-tfjs-node.sh already downloaded is reused when its Python tag fits.
python="$(python_venv "$K2K_CACHE/keras-venv-tf$TENSORFLOW_VERSION-py$(python_version)" tensorflow \
  --find-links "$K2K_CACHE/libtensorflow-$TENSORFLOW_VERSION/wheel" "tensorflow-cpu==$TENSORFLOW_VERSION")"
"$python" -c 'import tensorflow as tf, keras; print(tf.__version__, keras.__version__)' >&2
echo "$python"
