#!/usr/bin/env bash
# Builds the pod sandbox image localhost/k2k/pause:$PAUSE_VERSION: one static Go binary
# (hack/images/pause/main.go, CGO_ENABLED=0, standard library only) in an otherwise empty image.
# Output: the image in buildah's store and its OCI archive under $K2K_CACHE/images/archives.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

command -v go >/dev/null || die "go is not installed"
src="$here/pause/main.go"
# The image is keyed by the source's hash as well as PAUSE_VERSION, so an edit rebuilds it.
sum="$(sha256sum "$src" | cut -c1-16)"
archive="$(archive_path "$PAUSE_IMAGE")"
if image_exists "$PAUSE_IMAGE" && [ -f "$archive" ] &&
  [ "$(bah inspect --type image --format '{{index .ImageAnnotations "dev.k2k.source"}}' "$PAUSE_IMAGE")" = "$sum" ]; then
  log "$PAUSE_IMAGE cached"
  exit 0
fi

started=$SECONDS
bin="$K2K_CACHE/pause-$PAUSE_VERSION-$sum/pause"
if [ ! -x "$bin" ]; then
  mkdir -p "$(dirname "$bin")"
  CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false \
    go build -trimpath -ldflags "-s -w" -o "$bin.tmp" "$src"
  mv "$bin.tmp" "$bin"
fi
ctr="$(bah from --quiet scratch)"
trap 'bah rm "$ctr" >/dev/null 2>&1 || true' EXIT
bah copy --quiet --chmod 0755 "$ctr" "$bin" /pause
# 65535: the user registry.k8s.io/pause runs as.
bah config --entrypoint '["/pause"]' --cmd '' --user 65535:65535 \
  --annotation "dev.k2k.source=$sum" "$ctr"
bah commit --quiet --rm "$ctr" "$PAUSE_IMAGE" >/dev/null
trap - EXIT
log "$PAUSE_IMAGE built in $((SECONDS - started))s"
export_archive "$PAUSE_IMAGE"
