#!/usr/bin/env bash
# Builds the local node's cluster add-ons from their Go modules into the cache:
#   $K2K_CACHE/coredns-$COREDNS_VERSION/bin/coredns
#   $K2K_CACHE/metrics-server-$METRICS_SERVER_VERSION/bin/metrics-server
# A binary already in the cache is reused; nothing is downloaded but Go modules.
# Usage: hack/build-addons.sh [coredns] [metrics-server]   (default: both)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/versions.sh
source "$here/lib/versions.sh"
log() { printf '[build-addons] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
command -v go >/dev/null || die "go is not installed"

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

build() {
  local name="$1" pkg="$2" version="$3"
  local out="$K2K_CACHE/$name-$version/bin"
  if [ -x "$out/$name" ]; then log "$name $version cached at $out/$name"; return; fi
  local started=$SECONDS
  log "building $name $version (go install $pkg@$version)"
  mkdir -p "$out.tmp"
  GOBIN="$out.tmp" go install -trimpath -ldflags "-s -w" "$pkg@$version"
  rm -rf "$out"
  mv "$out.tmp" "$out"
  log "built $name in $((SECONDS - started))s"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(coredns metrics-server)
mkdir -p "$K2K_CACHE"
exec 9>"$K2K_CACHE/.build-addons.lock"
flock 9
for t in "${targets[@]}"; do
  case "$t" in
    coredns) build coredns github.com/coredns/coredns "$COREDNS_VERSION" ;;
    metrics-server) build metrics-server sigs.k8s.io/metrics-server/cmd/metrics-server "$METRICS_SERVER_VERSION" ;;
    *) die "unknown add-on '$t' (known: coredns metrics-server)" ;;
  esac
done
