#!/usr/bin/env bash
# `npm run sweep`: runs the sample HyperparameterSweep (config/samples/hyperparametersweep.yaml) on
# the local cluster `npm run demo` left running, shows its trials live (the best so far, each
# trial's epochs, the ones stopped early), then serves the best trial through a ModelDeployment
# with sweepRef and sends it a few digits it never saw.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }

if ! npx tsx hack/cluster/cli.ts node-status >/dev/null 2>&1; then
  echo 'No healthy local cluster with a node: run npm run demo first (it leaves the cluster running).' >&2
  exit 1
fi
eval "$(npx tsx hack/cluster/cli.ts env)"

say "Building k2k's images from this checkout (cached) and installing k2k from config/default"
bash hack/setup.sh --cluster
kubectl apply --server-side --force-conflicts -k config/default
# The images keep their tags: restart so the operator runs the image just built.
kubectl rollout restart -n k2k-system deployment/k2k-operator
kubectl rollout status -n k2k-system deployment/k2k-operator --timeout=300s

say "Object storage with the MNIST dataset"
npx tsx hack/demo-storage.ts up

say "Applying the sample HyperparameterSweep (config/samples/hyperparametersweep.yaml)"
kubectl delete --ignore-not-found -f config/samples/modeldeployment-sweep.yaml \
  -f config/samples/hyperparametersweep.yaml >/dev/null
kubectl apply -f config/samples/storage-secret.yaml -f config/samples/hyperparametersweep.yaml

say "Searching: hyperparametersweep/mnist-lr"
npx tsx hack/sweep-watch.ts default mnist-lr
kubectl get hyperparametersweep mnist-lr

say "Serving the best trial: ModelDeployment mnist-lr-best (config/samples/modeldeployment-sweep.yaml)"
kubectl apply -f config/samples/modeldeployment-sweep.yaml
kubectl wait modeldeployment/mnist-lr-best --for=condition=Ready --timeout=300s
kubectl get modeldeployment mnist-lr-best
ip=$(kubectl get service mnist-lr-best -o jsonpath='{.spec.clusterIP}')

say "Asking the best trial's model about digits it never saw"
npx tsx hack/demo-predict.ts "http://$ip" mnist-lr 10

cat >&2 <<MSG

Look further:
  export KUBECONFIG=$KUBECONFIG PATH=$(dirname "$(command -v kubectl)"):\$PATH
  kubectl get hyperparametersweep mnist-lr -o wide      # trials done/total, running, best objective
  kubectl get trainingjobs -l k2k.dev/sweep=mnist-lr    # every trial
  kubectl describe hyperparametersweep mnist-lr         # conditions and TrialEarlyStopped events
Stop everything: npx tsx hack/cluster/cli.ts down
MSG
