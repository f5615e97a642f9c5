# Pinned versions of everything hack/ builds or installs. Sourced by the other scripts.
#
# Kubernetes 1.36 is the newest minor whose modules declare a Go version this machine has
# (go 1.26); 1.37 needs a newer Go. etcd 3.6 is what 1.36 is tested against (Debian's 3.4 is
# too old for its storage-version handling).
K8S_VERSION="${K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
VERSITYGW_VERSION="${VERSITYGW_VERSION:-v1.8.0}"

# Builds are cached outside the repository, keyed by version, and reused when present.
K2K_CACHE="${K2K_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/k2k}"

# Native TensorFlow backend for TensorFlow.js (hack/build-tfjs-node.sh): the tfjs-node addon is built
# against the TensorFlow C library taken from the PyPI wheel of TENSORFLOW_VERSION (the addon's
# own download of libtensorflow 2.9.1 is not reachable). TFJS_NODE_VERSION must equal the
# @tensorflow/tfjs version in package.json. Why: docs/decisions/0003-native-tensorflow-backend.md.
TFJS_NODE_VERSION="${TFJS_NODE_VERSION:-4.22.0}"
TENSORFLOW_VERSION="${TENSORFLOW_VERSION:-2.21.0}"
