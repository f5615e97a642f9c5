#!/usr/bin/env bash
# Builds k2k's images from the project's own Dockerfiles with buildah (overlay storage, no Docker
# daemon, no registry) on the locally made base image, writes each to an OCI archive and, when
# the local node runs (hack/cluster/cli.ts node-up), imports it into the node's containerd.
#
# Usage: hack/images/build.sh [operator] [trainer] [server] [monitoring]   (default: all four)
#   operator -> localhost/k2k/operator:dev      (Dockerfile.operator)
#   trainer  -> localhost/k2k/trainer:dev       (Dockerfile.trainer, target cpu: no GPU here) with
#               native TensorFlow: hack/build-tfjs-node.sh's cached addon and TensorFlow C library,
#               stripped, are mounted read-only into the build (docs/decisions/0030-native-trainer-image.md)
#               also tagged localhost/k2k/trainer-gpu:dev, the image the operator gives a TrainingJob
#               that requests GPUs: the local node advertises nvidia.com/gpu but has none, so its
#               "GPU" trainer is the CPU one (the gpu target needs a CUDA base image and a GPU).
#   server   -> localhost/k2k/model-server:dev  (Dockerfile.server)
#   monitoring -> the Prometheus Operator, its config reloader and Prometheus (monitoring.sh)
# RUN steps (npm ci) use the host's network namespace (--network host): they reach the npm
# registry like any process here, and buildah creates no bridge, veth or NAT rule for them; the
# machine's /etc/ssl/certs is mounted read-only over the image's for those steps only, so they
# trust the same certificate authorities as the machine (base.sh sets NODE_EXTRA_CA_CERTS).
# Intermediate layers are cached (--layers) and are the untagged images in the store, so they are
# not pruned: a rebuild after a source change skips `npm ci`, and one with nothing changed takes
# seconds (the cache is keyed by file contents, so a fresh clone hits it too). An image whose ID
# did not change is not exported again.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(operator trainer server monitoring)
for t in "${targets[@]}"; do
  case "$t" in operator | trainer | server | monitoring) ;; *) die "unknown image '$t' (known: operator trainer server monitoring)" ;; esac
done

bash "$here/base.sh"
bash "$here/pause.sh"

node_socket="${K2K_STATE:-$HOME/.local/state/k2k}/node/containerd.sock"

# The native TensorFlow backend for the trainer image: the tfjs-node addon and the TensorFlow C
# library from hack/build-tfjs-node.sh's cache (built there if missing), stripped of the symbol
# tables nothing loads (850 -> 635 MB). Kept by version under $NATIVE_ROOT, which the trainer
# build mounts at /k2k-native; its directory name is the build argument, so the image's layer
# cache follows the versions.
NATIVE_ROOT="$K2K_CACHE/trainer-native"
native_build() {
  local name="tfjs-node-$TFJS_NODE_VERSION-tf$TENSORFLOW_VERSION"
  local out="$NATIVE_ROOT/$name" addon_dir tflib tmp
  if [ ! -f "$out/addon/tfjs_binding.node" ]; then
    addon_dir="$(bash "$repo/hack/build-tfjs-node.sh" --cache-only)"
    tflib="$K2K_CACHE/libtensorflow-$TENSORFLOW_VERSION/lib"
    mkdir -p "$NATIVE_ROOT"
    tmp="$(mktemp -d "$NATIVE_ROOT/.$name.XXXXXX")"
    mkdir "$tmp/lib" "$tmp/addon"
    for so in libtensorflow_cc.so.2 libtensorflow_framework.so.2; do
      strip --strip-unneeded -o "$tmp/lib/$so" "$tflib/$so"
    done
    strip --strip-unneeded -o "$tmp/addon/tfjs_binding.node" "$addon_dir/package/lib/napi-v8/tfjs_binding.node"
    chmod 0755 "$tmp"/lib/* "$tmp"/addon/*
    rm -rf "$out"
    mv "$tmp" "$out"
    log "native TensorFlow for the trainer: $out ($(du -sh "$out" | cut -f1))" >&2
  fi
  printf '%s\n' "$name"
}

for t in "${targets[@]}"; do
  if [ "$t" = monitoring ]; then
    bash "$here/monitoring.sh"
    continue
  fi
  file="$repo/Dockerfile.$t" ref="localhost/k2k/$t:dev" extra=()
  case "$t" in
    trainer)
      native="$(native_build)"
      extra=(--target cpu --volume "$NATIVE_ROOT:/k2k-native:ro" --build-arg "TFJS_NATIVE=$native")
      ;;
    server) ref="localhost/k2k/model-server:dev" ;;
  esac
  [ -f "$file" ] || die "$file is missing"
  started=$SECONDS
  log "building $ref from Dockerfile.$t"
  bah bud --quiet --layers --network host --volume /etc/ssl/certs:/etc/ssl/certs:ro --pull=never --format oci \
    --build-arg "NODE_IMAGE=$NODE_IMAGE" "${extra[@]}" \
    -f "$file" -t "$ref" "$repo" >/dev/null
  log "built $ref in $((SECONDS - started))s"
  refs=("$ref")
  if [ "$t" = trainer ]; then
    bah tag "$ref" localhost/k2k/trainer-gpu:dev
    refs+=(localhost/k2k/trainer-gpu:dev)
  fi
  for r in "${refs[@]}"; do
    export_archive "$r"
    if [ -S "$node_socket" ]; then
      ctr --address "$node_socket" --namespace k8s.io images import --snapshotter overlayfs \
        "$(archive_path "$r")" >/dev/null
      log "$r imported into the node's containerd"
    fi
  done
done
