#!/usr/bin/env bash
# Runs one operator CLI command in the cluster as a Job with the operator's Secret
# (k8s/operator/cli-job.yaml): fills in the image and the command, creates the Job, waits for it
# and prints its log; exits with the command's outcome (0 when it succeeded).
#   IMAGE=registry/zipbank/ingester@sha256:<digest> bash scripts/cluster-cli.sh gaps accept --branch 3 --by alice
#   bash scripts/cluster-cli.sh --print rejected redrive --reason not_json --dry-run   # print the Job only
# IMAGE defaults to the image the running Deployment uses; NAMESPACE to kubectl's current one.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
print_only=false
if [ "${1:-}" = "--print" ]; then print_only=true; shift; fi
if [ "$#" -eq 0 ]; then
  echo "usage: bash scripts/cluster-cli.sh [--print] <cli command and flags>, e.g. status --partitions 0-7" >&2
  exit 2
fi
ns=(); [ -n "${NAMESPACE:-}" ] && ns=(--namespace "$NAMESPACE")
image="${IMAGE:-}"
if [ -z "$image" ] && ! $print_only; then
  image=$(kubectl "${ns[@]}" get deploy/zipbank-ingester -o jsonpath='{.spec.template.spec.containers[0].image}')
fi
# The command's words as a YAML flow list of JSON strings (JSON is YAML).
args=$(node -e 'process.stdout.write(JSON.stringify(process.argv.slice(1)))' -- "$@")
job=$(node -e '
  const fs = require("node:fs");
  const [image, args] = process.argv.slice(1);
  let text = fs.readFileSync("k8s/operator/cli-job.yaml", "utf8");
  text = text.replace(/^(\s+args: ).*$/m, (_, head) => head + args);
  if (image) text = text.replace(/^(\s+image: )zipbank-ingester$/m, (_, head) => head + image);
  process.stdout.write(text);
' -- "$image" "$args")
if $print_only; then printf '%s\n' "$job"; exit 0; fi
name=$(printf '%s\n' "$job" | kubectl "${ns[@]}" create -f - -o name)
echo "cluster-cli: $name runs: node dist/cli.js $*" >&2
kubectl "${ns[@]}" wait --for=condition=ready pod -l job-name="${name#job.batch/}" --timeout=120s >/dev/null 2>&1 || true
kubectl "${ns[@]}" logs -f "$name"
if kubectl "${ns[@]}" wait --for=condition=complete "$name" --timeout=30s >/dev/null 2>&1; then exit 0; fi
echo "cluster-cli: $name did not complete: kubectl describe $name" >&2
exit 1
