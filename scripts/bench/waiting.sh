#!/usr/bin/env bash
# The share of a worker's step spent waiting on the coordinator (from sending its gradients to
# having the parameters back), for the MLP GAN at batch 64 with 2 workers, through the
# shared-memory lane and through the sockets alone, and with 1 worker for reference.
# Quality measurements are off (they run on the coordinator's machine and would compete for
# the CPU). Usage: scripts/bench/waiting.sh [--steps S] [--batch B]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
steps=2000
batch=64
while [ $# -gt 0 ]; do
    case "$1" in
        --steps) steps="$2"; shift 2 ;;
        --batch) batch="$2"; shift 2 ;;
        *) echo "waiting.sh: unknown argument $1 (use --steps S, --batch B)" >&2; exit 2 ;;
    esac
done
ensure_swift
ensure_packages "${AGON_PACKAGES[@]}"
swift build -c release --product agon 2>&1 | tail -1
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
measure() {   # label, agon run arguments
    local label="$1"; shift
    rm -rf "$run/r"
    .build/release/agon run --model mlp --batch "$batch" --steps "$steps" --quality-every 0 --run-dir "$run/r" "$@" 2>&1 |
        sed -n "s/^worker: \(.*waiting on the coordinator\)/$label: \1/p"
}
measure "2 workers, shared memory" --workers 2
measure "2 workers, sockets only " --workers 2 --no-shared-memory
measure "1 worker,  shared memory" --workers 1
