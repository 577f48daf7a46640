#!/usr/bin/env bash
# Agon's main job on one machine: installs what it needs, builds, and trains the default MLP
# GAN on Fashion-MNIST, leaving checkpoints, per-step metrics and sample grids in runs/demo/.
# Extra arguments go to `agon train` (for example --epochs 5 or --model dcgan).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/setup.sh

ensure_swift
ensure_packages "${AGON_PACKAGES[@]}"

echo "== building agon (release)"
swift build -c release --product agon 2>&1 | tail -1

run=runs/demo
echo "== training: agon train --model mlp --epochs 30 --run-dir $run $*"
.build/release/agon train --model mlp --epochs 30 --sample-every 2810 --run-dir "$run" --restart "$@"

last=$(ls "$run"/samples/*.png | tail -1)
echo "== done: sample grids in $run/samples/ (latest: $last), metrics in $run/metrics.csv, checkpoints in $run/checkpoints/"
