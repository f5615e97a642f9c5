# Shared by the hack/images scripts: where images are built and stored, and the buildah command.
# shellcheck shell=bash
# shellcheck source=../lib/versions.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/versions.sh"

# buildah keeps its own store under the cache (not /var/lib/containers), with the vfs driver: it
# needs no overlay mounts inside the build, works on any filesystem, and does not collide with a
# podman or buildah store of another driver on the machine.
IMAGES_DIR="$K2K_CACHE/images"
BUILDAH_ROOT="$IMAGES_DIR/storage"
BUILDAH_RUNROOT="/run/k2k-buildah"
# OCI archives, one per image, what `ctr images import` loads into the node's containerd.
ARCHIVE_DIR="$IMAGES_DIR/archives"

NODE_IMAGE="localhost/k2k/node:$NODE_MAJOR"
PAUSE_IMAGE="localhost/k2k/pause:$PAUSE_VERSION"

log() { printf '[images] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

bah() {
  buildah --root "$BUILDAH_ROOT" --runroot "$BUILDAH_RUNROOT" --storage-driver vfs "$@"
}

image_exists() { bah inspect --type image "$1" >/dev/null 2>&1; }

# archive_path localhost/k2k/node:20 -> $ARCHIVE_DIR/k2k-node-20.oci.tar
archive_path() {
  local ref="${1#localhost/}"
  ref="${ref//\//-}"
  printf '%s/%s.oci.tar\n' "$ARCHIVE_DIR" "${ref//:/-}"
}

# Writes the image to its OCI archive (named by its reference, which `ctr images import` keeps).
export_archive() {
  local ref="$1" out
  out="$(archive_path "$ref")"
  mkdir -p "$ARCHIVE_DIR"
  rm -f "$out.tmp"
  bah push --quiet "$ref" "oci-archive:$out.tmp:$ref" >/dev/null
  mv "$out.tmp" "$out"
  log "$ref -> $out ($(du -h "$out" | cut -f1))"
}
