#!/usr/bin/env bash
# Builds the local cluster's monitoring from Go modules into the cache, keyed by version:
#   $K2K_CACHE/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION/bin/{operator,prometheus-config-reloader}
#   $K2K_CACHE/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION/crds/*.yaml   (the operator's CRDs)
#   $K2K_CACHE/prometheus-$PROMETHEUS_VERSION/bin/prometheus
# A binary already in the cache is reused (a warm run takes a second); nothing is downloaded but
# Go modules. Why from modules, and what a cold build costs: docs/decisions/0021-monitoring-in-the-local-cluster.md.
#
# The operator is built in a writable copy of its module (see build_operator). Prometheus is built
# with only the service discovery the operator's generated configuration uses (kubernetes_sd;
# file and http are always in) and without its web UI assets (the API serves everything the
# tests and the operator need): the cloud discovery SDKs are most of a full build's minutes.
# Usage: hack/build-monitoring.sh           build what is missing
#        hack/build-monitoring.sh --paths   prints the operator, config-reloader and prometheus
#                                           binaries and the CRD directory, one a line
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/versions.sh
source "$here/lib/versions.sh"
log() { printf '[build-monitoring] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

operator_dir="$K2K_CACHE/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION"
prometheus_dir="$K2K_CACHE/prometheus-$PROMETHEUS_VERSION"
if [ "${1:-}" = --paths ]; then
  printf '%s\n' "$operator_dir/bin/operator" "$operator_dir/bin/prometheus-config-reloader" \
    "$prometheus_dir/bin/prometheus" "$operator_dir/crds"
  exit 0
fi
[ $# -eq 0 ] || die "usage: hack/build-monitoring.sh [--paths]"
command -v go >/dev/null || die "go is not installed"

# build <cache dir> <command...>: runs the command with $out set to an empty directory and moves
# it to <cache dir>/bin once everything in it is complete.
build() {
  local dir="$1"
  shift
  if [ -d "$dir/bin" ]; then log "cached: $dir/bin"; return; fi
  local started=$SECONDS
  log "building $(basename "$dir") into $dir"
  rm -rf "$dir/bin.tmp"
  mkdir -p "$dir/bin.tmp"
  out="$dir/bin.tmp" "$@"
  mv "$dir/bin.tmp" "$dir/bin"
  log "built $(basename "$dir") in $((SECONDS - started))s"
}

module_dir() {
  local dir
  dir="$(go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$dir" ] || die "go mod download $1@$2 gave no directory"
  printf '%s\n' "$dir"
}

# The operator's go.mod replaces its pkg/apis/monitoring and pkg/client submodules with their
# directories, which a module's zip leaves out; `go install module@version` refuses replacements
# anyway. So the operator is built in a writable copy of its module: pkg/apis/monitoring is its own
# published module; pkg/client (generated code, which the module proxy this was written against
# does not serve) is generated from it with Kubernetes' code-generator, with the arguments of
# upstream's `make k8s-client-gen`.
build_operator() {
  local src work pkg=github.com/prometheus-operator/prometheus-operator
  src="$(module_dir "$pkg" "$PROMETHEUS_OPERATOR_VERSION")"
  work="$(mktemp -d)"
  cp -r "$src/." "$work"
  mkdir -p "$work/pkg/apis/monitoring"
  cp -r "$(module_dir "$pkg/pkg/apis/monitoring" "$PROMETHEUS_OPERATOR_VERSION")/." "$work/pkg/apis/monitoring"
  chmod -R u+w "$work"
  (
    trap 'rm -rf "$work"' EXIT
    cd "$work"
    generate_client "$pkg"
    # shellcheck disable=SC2154 # build() sets $out for the command it runs
    go build -trimpath -ldflags "-s -w -X github.com/prometheus/common/version.Version=${PROMETHEUS_OPERATOR_VERSION#v}" \
      -o "$out/" ./cmd/operator ./cmd/prometheus-config-reloader
  )
}

# generate_client <module path>: in the operator's module copy, writes pkg/client (its go.mod and
# the clientset, listers, informers and apply configurations of the three API versions).
generate_client() {
  local pkg="$1" k8s gen apis
  # go list cannot load the module graph until pkg/client exists: read go.mod itself.
  k8s="$(awk '$1 == "k8s.io/client-go" { print $2 }' go.mod)"
  [ -n "$k8s" ] || die "no k8s.io/client-go requirement in the operator's go.mod"
  gen="$K2K_CACHE/k8s-code-generator-$k8s/bin"
  if [ ! -x "$gen/informer-gen" ]; then
    GOBIN="$gen" go install -trimpath "k8s.io/code-generator/cmd/applyconfiguration-gen@$k8s" \
      "k8s.io/code-generator/cmd/client-gen@$k8s" "k8s.io/code-generator/cmd/lister-gen@$k8s" \
      "k8s.io/code-generator/cmd/informer-gen@$k8s"
  fi
  mkdir -p pkg/client
  cat >pkg/client/go.mod <<MOD
module $pkg/pkg/client

$(grep -m1 '^go ' go.mod)

require (
	$pkg/pkg/apis/monitoring $PROMETHEUS_OPERATOR_VERSION
	k8s.io/api $k8s
	k8s.io/apimachinery $k8s
	k8s.io/client-go $k8s
)
MOD
  apis=("$pkg/pkg/apis/monitoring/v1" "$pkg/pkg/apis/monitoring/v1alpha1" "$pkg/pkg/apis/monitoring/v1beta1")
  local args=(--go-header-file .header)
  "$gen/applyconfiguration-gen" "${args[@]}" --output-pkg "$pkg/pkg/client/applyconfiguration" \
    --output-dir pkg/client/applyconfiguration "${apis[@]}"
  "$gen/client-gen" "${args[@]}" --apply-configuration-package "$pkg/pkg/client/applyconfiguration" \
    --input-base "$pkg/pkg/apis" --clientset-name versioned --output-pkg "$pkg/pkg/client" \
    --output-dir pkg/client --input monitoring/v1 --input monitoring/v1beta1 --input monitoring/v1alpha1
  "$gen/lister-gen" "${args[@]}" --output-pkg "$pkg/pkg/client/listers" --output-dir pkg/client/listers "${apis[@]}"
  "$gen/informer-gen" "${args[@]}" --versioned-clientset-package "$pkg/pkg/client/versioned" \
    --listers-package "$pkg/pkg/client/listers" --output-pkg "$pkg/pkg/client/informers" \
    --output-dir pkg/client/informers "${apis[@]}"
}

build_prometheus() {
  GOBIN="$out" go install -trimpath -tags remove_all_sd,enable_kubernetes_sd \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=${PROMETHEUS_RELEASE#v}" \
    "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_VERSION"
}

# The CRDs as the module ships them, next to the binaries: applied by hack/cluster/monitoring.ts,
# never copied into the repository.
copy_crds() {
  [ -d "$operator_dir/crds" ] && return
  local src
  src="$(module_dir github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_VERSION")"
  rm -rf "$operator_dir/crds.tmp"
  mkdir -p "$operator_dir/crds.tmp"
  cp "$src"/example/prometheus-operator-crd/monitoring.coreos.com_*.yaml "$operator_dir/crds.tmp/"
  chmod u+w "$operator_dir"/crds.tmp/*
  mv "$operator_dir/crds.tmp" "$operator_dir/crds"
  log "CRDs in $operator_dir/crds"
}

mkdir -p "$K2K_CACHE"
exec 9>"$K2K_CACHE/.build-monitoring.lock"
flock 9
build "$operator_dir" build_operator
copy_crds
build "$prometheus_dir" build_prometheus
