#!/usr/bin/env bash
# Installs what a fresh machine lacks and builds the cached tools. Idempotent: a warm run takes
# seconds. Used by the test and demo commands.
#   hack/setup.sh            what the unit and integration tests need (control plane, S3 server)
#   hack/setup.sh --cluster  also what the local node needs (demo, e2e tests): containerd, runc and
#                            buildah from Debian, kubelet, kube-proxy, CoreDNS, metrics-server, the
#                            Prometheus Operator and Prometheus, and the images (rebuilt only when
#                            their inputs changed)
set -euo pipefail
cluster=false
case "${1:-}" in
  --cluster) cluster=true ;;
  "") ;;
  *) printf 'usage: hack/setup.sh [--cluster]\n' >&2; exit 2 ;;
esac
cd "$(dirname "${BASH_SOURCE[0]}")/.."
log() { printf '[setup] %s\n' "$*" >&2; }

# Node packages: reinstall only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.k2k-lock; then
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.k2k-lock
fi

# Debian packages the scripts use.
need_apt=()
command -v openssl >/dev/null || need_apt+=(openssl)
# promtool checks and unit-tests the alert rules with Prometheus's own rule engine.
command -v promtool >/dev/null || need_apt+=(prometheus)
# `npm run check` lints hack/'s shell scripts with shellcheck.
command -v shellcheck >/dev/null || need_apt+=(shellcheck)
# Python virtual environments (the Keras fixtures, the benchmarks' peers) need venv's ensurepip.
python3 -c 'import ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing Debian packages: ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

# The native TensorFlow backend for TensorFlow.js, built against PyPI's TensorFlow C library
# (docs/decisions/0003-native-tensorflow-backend.md). npm ci removes its link, so this runs every
# time: about a second when the cached build is already linked.
bash hack/build-tfjs-node.sh >/dev/null
bash hack/build-k8s.sh
bash hack/build-s3.sh >/dev/null
# Keras models made by real Keras, which the trainer's tests load (made once per version of
# test/fixtures/keras/make.py; the tests would make them too, inside their time limits).
bash hack/keras-fixtures.sh >/dev/null

if $cluster; then
  bash hack/images/install-tools.sh
  bash hack/build-k8s.sh kubelet kube-proxy
  bash hack/build-addons.sh
  bash hack/build-monitoring.sh
  bash hack/images/build.sh
fi
