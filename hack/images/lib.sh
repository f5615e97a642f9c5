# Shared by the hack/images scripts: where images are built and stored, and the buildah command.
# shellcheck shell=bash
# shellcheck source=../lib/versions.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/versions.sh"

# buildah keeps its own store under the cache (not /var/lib/containers), so it does not collide
# with a podman or buildah store of the machine. The overlay driver shares layers instead of
# copying the whole root filesystem for each one as vfs does (builds are several times faster
# and the store a fraction of the size); it needs root and a kernel with overlayfs, which the
# local node's containerd needs anyway.
IMAGES_DIR="$K2K_CACHE/images"
BUILDAH_ROOT="$IMAGES_DIR/storage-overlay"
BUILDAH_RUNROOT="/run/k2k-buildah"
# OCI archives, one per image, what `ctr images import` loads into the node's containerd.
ARCHIVE_DIR="$IMAGES_DIR/archives"

# shellcheck disable=SC2034 # used by the scripts that source this file
NODE_IMAGE="localhost/k2k/node:$NODE_MAJOR"
# shellcheck disable=SC2034 # as above
PAUSE_IMAGE="localhost/k2k/pause:$PAUSE_VERSION"

log() { printf '[images] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

bah() {
  buildah --root "$BUILDAH_ROOT" --runroot "$BUILDAH_RUNROOT" --storage-driver overlay "$@"
}

image_exists() { bah inspect --type image "$1" >/dev/null 2>&1; }

# archive_path localhost/k2k/node:20 -> $ARCHIVE_DIR/k2k-node-20.oci.tar
archive_path() {
  local ref="${1#localhost/}"
  ref="${ref//\//-}"
  printf '%s/%s.oci.tar\n' "$ARCHIVE_DIR" "${ref//:/-}"
}

# Writes the image to its OCI archive (named by its reference, which `ctr images import` keeps),
# unless the archive already holds this image: its image ID is kept next to it in <archive>.id.
export_archive() {
  local ref="$1" out id
  out="$(archive_path "$ref")"
  id="$(bah inspect --type image --format '{{.FromImageID}}' "$ref")"
  if [ -f "$out" ] && [ "$(cat "$out.id" 2>/dev/null)" = "$id" ]; then
    log "$ref unchanged; $out is current"
    return
  fi
  mkdir -p "$ARCHIVE_DIR"
  rm -f "$out.tmp" "$out.id"
  bah push --quiet "$ref" "oci-archive:$out.tmp:$ref" >/dev/null
  mv "$out.tmp" "$out"
  printf '%s\n' "$id" >"$out.id"
  log "$ref -> $out ($(du -h "$out" | cut -f1))"
}

# The local cluster's monitoring (hack/images/monitoring.sh), tagged with the module versions they
# are built from; config/monitoring names the same tags (hack/cluster/monitoring.test.ts checks).
# shellcheck disable=SC2034 # as above
PROMETHEUS_OPERATOR_IMAGE="localhost/k2k/prometheus-operator:$PROMETHEUS_OPERATOR_VERSION"
# shellcheck disable=SC2034 # as above
PROMETHEUS_CONFIG_RELOADER_IMAGE="localhost/k2k/prometheus-config-reloader:$PROMETHEUS_OPERATOR_VERSION"
# shellcheck disable=SC2034 # as above
PROMETHEUS_IMAGE="localhost/k2k/prometheus:$PROMETHEUS_VERSION"
