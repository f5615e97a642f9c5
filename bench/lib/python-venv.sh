# shellcheck shell=bash
# Sourced by the benchmarks' peer scripts: a Python venv built once under a versioned name in
# $K2K_CACHE and reused.
#
#   python_venv <dir> <module to import> <pip install arguments...>
# prints the venv's python on stdout; progress goes to stderr.
python_venv() {
  local venv="$1" module="$2"
  shift 2
  local tag
  tag="[$(basename "$venv")]"
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import $module" 2>/dev/null; then
    printf '%s cached at %s\n' "$tag" "$venv" >&2
    echo "$venv/bin/python"
    return 0
  fi
  local tmp="$venv.tmp"
  rm -rf "$tmp"
  mkdir -p "$(dirname "$venv")"
  printf '%s creating %s: pip install %s\n' "$tag" "$venv" "$*" >&2
  # Callers use $(python_venv ...), where errexit does not reach: every step checks itself.
  if ! python3 -m venv "$tmp" || ! "$tmp/bin/python" -m pip install --quiet --disable-pip-version-check "$@"; then
    rm -rf "$tmp"
    return 1
  fi
  # A venv's scripts hard-code its path, so it is built under its final name's sibling and then
  # moved; python -m pip and python itself work from the moved location.
  rm -rf "$venv"
  mv "$tmp" "$venv" || return 1
  echo "$venv/bin/python"
}

# major.minor of python3, for venv names: a venv only works with the Python it was made by.
python_version() {
  python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")'
}
