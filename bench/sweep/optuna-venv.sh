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
OPTUNA_VERSION="${OPTUNA_VERSION:-5.0.0}"

log() { printf '[optuna-venv] %s\n' "$*" >&2; }

py="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
venv="$K2K_CACHE/venvs/optuna-$OPTUNA_VERSION-py$py"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import optuna' 2>/dev/null; then
  log "cached at $venv"
  echo "$venv/bin/python"
  exit 0
fi

tmp="$venv.tmp"
rm -rf "$tmp"
mkdir -p "$(dirname "$venv")"
trap 'rm -rf "$tmp"' EXIT
log "creating $venv with optuna==$OPTUNA_VERSION"
python3 -m venv "$tmp"
"$tmp/bin/python" -m pip install --quiet --disable-pip-version-check "optuna==$OPTUNA_VERSION"
# A venv's scripts hard-code its path, but python -m pip and python itself work after the move.
rm -rf "$venv"
mv "$tmp" "$venv"
"$venv/bin/python" -c 'import optuna; print("optuna", optuna.__version__)' >&2
echo "$venv/bin/python"
