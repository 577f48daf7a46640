#!/usr/bin/env bash
# Makes the run's CURVE keys for the Secret agon-keys: writes keys/ next to this script
# (secret.key, public.key, coordinator.key), which kustomization.yaml's secretGenerator reads.
# One key pair serves the whole run: every process holds it, and the coordinator admits it.
#   ./make-secret.sh [KEYS_DIR]      AGON=/path/to/agon to use another binary than the one on PATH
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/keys}
agon=${AGON:-agon}
command -v "$agon" >/dev/null || { echo "make-secret.sh: $agon not found: put agon on PATH or set AGON=/path/to/agon" >&2; exit 1; }
[ ! -e "$out/secret.key" ] || { echo "make-secret.sh: $out/secret.key exists; delete $out to make new keys (a new run)" >&2; exit 1; }
mkdir -p "$out"
"$agon" keys generate --out "$out" --cluster
echo "keys in $out; now: kubectl apply -k $here"
