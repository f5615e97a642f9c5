#!/usr/bin/env bash
# The whole test suite: `npm test`. Installs and builds what is missing (cached), runs
# `npm run check` (generated files current, lint, type-check, shellcheck), then runs
#   1. every unit and integration test (vitest.config.ts: the unit project, and the integration
#      project against real services: kube-apiserver + etcd + kube-controller-manager +
#      kube-scheduler on loopback, an S3 server);
#   2. the end-to-end tests (vitest.e2e.config.ts) over a real single-node cluster: containerd,
#      kubelet, kube-proxy, CoreDNS, metrics-server and k2k's own images. The node needs root (a
#      bridge, iptables rules, mounts), so as another user this stage is reported as not run
#      and the command fails, unless K2K_E2E=0 says to leave it out. With it, the GPU trainer
#      image is built and checked (hack/images/check-trainer-gpu.sh) when its inputs changed.
# Each stage writes its vitest JSON report to test-results/ (.ci/run adds them up).
# Extra arguments go to the first stage's vitest (for example a path filter), and the e2e stage
# is then left out; `npx vitest run -c vitest.e2e.config.ts` runs it alone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

e2e="${K2K_E2E:-1}"
[ $# -eq 0 ] || e2e=0
if [ "$e2e" = 1 ] && [ "$(id -u)" != 0 ]; then
  printf '[test] the e2e stage needs root; run as root, or set K2K_E2E=0 to leave it out\n' >&2
  exit 1
fi

if [ "$e2e" = 1 ]; then bash hack/setup.sh --cluster; else bash hack/setup.sh; fi
echo '[test] generated files, lint, type-check, shellcheck (npm run check)' >&2
npm run --silent check

mkdir -p test-results
rm -f test-results/*.json
status=0
echo '[test] unit and integration tests' >&2
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@" || status=$?
if [ "$e2e" = 1 ]; then
  echo '[test] end-to-end tests on the local single-node cluster' >&2
  npx vitest run -c vitest.e2e.config.ts --reporter=default --reporter=json \
    --outputFile.json=test-results/e2e.json || status=$?
  # The GPU trainer image (~4.7 GB) is built and checked only when its inputs changed.
  echo '[test] GPU trainer image: builds from registry packages, loads and trains without a GPU' >&2
  bash hack/images/check-trainer-gpu.sh --if-changed || status=$?
fi
exit $status
