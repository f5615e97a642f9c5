#!/usr/bin/env bash
# Creates the Python environment that draws docs/dashboard.png: matplotlib from PyPI (wheels, no
# download at run time beyond pip's), pinned, cached outside the repository and reused:
#   $K2K_CACHE/venvs/matplotlib-$MATPLOTLIB_VERSION-py<python version>/bin/python
#
# Usage: hack/dashboards/matplotlib-venv.sh   (prints the venv's python on stdout)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/versions.sh
source "$here/../lib/versions.sh"
# shellcheck source=../../bench/lib/python-venv.sh
source "$here/../../bench/lib/python-venv.sh"
MATPLOTLIB_VERSION="${MATPLOTLIB_VERSION:-3.11.2}"

python_venv "$K2K_CACHE/venvs/matplotlib-$MATPLOTLIB_VERSION-py$(python_version)" matplotlib "matplotlib==$MATPLOTLIB_VERSION"
