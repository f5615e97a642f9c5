#!/usr/bin/env bash
# Builds Kubernetes and etcd binaries from their Go modules into a cache outside the repository:
#   $K2K_CACHE/kubernetes-$K8S_VERSION/bin/{kube-apiserver,kube-controller-manager,kube-scheduler,kubectl,...}
#   $K2K_CACHE/etcd-$ETCD_VERSION/bin/etcd
# A binary already in the cache is reused; nothing is downloaded but Go modules.
#
# Why a wrapper module: `go install k8s.io/kubernetes/cmd/x@v` fails because k8s.io/kubernetes
# replaces every staging module (k8s.io/api, client-go, ...) with ./staging/src/..., which a module
# consumer cannot see. The wrapper requires k8s.io/kubernetes and replaces each staging module with
# the published v0.X.Y of the same release. The replace list is generated from upstream's go.mod.
#
# Usage: hack/build-k8s.sh [component ...]   (default: the control plane and kubectl)
#   components: kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy
# Concurrent runs are serialised with a lock in the cache, so a second caller waits and then
# finds the binaries cached. Why Go modules and these versions: docs/decisions/0001-*.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/versions.sh
source "$here/lib/versions.sh"

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

log() { printf '[build-k8s] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

known=" kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy "
for c in "${components[@]}"; do
  [[ "$known" == *" $c "* ]] || die "unknown component '$c' (known:$known)"
done
command -v go >/dev/null || die "go is not installed (Kubernetes $K8S_VERSION needs Go 1.26)"

export GOFLAGS="${GOFLAGS:--buildvcs=false} -mod=mod"
export CGO_ENABLED=0
export GOTOOLCHAIN=local

build_etcd() {
  local out="$K2K_CACHE/etcd-$ETCD_VERSION/bin"
  if [ -x "$out/etcd" ]; then log "etcd $ETCD_VERSION cached at $out/etcd"; return; fi
  local work started=$SECONDS; work="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now: $work is local
  trap "rm -rf '$work'" EXIT
  log "building etcd $ETCD_VERSION (wrapper module in $work)"
  (
    cd "$work"
    go mod init k2k.dev/hack/etcd-build >/dev/null 2>&1
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null
    mkdir -p "$out.tmp"
    go build -trimpath -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3
  )
  rm -rf "$out"
  mv "$out.tmp" "$out"
  log "etcd: $("$out/etcd" --version | head -1) (built in $((SECONDS - started))s)"
}

build_kubernetes() {
  local out="$K2K_CACHE/kubernetes-$K8S_VERSION/bin"
  local missing=()
  for c in "${components[@]}"; do [ "$c" = etcd ] || [ -x "$out/$c" ] || missing+=("$c"); done
  if [ ${#missing[@]} -eq 0 ]; then log "kubernetes $K8S_VERSION cached at $out"; return; fi

  local work="$K2K_CACHE/kubernetes-$K8S_VERSION/module"
  mkdir -p "$work" "$out"
  if [ ! -f "$work/.ready" ]; then
    log "preparing wrapper module for k8s.io/kubernetes@$K8S_VERSION"
    (
      cd "$work"
      rm -f go.mod go.sum
      go mod init k2k.dev/hack/kubernetes-build >/dev/null 2>&1
      local upstream
      upstream="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
      local staging="v0.${K8S_VERSION#v1.}"
      # Every "k8s.io/x => ./staging/src/k8s.io/x" line of upstream's go.mod becomes a replace to
      # the published staging release.
      grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$upstream" | awk '{print $1}' | sort -u |
        while read -r mod; do go mod edit -replace="$mod=$mod@$staging"; done
      go mod edit -require="k8s.io/kubernetes@$K8S_VERSION"
      # -mod=mod (GOFLAGS above) lets each go build add the requirements its command needs.
      touch .ready
    )
  fi

  local ver="${K8S_VERSION#v}" major minor
  major="${ver%%.*}"; minor="${ver#*.}"; minor="${minor%%.*}"
  local ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  for c in "${missing[@]}"; do
    local started=$SECONDS
    log "building $c $K8S_VERSION (first build takes several minutes on 2 cores)"
    (cd "$work" && go build -trimpath -ldflags "$ldflags" -o "$out/$c.tmp" "k8s.io/kubernetes/cmd/$c")
    mv "$out/$c.tmp" "$out/$c"
    log "built $c in $((SECONDS - started))s"
  done
  log "kubernetes $K8S_VERSION: $("$out/kube-apiserver" --version 2>/dev/null || true)"
}

mkdir -p "$K2K_CACHE"
exec 9>"$K2K_CACHE/.build-k8s.lock"
if ! flock -n 9; then
  log "another hack/build-k8s.sh is running; waiting for it to finish"
  flock 9
fi
build_etcd
build_kubernetes
