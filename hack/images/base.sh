#!/usr/bin/env bash
# Builds the base image localhost/k2k/node:$NODE_MAJOR without Docker or a registry: a Debian
# $BASE_SUITE minbase root filesystem from mmdebstrap plus this machine's Node and npm, laid out
# like the official node image (/usr/local/bin/node, /usr/local/lib/node_modules/npm, user "node"
# 1000:1000) so the project's Dockerfiles build unchanged on it (build ARG NODE_IMAGE).
# Output: the image in buildah's store and $K2K_CACHE/images/archives/k2k-node-$NODE_MAJOR.oci.tar.
# Cached: the root filesystem tarball and the image are reused while Node's version is unchanged.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for tool in buildah mmdebstrap node; do
  command -v "$tool" >/dev/null || die "$tool is missing: run bash hack/images/install-tools.sh"
done
node_bin="$(readlink -f "$(command -v node)")"
node_version="$("$node_bin" --version)"
[ "${node_version%%.*}" = "v$NODE_MAJOR" ] || die "this machine has Node $node_version, NODE_MAJOR is $NODE_MAJOR"
npm_dir="$(dirname "$node_bin")/../lib/node_modules/npm"
[ -f "$npm_dir/package.json" ] || die "npm not found next to $node_bin (looked in $npm_dir)"
npm_dir="$(readlink -f "$npm_dir")"

# The script's own hash is part of the stamp, so an edit here rebuilds the image.
stamp="$BASE_SUITE node $node_version npm $(node -p "require('$npm_dir/package.json').version")"
stamp+=" script $(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)"
archive="$(archive_path "$NODE_IMAGE")"
if image_exists "$NODE_IMAGE" && [ -f "$archive" ] &&
  [ "$(bah inspect --type image --format '{{index .ImageAnnotations "dev.k2k.base"}}' "$NODE_IMAGE")" = "$stamp" ]; then
  log "$NODE_IMAGE cached ($stamp)"
  exit 0
fi

mkdir -p "$IMAGES_DIR"
rootfs="$IMAGES_DIR/rootfs-$BASE_SUITE-minbase.tar"
if [ ! -f "$rootfs" ]; then
  started=$SECONDS
  log "making the Debian $BASE_SUITE minbase root filesystem with mmdebstrap"
  # An explicit mirror: without one mmdebstrap reads mirrors from stdin when it is not a terminal.
  # The output format follows the file name's extension, so the partial file also ends in .tar.
  mmdebstrap --quiet --variant=minbase --include=ca-certificates "$BASE_SUITE" "$rootfs.partial.tar" \
    http://deb.debian.org/debian
  mv "$rootfs.partial.tar" "$rootfs"
  log "root filesystem $(du -h "$rootfs" | cut -f1) in $((SECONDS - started))s"
fi

started=$SECONDS
ctr="$(bah from --quiet scratch)"
trap 'bah rm "$ctr" >/dev/null 2>&1 || true' EXIT
bah add --quiet "$ctr" "$rootfs" /
bah copy --quiet "$ctr" "$node_bin" /usr/local/bin/node
bah copy --quiet "$ctr" "$npm_dir" /usr/local/lib/node_modules/npm
# --network none: the step needs no network, and buildah's default would create a CNI bridge
# (cni-podman0, 10.88.0.0/16) and firewall chains on the machine.
bah run --network none "$ctr" -- sh -euc '
  ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
  ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
  groupadd --gid 1000 node
  useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  rm -rf /var/lib/apt/lists/* /var/cache/apt/*
  node --version >/dev/null && npm --version >/dev/null'
# A scratch image has no PATH; without one the runtime finds no command. Node reads the system
# trust store only when told to: builds (hack/images/build.sh) mount the machine's
# /etc/ssl/certs over the image's, so npm trusts what the machine trusts (e.g. an egress proxy's
# CA) without that CA being baked into any image.
bah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
  --env "NODE_VERSION=${node_version#v}" --cmd node --workingdir / \
  --annotation "dev.k2k.base=$stamp" "$ctr"
bah commit --quiet --rm "$ctr" "$NODE_IMAGE" >/dev/null
trap - EXIT
log "$NODE_IMAGE built in $((SECONDS - started))s ($stamp)"
export_archive "$NODE_IMAGE"
