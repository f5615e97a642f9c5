#!/usr/bin/env bash
# Builds ghz, the standard gRPC load generator (Go module github.com/bojand/ghz), from the Go
# module proxy into the cache, keyed by version, and prints the binary's path:
#   $K2K_CACHE/ghz-$GHZ_VERSION/bin/ghz
# A binary already in the cache is reused; nothing is downloaded but Go modules. Only the
# benchmark runs this (bench.ts), never the tests. Exits non-zero when it cannot build; the
# benchmark then falls back to its grpc-js generator.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../hack/lib/versions.sh
source "$here/../../hack/lib/versions.sh"
log() { printf '[ghz] %s\n' "$*" >&2; }

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
dir="$K2K_CACHE/ghz-$GHZ_VERSION"
if [ ! -x "$dir/bin/ghz" ]; then
  command -v go >/dev/null || { log "go is not installed"; exit 1; }
  mkdir -p "$K2K_CACHE"
  exec 9>"$K2K_CACHE/.build-ghz.lock"
  flock 9
  if [ ! -x "$dir/bin/ghz" ]; then
    started=$SECONDS
    log "building ghz $GHZ_VERSION into $dir (a few minutes, once)"
    rm -rf "$dir/bin.tmp"
    mkdir -p "$dir/bin.tmp"
    GOBIN="$dir/bin.tmp" go install -trimpath -ldflags "-s -w" "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION" >&2
    mv "$dir/bin.tmp" "$dir/bin"
    log "built ghz in $((SECONDS - started))s"
  fi
fi
echo "$dir/bin/ghz"
