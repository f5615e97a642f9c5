#!/usr/bin/env bash
# k2k's main job on its embedded default, a local single-node cluster: `npm run demo`.
# Builds (once, then cached) the cluster's components and k2k's images without Docker, starts a
# control plane and a real node (containerd + kubelet) on this machine, installs k2k from config/,
# starts object storage holding the MNIST digits, applies the sample TrainingJob, shows the
# training as it happens, says what was made and where, then serves the model with the sample
# ModelDeployment and sends it a few digits it never saw.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }

# The local cluster, k2k, the dataset and the sample TrainingJob trained: also `npm run journey`'s start.
# shellcheck source=hack/demo-setup.sh
source hack/demo-setup.sh

uri=$(kubectl get trainingjob mnist-mlp -o jsonpath='{.status.artifact.uri}')
say "What was made"
npx tsx hack/demo-storage.ts show "$uri"

say "Serving the model: ModelDeployment mnist-mlp (config/samples/modeldeployment.yaml)"
kubectl apply -f config/samples/modeldeployment.yaml
kubectl wait modeldeployment/mnist-mlp --for=condition=Ready --timeout=300s
kubectl get modeldeployment mnist-mlp
ip=$(kubectl get service mnist-mlp -o jsonpath='{.spec.clusterIP}')

say "Asking the served model about digits it never saw"
npx tsx hack/demo-predict.ts "http://$ip" mnist-mlp 10
echo
npx tsx hack/demo-grpc.ts "$ip:8500" mnist-mlp

drifting() { kubectl get modeldeployment mnist-mlp -o jsonpath='{.status.conditions[?(@.type=="Drifting")].message}'; echo; }
say "Shifting the inputs: 1000 inverted digits (255 - x), unlike anything the model trained on"
npx tsx hack/demo-drift.ts send "http://$ip" mnist-mlp inverted 1000
# Prometheus scrapes the server (spec.monitoring.interval) and the operator asks it every 15 s (config/local).
kubectl wait modeldeployment/mnist-mlp --for=condition=Drifting=True --timeout=180s
kubectl get modeldeployment mnist-mlp
drifting
echo "The operator's query, the K2KFeatureDrift rule (paste it into Prometheus; the alert fires after 15 minutes of it):"
npx tsx hack/demo-drift.ts query default mnist-mlp

say "Normal digits again: 1000 held-out digits as they are"
npx tsx hack/demo-drift.ts send "http://$ip" mnist-mlp normal 1000
kubectl wait modeldeployment/mnist-mlp --for=condition=Drifting=False --timeout=180s
kubectl get modeldeployment mnist-mlp
drifting

prom=$(kubectl get service -n k2k-monitoring prometheus-k2k -o jsonpath='{.spec.clusterIP}')
cat >&2 <<MSG

Look further:
  export KUBECONFIG=$KUBECONFIG PATH=$(dirname "$(command -v kubectl)"):\$PATH
  kubectl get trainingjobs -o wide            # or: kubectl get k2k
  kubectl describe trainingjob mnist-mlp      # conditions and events
  kubectl logs -l k2k.dev/trainingjob=mnist-mlp --tail=20
  kubectl get modeldeployment,deployment,service,hpa mnist-mlp
  curl -s http://$ip/v2/models/mnist-mlp          # the served model's metadata (Open Inference Protocol v2)
  curl -s http://$ip/metrics | grep k2k_drift     # drift statistics against the training data
  kubectl get modeldeployment mnist-mlp -o jsonpath='{.status.grpcURL}'   # gRPC: TF Serving and Open Inference Protocol
  kubectl logs -n k2k-system deployment/k2k-operator
  kubectl get prometheus,servicemonitors,prometheusrules -A   # the monitoring objects
  curl -s "http://$prom:9090/api/v1/query?query=up"             # what Prometheus scrapes, and whether it is up
  curl -s "http://$prom:9090/api/v1/alerts"                      # active alerts (K2KFeatureDrift stays pending for 15 minutes)
Stop everything: npx tsx hack/cluster/cli.ts down
MSG
