#!/usr/bin/env bash
# The whole test suite: `npm test`. Installs and builds what is missing (cached), checks that
# generated files are current, lints, type-checks, then runs every vitest test against real
# services (kube-apiserver + etcd + kube-controller-manager + kube-scheduler, an S3 server).
# Extra arguments go to vitest (for example a path filter).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash hack/setup.sh
echo '[test] checking generated files (crds/)' >&2
npx tsx operator/api/generate.ts --check
echo '[test] lint and type-check' >&2
npx biome check .
npx tsc -p tsconfig.json --noEmit
mkdir -p test-results
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@"
