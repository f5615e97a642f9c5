#!/usr/bin/env bash
# Creates the Python environment of the sweep benchmark's peer: Optuna from PyPI, pinned, cached
# outside the repository and reused:
#   $K2K_CACHE/venvs/optuna-$OPTUNA_VERSION-py<python version>/bin/python
#
# Usage: bench/sweep/optuna-venv.sh   (prints the venv's python on stdout)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../hack/lib/versions.sh
source "$here/../../hack/lib/versions.sh"
# shellcheck source=../lib/python-venv.sh
source "$here/../lib/python-venv.sh"
OPTUNA_VERSION="${OPTUNA_VERSION:-5.0.0}"

python_venv "$K2K_CACHE/venvs/optuna-$OPTUNA_VERSION-py$(python_version)" optuna "optuna==$OPTUNA_VERSION"
