#!/usr/bin/env bash
# Builds k2k's images from the project's own Dockerfiles with buildah (overlay storage, no Docker
# daemon, no registry) on the locally made base image, writes each to an OCI archive and, when
# the local node runs (hack/cluster/cli.ts node-up), imports it into the node's containerd.
#
# Usage: hack/images/build.sh [operator] [trainer] [server] [monitoring] [trainer-gpu]
#   (default: the first four)
#   operator -> localhost/k2k/operator:dev      (Dockerfile.operator)
#   trainer  -> localhost/k2k/trainer:dev       (Dockerfile.trainer, target cpu: no GPU here) with
#               native TensorFlow: hack/build-tfjs-node.sh's cached addon and TensorFlow C library,
#               stripped, are mounted read-only into the build (docs/decisions/0030-native-trainer-image.md)
#               also tagged localhost/k2k/trainer-gpu:dev, the image the operator gives a TrainingJob
#               that requests GPUs: the local node advertises nvidia.com/gpu but has none, so its
#               "GPU" trainer is the CPU one unless trainer-gpu is built after it.
#   trainer-gpu -> localhost/k2k/trainer-gpu:dev (Dockerfile.trainer, target gpu): tfjs-node-gpu with
#               TensorFlow's CUDA-enabled library and the CUDA/cuDNN wheels' libraries (~5 GB; not
#               built by default: the local node has no GPU and the CPU alias keeps the e2e fast)
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
  case "$t" in operator | trainer | server | monitoring | trainer-gpu) ;; *) die "unknown image '$t' (known: operator trainer server monitoring trainer-gpu)" ;; esac
done

bash "$here/base.sh"
bash "$here/pause.sh"

node_dir="${K2K_STATE:-$HOME/.local/state/k2k}/node"
node_socket="$node_dir/containerd.sock"
# A node stopped without `cli.ts down` (a killed session, a reboot) leaves its socket behind: import
# only into a containerd that is running and answers.
node_running() {
  [ -S "$node_socket" ] && [ -f "$node_dir/containerd.pid" ] &&
    kill -0 "$(cat "$node_dir/containerd.pid")" 2>/dev/null &&
    timeout 10 ctr --address "$node_socket" version >/dev/null 2>&1
}

# The native TensorFlow backend of the trainer images: the tfjs-node (or -node-gpu) addon and the
# TensorFlow C library from hack/build-tfjs-node.sh's cache (built there if missing), stripped of
# the symbol tables nothing loads (CPU: 850 -> 635 MB), plus for the GPU image the shared libraries
# of the CUDA/cuDNN wheels. Kept by version under $NATIVE_ROOT, which the trainer build mounts at
# /k2k-native; the directory name is the build argument, so the layer cache follows the versions.
NATIVE_ROOT="$K2K_CACHE/trainer-native"
# Names the pinned CUDA wheel list: a new pin is a new cache directory.
cuda_key() { printf '%s' "$TENSORFLOW_CUDA_WHEELS" | sha256sum | cut -c1-12; }
native_build() {
  local variant="$1" name out addon_dir tflib tmp flags=(--cache-only)
  if [ "$variant" = gpu ]; then
    flags+=(--gpu)
    name="tfjs-node-gpu-$TFJS_NODE_VERSION-tf$TENSORFLOW_VERSION-$(cuda_key)"
    tflib="$K2K_CACHE/libtensorflow-gpu-$TENSORFLOW_VERSION/lib"
  else
    name="tfjs-node-$TFJS_NODE_VERSION-tf$TENSORFLOW_VERSION"
    tflib="$K2K_CACHE/libtensorflow-$TENSORFLOW_VERSION/lib"
  fi
  out="$NATIVE_ROOT/$name"
  if [ ! -f "$out/addon/tfjs_binding.node" ]; then
    addon_dir="$(bash "$repo/hack/build-tfjs-node.sh" "${flags[@]}")"
    mkdir -p "$NATIVE_ROOT"
    tmp="$(mktemp -d "$NATIVE_ROOT/.$name.XXXXXX")"
    mkdir "$tmp/lib" "$tmp/addon"
    for so in libtensorflow_cc.so.2 libtensorflow_framework.so.2; do
      strip --strip-unneeded -o "$tmp/lib/$so" "$tflib/$so"
    done
    strip --strip-unneeded -o "$tmp/addon/tfjs_binding.node" "$addon_dir/package/lib/napi-v8/tfjs_binding.node"
    if [ "$variant" = gpu ]; then cuda_libraries "$tmp"; fi
    chmod 0755 "$tmp"/lib/* "$tmp"/addon/*
    rm -rf "$out"
    mv "$tmp" "$out"
    log "native TensorFlow ($variant) for the trainer: $out ($(du -sh "$out" | cut -f1))"
  fi
  printf '%s\n' "$name"
}

# The CUDA wheels' shared libraries into $1/nvidia/<name>/lib: the layout of site-packages, which
# the RUNPATH of TensorFlow's libraries ($ORIGIN/../nvidia/cublas/lib, ...) expects next to lib/.
# Headers, static libraries and nvcc's programs stay out (nothing compiles CUDA in the pod).
cuda_libraries() {
  local dest="$1" wheels
  wheels="$K2K_CACHE/cuda-wheels-$(cuda_key)"
  if [ ! -f "$wheels/complete" ]; then
    log "downloading the CUDA/cuDNN wheels of tensorflow[and-cuda] $TENSORFLOW_VERSION from PyPI"
    mkdir -p "$wheels"
    # shellcheck disable=SC2086 # the list is words on purpose
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
      --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_27_x86_64 \
      -d "$wheels" $TENSORFLOW_CUDA_WHEELS
    touch "$wheels/complete"
  fi
  python3 - "$wheels" "$dest" <<'PY'
import glob, os, re, shutil, sys, zipfile
wheels, dest = sys.argv[1], sys.argv[2]
for whl in sorted(glob.glob(os.path.join(wheels, "nvidia_*.whl"))):
    with zipfile.ZipFile(whl) as z:
        for name in z.namelist():
            if re.fullmatch(r"nvidia/[a-z_]+/lib/[^/]+\.so(\.[0-9]+)*", name):
                out = os.path.join(dest, name)
                os.makedirs(os.path.dirname(out), exist_ok=True)
                with z.open(name) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                os.chmod(out, 0o755)
PY
}

for t in "${targets[@]}"; do
  if [ "$t" = monitoring ]; then
    bash "$here/monitoring.sh"
    continue
  fi
  file="$repo/Dockerfile.$t" ref="localhost/k2k/$t:dev" extra=() alias=""
  case "$t" in
    trainer)
      native="$(native_build cpu)"
      extra=(--target cpu --volume "$NATIVE_ROOT:/k2k-native:ro" --build-arg "TFJS_NATIVE=$native")
      alias=localhost/k2k/trainer-gpu:dev
      ;;
    trainer-gpu)
      native="$(native_build gpu)"
      file="$repo/Dockerfile.trainer"
      extra=(--target gpu --volume "$NATIVE_ROOT:/k2k-native:ro" --build-arg "TFJS_NATIVE_GPU=$native")
      ;;
    server) ref="localhost/k2k/model-server:dev" ;;
  esac
  [ -f "$file" ] || die "$file is missing"
  started=$SECONDS
  log "building $ref from $(basename "$file")"
  bah bud --quiet --layers --network host --volume /etc/ssl/certs:/etc/ssl/certs:ro --pull=never --format oci \
    --build-arg "NODE_IMAGE=$NODE_IMAGE" "${extra[@]}" \
    -f "$file" -t "$ref" "$repo" >/dev/null
  log "built $ref in $((SECONDS - started))s"
  refs=("$ref")
  if [ -n "$alias" ]; then
    bah tag "$ref" "$alias"
    refs+=("$alias")
  fi
  for r in "${refs[@]}"; do
    export_archive "$r"
    if node_running; then
      ctr --address "$node_socket" --namespace k8s.io images import --snapshotter overlayfs \
        "$(archive_path "$r")" >/dev/null
      log "$r imported into the node's containerd"
    fi
  done
done
