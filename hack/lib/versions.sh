# shellcheck shell=bash
# Pinned versions of everything hack/ builds or installs. Sourced by the other scripts.
#
# Kubernetes 1.36 is the newest minor whose modules declare a Go version this machine has
# (go 1.26); 1.37 needs a newer Go. etcd 3.6 is what 1.36 is tested against (Debian's 3.4 is
# too old for its storage-version handling).
K8S_VERSION="${K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
# VersityGW: the S3-compatible server the tests use (docs/decisions/0002-s3-server-for-tests.md).
VERSITYGW_VERSION="${VERSITYGW_VERSION:-v1.8.0}"

# Builds are cached outside the repository, keyed by version, and reused when present.
K2K_CACHE="${K2K_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/k2k}"

# Native TensorFlow backend for TensorFlow.js (hack/build-tfjs-node.sh): the tfjs-node addon is built
# against the TensorFlow C library taken from the PyPI wheel of TENSORFLOW_VERSION (the addon's
# own download of libtensorflow 2.9.1 is not reachable). TFJS_NODE_VERSION must equal the
# @tensorflow/tfjs version in package.json. Why: docs/decisions/0003-native-tensorflow-backend.md.
TFJS_NODE_VERSION="${TFJS_NODE_VERSION:-4.22.0}"
TENSORFLOW_VERSION="${TENSORFLOW_VERSION:-2.21.0}"
# The GPU trainer image's CUDA and cuDNN libraries: the wheels `pip install tensorflow[and-cuda]`
# pulls for TENSORFLOW_VERSION, pinned at the lowest versions its metadata accepts (the ones it
# was built against). Why: docs/decisions/0030-native-trainer-image.md.
TENSORFLOW_CUDA_WHEELS="${TENSORFLOW_CUDA_WHEELS:-nvidia-cublas-cu12==12.5.3.2 nvidia-cuda-cupti-cu12==12.5.82 nvidia-cuda-nvcc-cu12==12.5.82 nvidia-cuda-nvrtc-cu12==12.5.82 nvidia-cuda-runtime-cu12==12.5.82 nvidia-cudnn-cu12==9.3.0.75 nvidia-cufft-cu12==11.2.3.61 nvidia-curand-cu12==10.3.6.82 nvidia-cusolver-cu12==11.6.3.83 nvidia-cusparse-cu12==12.5.1.3 nvidia-nccl-cu12==2.27.7 nvidia-nvjitlink-cu12==12.5.82}"

# Local single-node cluster (hack/cluster/node.ts) and images built without Docker (hack/images/).
# containerd 1.6.20, runc 1.1.5 and CNI plugins 1.1.1 come from Debian 12: they run on this
# cgroup-v1 kernel, and containerd 1.6 still serves the CRI v1 API kubelet 1.36 requires.
# The base image is Debian $BASE_SUITE (mmdebstrap) plus this machine's Node $NODE_MAJOR, standing
# in for the official node image; the pause image is our own static Go binary. Why:
# docs/decisions/0004-local-cluster.md.
BASE_SUITE="${BASE_SUITE:-bookworm}"
NODE_MAJOR="${NODE_MAJOR:-20}"
PAUSE_VERSION="${PAUSE_VERSION:-1.0}"

# bench/server: the Python peer (KServe's model server) the model server is measured against.
KSERVE_PY_VERSION="${KSERVE_PY_VERSION:-0.21.0}"
NUMPY_PY_VERSION="${NUMPY_PY_VERSION:-2.4.6}"
# bench/server's gRPC load generator, built from its Go module (bench/server/ghz.sh). v0.120.0 is
# the newest tag; the proxy's "latest" resolves to v0.93.0, so the version is pinned explicitly.
GHZ_VERSION="${GHZ_VERSION:-v0.120.0}"
# Cluster add-ons of the local node, built from their Go modules (hack/build-addons.sh): CoreDNS
# for cluster DNS, metrics-server for the resource metrics API an HPA on CPU needs. Both declare
# Go 1.26 and metrics-server 0.9 is built against the Kubernetes 1.36 libraries.
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
METRICS_SERVER_VERSION="${METRICS_SERVER_VERSION:-v0.9.0}"
# Monitoring in the local cluster (issue 11), built from Go modules: the Prometheus Operator (its
# CRDs come from the same module, example/prometheus-operator-crd/) and Prometheus (module
# versions v0.3XX.Y are Prometheus v3.XX.Y; built without the web UI assets). v0.95.x of the
# operator is listed by the module proxy but not served; v0.94.1 is.
PROMETHEUS_OPERATOR_VERSION="${PROMETHEUS_OPERATOR_VERSION:-v0.94.1}"
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"
# Prometheus's own version, what its build_info reports and config/monitoring's Prometheus says.
_prom="${PROMETHEUS_VERSION#v0.}"
# shellcheck disable=SC2034 # used by the scripts that source this file
PROMETHEUS_RELEASE="v${_prom:0:1}.$((10#${_prom:1:2})).${_prom#*.}"
unset _prom
# Keras model fixtures (test/fixtures/keras/make.py, hack/keras-venv.sh): Keras 3 writes the
# .keras files and Keras 3 JSON; tf_keras (Keras 2, which needs TensorFlow: the same
# TENSORFLOW_VERSION wheel as above) writes the Keras 2 .h5 files and JSON.
KERAS_VERSION="${KERAS_VERSION:-3.15.1}"
TF_KERAS_VERSION="${TF_KERAS_VERSION:-2.21.0}"
