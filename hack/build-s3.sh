#!/usr/bin/env bash
# Builds VersityGW, the S3-compatible server the tests run against, from its Go module into a cache
# outside the repository:
#   $K2K_CACHE/versitygw-$VERSITYGW_VERSION/bin/versitygw
# A binary already in the cache is reused; nothing is downloaded but Go modules.
# Why VersityGW: docs/decisions/0002-s3-server-for-tests.md.
#
# Usage: hack/build-s3.sh   (prints the binary's path on stdout)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/versions.sh
source "$here/lib/versions.sh"

log() { printf '[build-s3] %s\n' "$*" >&2; }

out="$K2K_CACHE/versitygw-$VERSITYGW_VERSION/bin"
if [ -x "$out/versitygw" ]; then
  log "versitygw $VERSITYGW_VERSION cached at $out/versitygw"
  echo "$out/versitygw"
  exit 0
fi

command -v go >/dev/null || { log "go not found: VersityGW is built from its Go module (its go.mod needs Go >= 1.25)"; exit 1; }

export GOFLAGS="${GOFLAGS:--buildvcs=false}"
# The posix backend needs no cgo (xattrs go through syscalls); a static binary avoids a libc dependency.
export CGO_ENABLED=0
export GOTOOLCHAIN=local

mkdir -p "$out"
tmp="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
log "building versitygw $VERSITYGW_VERSION (go install github.com/versity/versitygw/cmd/versitygw)"
# The module has no replace directives, so `go install pkg@version` builds it as published.
# main.Version is what `versitygw --version` prints (upstream's Makefile sets it the same way).
GOBIN="$tmp" go install -trimpath \
  -ldflags "-s -w -X=main.Version=$VERSITYGW_VERSION -X=main.Build=module -X=main.BuildTime=none" \
  "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
mv "$tmp/versitygw" "$out/versitygw"
log "versitygw: $("$out/versitygw" --version | head -1)"
echo "$out/versitygw"
