# shellcheck shell=bash
# Sourced by hack/demo.sh and hack/journey.sh (with `say` defined, from the repository root): builds
# (once, then cached) and starts the local cluster with monitoring, installs k2k from config/local,
# starts object storage holding the MNIST digits, and trains the sample TrainingJob mnist-mlp
# while showing its progress.

say "Installing dependencies and building the local cluster (cached: about 21 minutes on 2 cores the first time, plus 5 to 10 for monitoring; seconds later; docs/measurements.md)"
# The last step builds k2k's images from its Dockerfiles with buildah (no Docker, no registry).
bash hack/setup.sh --cluster

say "Starting the local cluster: control plane, then a node (containerd, kubelet, kube-proxy, CoreDNS, metrics-server)"
eval "$(npx tsx hack/cluster/cli.ts up)"
npx tsx hack/cluster/cli.ts node-up

say "Installing monitoring: the Prometheus Operator and a Prometheus (config/monitoring)"
npx tsx hack/cluster/cli.ts monitoring-up

say "Installing k2k from config/local (config/default: CRDs, least-privilege RBAC, the operator; plus the local Prometheus for the Drifting condition)"
kubectl apply --server-side --force-conflicts -k config/local
kubectl rollout status -n k2k-system deployment/k2k-operator --timeout=300s

say "Starting object storage with the MNIST dataset"
npx tsx hack/demo-storage.ts up

say "Applying the sample TrainingJob (config/samples)"
kubectl delete --ignore-not-found -f config/samples/modeldeployment.yaml -f config/samples/trainingjob.yaml >/dev/null
kubectl apply -k config/samples

say "Training trainingjob/mnist-mlp"
npx tsx hack/demo-watch.ts default mnist-mlp
