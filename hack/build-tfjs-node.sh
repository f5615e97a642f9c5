#!/usr/bin/env bash
# Makes the native TensorFlow backend of TensorFlow.js (@tensorflow/tfjs-node) loadable in this
# checkout without the package's own install step, which downloads libtensorflow from a host this
# machine cannot reach. Instead:
#   1. the TensorFlow C library and its headers come from the PyPI wheel tensorflow-cpu
#      (libtensorflow_cc.so.2 exports the TF_*/TFE_* C API the addon calls), unpacked into
#        $K2K_CACHE/libtensorflow-$TENSORFLOW_VERSION/{lib,include,wheel}
#   2. the addon (tfjs_binding.node) is compiled with node-gyp from the npm tarball against it into
#        $K2K_CACHE/tfjs-node-$TFJS_NODE_VERSION-tf$TENSORFLOW_VERSION/package/lib/napi-v8/
#   3. the addon is copied into node_modules/@tensorflow/tfjs-node (an optionalDependency whose
#      install script package.json denies) and its deps/ points at the cached library.
# Steps 1 and 2 are cached by version and reused; step 3 is cheap and must be redone after every
# `npm ci` (which recreates node_modules). Nothing is downloaded but registry packages.
# Why this way: docs/decisions/0003-native-tensorflow-backend.md.
#
# Usage: hack/build-tfjs-node.sh [--copy | --cache-only] [--gpu]   (prints the linked package directory on stdout)
#   --copy        copies the library (~820 MB) into node_modules instead of linking to the cache.
#   --cache-only  stops after steps 1 and 2 and prints the addon's cache directory: what
#                 hack/images/build.sh puts into the trainer image (node_modules is not touched).
#   --gpu         (with --cache-only) the CUDA-enabled wheel `tensorflow` and @tensorflow/tfjs-node-gpu
#                 instead: the GPU trainer image's (docs/decisions/0030-native-trainer-image.md).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
# shellcheck source=lib/versions.sh
source "$here/lib/versions.sh"

log() { printf '[build-tfjs-node] %s\n' "$*" >&2; }
die() { printf '[build-tfjs-node] error: %s\n' "$*" >&2; exit 1; }

copy=false cache_only=false gpu=false
for arg in "$@"; do
  case "$arg" in
    --copy) copy=true ;;
    --cache-only) cache_only=true ;;
    --gpu) gpu=true ;;
    *) die "unknown argument '$arg' (usage: hack/build-tfjs-node.sh [--copy | --cache-only] [--gpu])" ;;
  esac
done
# The CPU variant (tensorflow-cpu, tfjs-node) or the GPU one: `tensorflow` is the CUDA-enabled
# wheel (its CUDA libraries are other wheels, loaded at run time), tfjs-node-gpu the same addon
# source published under another name.
wheel=tensorflow-cpu npm_package=tfjs-node libname=libtensorflow
if $gpu; then
  $cache_only || die "--gpu builds for the GPU image only: use it with --cache-only"
  wheel=tensorflow npm_package=tfjs-node-gpu libname=libtensorflow-gpu
fi

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] ||
  die "only Linux x86_64 is supported (the wheel platform below), not $(uname -s)-$(uname -m)"

tflib="$K2K_CACHE/$libname-$TENSORFLOW_VERSION"
addon_dir="$K2K_CACHE/$npm_package-$TFJS_NODE_VERSION-tf$TENSORFLOW_VERSION"
# The wheel is fetched for one fixed Python tag so the result does not depend on the local Python;
# the C library inside is the same for every tag (it does not link libpython).
wheel_python=3.11
wheel_platform=manylinux_2_27_x86_64

# A build in progress lives in $tmp and is moved into the cache only when complete.
tmp=""
trap 'if [ -n "$tmp" ]; then rm -rf "$tmp"; fi' EXIT

# --- 1. libtensorflow from the PyPI wheel --------------------------------------------------------
build_libtensorflow() {
  mkdir -p "$K2K_CACHE"
  tmp="$(mktemp -d "$K2K_CACHE/.libtensorflow.XXXXXX")"
  log "downloading $wheel==$TENSORFLOW_VERSION wheel from PyPI"
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --python-version "$wheel_python" --platform "$wheel_platform" \
    -d "$tmp/wheel" "$wheel==$TENSORFLOW_VERSION"
  local whl
  whl="$(ls "$tmp"/wheel/"${wheel//-/_}"-"$TENSORFLOW_VERSION"-*.whl)"
  log "unpacking the C library and C API headers from $(basename "$whl")"
  # Only the headers the addon includes (the C API and the string/status headers it pulls in);
  # the whole include tree is ~290 MB of C++ headers nobody here compiles against.
  python3 - "$whl" "$tmp" <<'PY'
import os, shutil, sys, zipfile
whl, out = sys.argv[1], sys.argv[2]
libs = {"tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2"}
headers = ("tensorflow/include/tensorflow/c/", "tensorflow/include/tensorflow/core/platform/",
           "tensorflow/include/tsl/", "tensorflow/include/xla/tsl/c/")
with zipfile.ZipFile(whl) as z:
    for name in z.namelist():
        if name in libs:
            dest = os.path.join(out, "lib", os.path.basename(name))
        elif name.startswith(headers) and name.endswith(".h"):
            dest = os.path.join(out, "include", name[len("tensorflow/include/"):])
        else:
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(name) as src, open(dest, "wb") as dst:
            shutil.copyfileobj(src, dst)
missing = [l for l in libs if not os.path.exists(os.path.join(out, "lib", os.path.basename(l)))]
if missing or not os.path.exists(os.path.join(out, "include/tensorflow/c/eager/c_api.h")):
    sys.exit(f"wheel lacks the TensorFlow C library or C API headers: {missing or 'c_api.h'}")
PY
  # binding.gyp links -ltensorflow -ltensorflow_framework; the C API lives in libtensorflow_cc,
  # whose SONAME (libtensorflow_cc.so.2) is what the addon will then load at run time.
  ln -s libtensorflow_cc.so.2 "$tmp/lib/libtensorflow.so"
  ln -s libtensorflow_cc.so.2 "$tmp/lib/libtensorflow.so.2"
  ln -s libtensorflow_framework.so.2 "$tmp/lib/libtensorflow_framework.so"
  chmod 0755 "$tmp"/lib/*.so.2
  nm -D --defined-only "$tmp/lib/libtensorflow_cc.so.2" | grep -c ' T TFE_Execute@' >/dev/null ||
    die "libtensorflow_cc.so.2 of $wheel $TENSORFLOW_VERSION does not export the eager C API"
  rm -rf "$tflib"
  mv "$tmp" "$tflib"
  tmp=""
}

if [ -f "$tflib/lib/libtensorflow_cc.so.2" ] && [ -f "$tflib/include/tensorflow/c/eager/c_api.h" ]; then
  log "libtensorflow $TENSORFLOW_VERSION cached at $tflib"
else
  build_libtensorflow
fi

# --- 2. the addon, built with node-gyp against Node's own headers ---------------------------------
node_prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
node_gyp="$(npm prefix -g 2>/dev/null)/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"

build_addon() {
  # node-gyp would otherwise download Node's headers; the nodejs Debian package ships them.
  # shellcheck disable=SC2015 # die exits, so `A && B || die` is the if-then it reads as
  [ -f "$node_prefix/include/node/node_api.h" ] && [ -f "$node_prefix/include/node/common.gypi" ] ||
    die "Node.js headers not found under $node_prefix/include/node (node-gyp cannot download them here); install the headers of the same Node.js package (Debian: the nodejs package from the same source as $(command -v node))"
  [ -f "$node_gyp" ] || die "node-gyp not found at $node_gyp (it ships with npm)"
  # shellcheck disable=SC2015 # as above
  command -v g++ >/dev/null && command -v make >/dev/null || die "g++ and make are needed (apt-get install build-essential)"
  mkdir -p "$K2K_CACHE"
  tmp="$(mktemp -d "$K2K_CACHE/.tfjs-node.XXXXXX")"
  log "fetching @tensorflow/$npm_package@$TFJS_NODE_VERSION from npm"
  (cd "$tmp" && npm pack --silent "@tensorflow/$npm_package@$TFJS_NODE_VERSION" >/dev/null 2>&1) ||
    die "npm pack @tensorflow/$npm_package@$TFJS_NODE_VERSION failed"
  tar -xzf "$tmp"/tensorflow-"$npm_package"-"$TFJS_NODE_VERSION".tgz -C "$tmp"
  rm -f "$tmp"/*.tgz
  ln -s "$tflib" "$tmp/package/deps"
  log "building tfjs_binding.node (node-gyp, N-API 8, nodedir $node_prefix)"
  # The variables are what node-pre-gyp passes for the package's "binary" section; N-API 8 is the
  # highest the package lists, so node-pre-gyp looks for lib/napi-v8 on every current Node.js.
  (cd "$tmp/package" &&
    node "$node_gyp" rebuild --nodedir="$node_prefix" --jobs=2 -- \
      -Dmodule_name=tfjs_binding -Dmodule_path=lib/napi-v8 -Dnapi_build_version=8) \
    >"$tmp/build.log" 2>&1 || { tail -40 "$tmp/build.log" >&2; die "node-gyp build failed"; }
  rm -rf "$tmp/package/build"
  [ -f "$tmp/package/lib/napi-v8/tfjs_binding.node" ] || die "node-gyp produced no tfjs_binding.node"
  rm -rf "$addon_dir"
  mv "$tmp" "$addon_dir"
  tmp=""
}

addon="$addon_dir/package/lib/napi-v8/tfjs_binding.node"
if [ -f "$addon" ]; then
  log "tfjs-node $TFJS_NODE_VERSION addon for TensorFlow $TENSORFLOW_VERSION cached at $addon"
else
  build_addon
fi
if $cache_only; then
  echo "$addon_dir"
  exit 0
fi

# --- 3. link into this checkout's node_modules ---------------------------------------------------
pkg="$repo/node_modules/@tensorflow/tfjs-node"
[ -f "$pkg/package.json" ] || die "$pkg is missing: run npm ci first (it is an optionalDependency)"
installed="$(node -p "require('$pkg/package.json').version")"
[ "$installed" = "$TFJS_NODE_VERSION" ] ||
  die "node_modules has @tensorflow/tfjs-node $installed, hack/lib/versions.sh pins $TFJS_NODE_VERSION"
# Ask node-pre-gyp (what tfjs-node itself uses) where it will look for the addon.
target="$(cd "$repo" && node -p "require('@mapbox/node-pre-gyp').find(require.resolve('@tensorflow/tfjs-node/package.json'))")"
# Already linked by an earlier run (and checked then): nothing to do. npm ci undoes this.
if ! $copy && cmp -s "$addon" "$target" && [ "$(readlink "$pkg/deps" 2>/dev/null)" = "$tflib" ]; then
  log "already linked into $pkg"
  echo "$pkg"
  exit 0
fi
mkdir -p "$(dirname "$target")"
cp -f "$addon" "$target"
# The addon's RUNPATH is $ORIGIN/../../deps/lib, i.e. the package's deps/ directory. A real
# directory there is the leftover of the package's own install script (run by an npm that ignores
# allowScripts); it would swallow the link.
if [ -d "$pkg/deps" ] && [ ! -L "$pkg/deps" ]; then rm -rf "$pkg/deps"; fi
if $copy; then
  rm -f "$pkg/deps"
  mkdir -p "$pkg/deps"
  cp -a "$tflib/lib" "$tflib/include" "$pkg/deps/"
else
  ln -sfn "$tflib" "$pkg/deps"
fi

# The addon was written against TensorFlow 2.9's C API and links a newer one, so prove that the
# kernels training uses run and agree with tfjs's reference CPU backend: matMul, conv2d and the
# conv2d gradients (what a CNN's fit calls).
(cd "$repo" && TF_CPP_MIN_LOG_LEVEL=2 node --input-type=module - 2>"$addon_dir/check.log" <<'JS') ||
const tf = await import('@tensorflow/tfjs-node');
if (tf.getBackend() !== 'tensorflow') throw new Error(`active backend is ${tf.getBackend()}, not tensorflow`);
const x = tf.randomUniform([4, 12, 12, 3], -1, 1, 'float32', 1);
const w = tf.randomUniform([3, 3, 3, 8], -1, 1, 'float32', 2);
const a = tf.randomUniform([16, 64], -1, 1, 'float32', 3);
const b = tf.randomUniform([64, 10], -1, 1, 'float32', 4);
const loss = (xx, ww) => tf.conv2d(xx, ww, 1, 'valid').square().sum();
const run = () => {
  const [dx, dw] = tf.grads(loss)([x, w]);
  return { matMul: tf.matMul(a, b), conv2d: tf.conv2d(x, w, 1, 'same'), dx, dw };
};
const native = run();
await tf.setBackend('cpu');
const reference = run();
for (const [op, t] of Object.entries(native)) {
  const got = t.dataSync();
  const want = reference[op].dataSync();
  const scale = Math.max(1, ...want.map(Math.abs));
  const worst = Math.max(...got.map((g, i) => Math.abs(g - want[i])));
  if (!(worst <= 1e-4 * scale)) throw new Error(`${op}: native differs from cpu by ${worst} (scale ${scale})`);
}
JS
  { cat "$addon_dir/check.log" >&2; die "the linked addon does not load or computes wrong results"; }
log "linked: import('@tensorflow/tfjs-node') works (TensorFlow $TENSORFLOW_VERSION)"
echo "$pkg"
