#!/usr/bin/env bash
# k2k's main job on its embedded default, a local cluster: `npm run demo`.
# Builds (cached) and starts a local Kubernetes control plane, installs k2k's CRDs, runs the
# operator, applies the sample TrainingJob and shows its status as it changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }

say "Installing dependencies and building the local cluster's components (cached after the first run)"
bash hack/setup.sh

say "Starting the local Kubernetes control plane"
eval "$(npx tsx hack/cluster/cli.ts up)"
state="${K2K_STATE:-$HOME/.local/state/k2k}"
mkdir -p "$state"

say "Installing k2k's CustomResourceDefinitions"
kubectl apply --server-side --field-manager=k2k-demo -k config/crd
kubectl wait --for=condition=Established --timeout=60s crd/trainingjobs.k2k.dev >/dev/null

say "Starting the k2k operator (log: $state/operator.log)"
K2K_LEADER_ELECT=false npx tsx operator/main.ts --kubeconfig "$KUBECONFIG" --probe-address 127.0.0.1:0 \
  >"$state/operator.log" 2>&1 &
operator=$!
trap 'kill $operator 2>/dev/null || true' EXIT

say "Applying the sample TrainingJob (config/samples)"
kubectl delete --ignore-not-found -f config/samples/trainingjob.yaml >/dev/null
kubectl apply -k config/samples

say "Watching trainingjob/mnist-mlp"
npx tsx hack/demo-watch.ts default mnist-mlp

cat >&2 <<MSG

Look further:
  export KUBECONFIG=$KUBECONFIG PATH=$(dirname "$(command -v kubectl)"):\$PATH
  kubectl get trainingjobs -o wide          # or: kubectl get k2k
  kubectl describe trainingjob mnist-mlp
  kubectl get job,pods -l k2k.dev/trainingjob=mnist-mlp
Stop the local control plane: npx tsx hack/cluster/cli.ts down
MSG
