#!/usr/bin/env bash
# Installs the Debian 12 packages the local node (hack/cluster/node.ts) and the image builds
# (hack/images/*.sh) use. Idempotent: installs only what is missing. Versions (Debian 12):
# containerd 1.6.20, runc 1.1.5, containernetworking-plugins 1.1.1, buildah 1.28.2, mmdebstrap 1.3.5.
set -euo pipefail
log() { printf '[install-tools] %s\n' "$*" >&2; }

# package:command-or-path that proves it is installed
wanted=(
  containerd:containerd
  runc:runc
  containernetworking-plugins:/usr/lib/cni/bridge
  iptables:iptables
  conntrack:conntrack
  iproute2:ip
  socat:socat
  buildah:buildah
  mmdebstrap:mmdebstrap
)
missing=()
for w in "${wanted[@]}"; do
  pkg="${w%%:*}" probe="${w#*:}"
  if [[ "$probe" == /* ]]; then [ -e "$probe" ] || missing+=("$pkg")
  else command -v "$probe" >/dev/null || missing+=("$pkg"); fi
done
if [ ${#missing[@]} -eq 0 ]; then
  log "all present"
  exit 0
fi
log "installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The package starts no daemon we use: node.ts runs its own containerd with its own config and
# socket. Should an init system have started the packaged one, it is left alone.
log "installed ${missing[*]}"
