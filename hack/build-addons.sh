#!/usr/bin/env bash
# Builds the local node's cluster add-ons from their Go modules into the cache:
#   $K2K_CACHE/coredns-$COREDNS_VERSION-<main.go hash>/bin/coredns
#   $K2K_CACHE/metrics-server-$METRICS_SERVER_VERSION/bin/metrics-server
# A binary already in the cache is reused; nothing is downloaded but Go modules.
#
# CoreDNS is built from hack/addons/coredns/main.go: upstream's coremain with only the plugins
# the node needs. The stock binary compiles in every plugin (the AWS, Azure and Google Cloud DNS
# backends, Datadog tracing...), about 12 of a cold build's minutes on two cores; this takes 2.
# Usage: hack/build-addons.sh [coredns] [metrics-server]   (default: both)
#        hack/build-addons.sh --paths    prints where the two binaries are (or will be), one a line
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/versions.sh
source "$here/lib/versions.sh"
log() { printf '[build-addons] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

coredns_dir="$K2K_CACHE/coredns-$COREDNS_VERSION-$(sha256sum "$here/addons/coredns/main.go" | cut -c1-12)"
metrics_server_dir="$K2K_CACHE/metrics-server-$METRICS_SERVER_VERSION"
if [ "${1:-}" = --paths ]; then
  printf '%s\n' "$coredns_dir/bin/coredns" "$metrics_server_dir/bin/metrics-server"
  exit 0
fi
command -v go >/dev/null || die "go is not installed"

# build <name> <cache dir> <command...>: runs the command with $out set to an empty directory
# and moves it into the cache once the binary is complete.
build() {
  local name="$1" dir="$2"
  shift 2
  if [ -x "$dir/bin/$name" ]; then log "$name cached at $dir/bin/$name"; return; fi
  local started=$SECONDS
  log "building $name into $dir"
  rm -rf "$dir/bin.tmp"
  mkdir -p "$dir/bin.tmp"
  out="$dir/bin.tmp" "$@"
  mv "$dir/bin.tmp" "$dir/bin"
  log "built $name in $((SECONDS - started))s"
}

build_coredns() {
  # A wrapper module around main.go, requiring the pinned CoreDNS (and what it requires).
  local work
  work="$(mktemp -d)"
  (
    cd "$work"
    cp "$here/addons/coredns/main.go" .
    go mod init k2k.dev/hack/coredns-build >/dev/null 2>&1
    go get "github.com/coredns/coredns@$COREDNS_VERSION" >/dev/null 2>&1
    # shellcheck disable=SC2154 # build() sets $out for the command it runs
    go build -trimpath -ldflags "-s -w" -o "$out/coredns" .
  )
  rm -rf "$work"
}

build_metrics_server() {
  GOBIN="$out" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(coredns metrics-server)
mkdir -p "$K2K_CACHE"
exec 9>"$K2K_CACHE/.build-addons.lock"
flock 9
for t in "${targets[@]}"; do
  case "$t" in
    coredns) build coredns "$coredns_dir" build_coredns ;;
    metrics-server) build metrics-server "$metrics_server_dir" build_metrics_server ;;
    *) die "unknown add-on '$t' (known: coredns metrics-server)" ;;
  esac
done
