#!/usr/bin/env bash
# Installs the benchmark peer (KServe's Python model server + numpy) into a virtualenv cached
# outside the repository, keyed by version; reuses it when present. Prints the venv's python.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../hack/lib/versions.sh
source "$here/../../hack/lib/versions.sh"
venv="$K2K_CACHE/bench-kserve-$KSERVE_PY_VERSION-numpy-$NUMPY_PY_VERSION"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import kserve, numpy' 2>/dev/null; then
  rm -rf "$venv.tmp"
  python3 -m venv "$venv.tmp"
  "$venv.tmp/bin/pip" install --quiet --disable-pip-version-check "kserve==$KSERVE_PY_VERSION" "numpy==$NUMPY_PY_VERSION" >&2
  rm -rf "$venv"
  mv "$venv.tmp" "$venv"
  # A venv records its own path in its scripts; the python binary itself is position-independent.
fi
echo "$venv/bin/python"
