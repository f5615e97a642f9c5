#!/usr/bin/env bash
# `npm run journey`: the model-update loop on the local cluster, after the same setup as
# `npm run demo` (hack/demo-setup.sh). Serves the sample model with a canary and retraining on
# drift (config/samples/modeldeployment-retraining.yaml), switches its clients to inverted digits
# while the data pipeline puts inverted digits under the retraining dataset prefix, and follows
# live: Drifting → a retrain TrainingJob → its model as a canary at growing weights → promoted →
# the drift clears. docs/retraining.md explains each step.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }

# shellcheck source=hack/demo-setup.sh
source hack/demo-setup.sh
# A cluster left by an earlier run keeps its image tags: restart so the operator runs the image just built.
kubectl rollout restart -n k2k-system deployment/k2k-operator
kubectl rollout status -n k2k-system deployment/k2k-operator --timeout=300s

say "Serving with a canary and retraining: ModelDeployment mnist-journey (config/samples/modeldeployment-retraining.yaml)"
kubectl delete --ignore-not-found -f config/samples/modeldeployment-retraining.yaml >/dev/null
kubectl apply -f config/samples/modeldeployment-retraining.yaml
kubectl wait modeldeployment/mnist-journey --for=condition=Ready --timeout=300s
ip=$(kubectl get service mnist-journey -o jsonpath='{.spec.clusterIP}')

say "The data pipeline's newest data: inverted digits (255 - x) under s3://k2k-datasets/mnist-recent/"
npx tsx hack/demo-storage.ts put-inverted s3://k2k-datasets/mnist-recent/

say "The clients switch to inverted digits, one per request, until the loop is done"
# Clients call the served model name: the artifact's <model> segment (mnist-mlp), not the ModelDeployment's.
npx tsx hack/demo-drift.ts stream "http://$ip" mnist-mlp inverted &
stream=$!
trap 'kill "$stream" 2>/dev/null || true' EXIT

say "Following the loop: drift, retrain, canary, promotion, drift cleared"
npx tsx hack/journey-watch.ts default mnist-journey

kubectl get modeldeployment mnist-journey
kubectl get trainingjobs -l k2k.dev/retrain-of=mnist-journey
kubectl get events --field-selector involvedObject.name=mnist-journey --sort-by=.lastTimestamp \
  -o custom-columns=TIME:.lastTimestamp,TYPE:.type,REASON:.reason,MESSAGE:.message | tail -n 20
cat >&2 <<MSG

Look further:
  export KUBECONFIG=$KUBECONFIG PATH=$(dirname "$(command -v kubectl)"):\$PATH
  kubectl get modeldeployment mnist-journey -o jsonpath='{.status.retraining}'   # the loop's state
  kubectl describe trainingjob mnist-journey-retrain-1     # why it started: k2k.dev/retrain-reason
  kubectl delete -f config/samples/modeldeployment-retraining.yaml   # stop the journey's model
MSG
