#!/usr/bin/env bash
# Makes the Keras model fixtures with real Keras (test/fixtures/keras/make.py in the venv of
# hack/keras-venv.sh), once per version of the script and of the pinned Keras versions, into
#   $K2K_CACHE/keras-fixtures-<hash>/
# and prints that directory. Test files may call it in parallel: a lock makes one of them build
# and the others wait for it; an interrupted build leaves nothing behind but a temporary directory.
#
# Usage: hack/keras-fixtures.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
# shellcheck source=lib/versions.sh
source "$here/lib/versions.sh"

script="$repo/test/fixtures/keras/make.py"
hash="$( { cat "$script"; echo "$KERAS_VERSION $TF_KERAS_VERSION $TENSORFLOW_VERSION"; } | sha256sum | cut -c1-16)"
dir="$K2K_CACHE/keras-fixtures-$hash"

mkdir -p "$K2K_CACHE"
exec 9>"$K2K_CACHE/keras-fixtures.lock"
flock 9
if [ ! -f "$dir/manifest.json" ]; then
  started=$SECONDS
  python="$("$here/keras-venv.sh")"
  tmp="$(mktemp -d "$dir.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  printf '[keras-fixtures] writing %s with Keras %s and tf_keras %s\n' "$dir" "$KERAS_VERSION" "$TF_KERAS_VERSION" >&2
  # Keras and TensorFlow are chatty (legacy-format warnings): their output is shown only on failure.
  if ! TF_CPP_MIN_LOG_LEVEL=3 "$python" "$script" "$tmp" >"$tmp/make.log" 2>&1; then
    cat "$tmp/make.log" >&2
    exit 1
  fi
  rm "$tmp/make.log"
  mv "$tmp" "$dir"
  trap - EXIT
  printf '[keras-fixtures] made in %ss\n' "$((SECONDS - started))" >&2
fi
echo "$dir"
