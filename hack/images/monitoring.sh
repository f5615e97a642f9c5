#!/usr/bin/env bash
# Builds the local cluster's monitoring images from the binaries hack/build-monitoring.sh caches:
#   localhost/k2k/prometheus-operator:$PROMETHEUS_OPERATOR_VERSION         /bin/operator
#   localhost/k2k/prometheus-config-reloader:$PROMETHEUS_OPERATOR_VERSION  /bin/prometheus-config-reloader
#   localhost/k2k/prometheus:$PROMETHEUS_VERSION                          /bin/prometheus
# Each is one static binary in an otherwise empty image (like the pause image), run as nobody
# (65534); the pods run them on a read-only root filesystem, and Prometheus writes only to the
# volumes the operator mounts. Output: the images in buildah's store, their OCI archives under
# $K2K_CACHE/images/archives and, when the local node runs, the images in its containerd.
# Cached: an image whose binary did not change is not rebuilt, exported or imported again.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

bash "$here/../build-monitoring.sh"
mapfile -t paths < <(bash "$here/../build-monitoring.sh" --paths)
node_socket="${K2K_STATE:-$HOME/.local/state/k2k}/node/containerd.sock"

# image <ref> <binary>: an image of the binary alone, rebuilt only when the binary changed.
image() {
  local ref="$1" bin="$2" name sum archive container
  name="$(basename "$bin")"
  sum="$(sha256sum "$bin" | cut -c1-16)"
  archive="$(archive_path "$ref")"
  if image_exists "$ref" && [ -f "$archive" ] &&
    [ "$(bah inspect --type image --format '{{index .ImageAnnotations "dev.k2k.binary"}}' "$ref")" = "$sum" ]; then
    log "$ref cached"
    return
  fi
  local started=$SECONDS
  container="$(bah from --quiet scratch)"
  bah copy --quiet --chmod 0755 "$container" "$bin" "/bin/$name"
  # nobody, the user of the upstream images.
  bah config --entrypoint "[\"/bin/$name\"]" --cmd '' --user 65534:65534 --workingdir / \
    --annotation "dev.k2k.binary=$sum" "$container"
  bah commit --quiet --rm "$container" "$ref" >/dev/null
  log "$ref built in $((SECONDS - started))s"
  export_archive "$ref"
  if [ -S "$node_socket" ]; then
    ctr --address "$node_socket" --namespace k8s.io images import --snapshotter overlayfs "$archive" >/dev/null
    log "$ref imported into the node's containerd"
  fi
}

image "$PROMETHEUS_OPERATOR_IMAGE" "${paths[0]}"
image "$PROMETHEUS_CONFIG_RELOADER_IMAGE" "${paths[1]}"
image "$PROMETHEUS_IMAGE" "${paths[2]}"
