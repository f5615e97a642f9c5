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

log() { printf '[keras-venv] %s\n' "$*" >&2; }

py="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
venv="$K2K_CACHE/keras-venv-tf$TENSORFLOW_VERSION-py$py"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import tensorflow' 2>/dev/null; then
  log "cached at $venv"
  echo "$venv/bin/python"
  exit 0
fi

tmp="$venv.tmp"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
log "creating $venv with tensorflow-cpu==$TENSORFLOW_VERSION"
python3 -m venv "$tmp"
# The wheel hack/build-tfjs-node.sh already downloaded is reused when its Python tag fits.
"$tmp/bin/python" -m pip install --quiet --disable-pip-version-check \
  --find-links "$K2K_CACHE/libtensorflow-$TENSORFLOW_VERSION/wheel" "tensorflow-cpu==$TENSORFLOW_VERSION"
# A venv's scripts hard-code its path, so it is built under its final name's sibling and then
# moved; python -m pip and python itself work from the moved location.
rm -rf "$venv"
mv "$tmp" "$venv"
"$venv/bin/python" -c 'import tensorflow as tf, keras; print(tf.__version__, keras.__version__)' >&2
echo "$venv/bin/python"
