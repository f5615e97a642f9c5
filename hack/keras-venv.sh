#!/usr/bin/env bash
# Creates the Python environment that writes the Keras model fixtures (test/fixtures/keras/make.py):
# TensorFlow (CPU), Keras 3 and tf_keras (Keras 2) from PyPI at the versions of hack/lib/versions.sh,
# cached outside the repository and reused:
#   $K2K_CACHE/venvs/keras-$KERAS_VERSION-tf$TENSORFLOW_VERSION-py<python version>/bin/python
# The TensorFlow wheel hack/build-tfjs-node.sh already downloaded is reused when present.
#
# Usage: hack/keras-venv.sh   (prints the venv's python on stdout)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/versions.sh
source "$here/lib/versions.sh"
# shellcheck source=../bench/lib/python-venv.sh
source "$here/../bench/lib/python-venv.sh"

python_venv "$K2K_CACHE/venvs/keras-$KERAS_VERSION-tf$TENSORFLOW_VERSION-py$(python_version)" tf_keras \
  --find-links "$K2K_CACHE/libtensorflow-$TENSORFLOW_VERSION/wheel" \
  "tensorflow-cpu==$TENSORFLOW_VERSION" "keras==$KERAS_VERSION" "tf_keras==$TF_KERAS_VERSION"
