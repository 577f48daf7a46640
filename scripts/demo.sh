#!/usr/bin/env bash
# Agon's main job on one machine: installs what it needs, builds, and trains the default MLP
# GAN on Fashion-MNIST with an aggregator, a coordinator and two worker processes, leaving
# checkpoints, run.db, charts, sample grids, TensorBoard files and report.html in runs/demo/.
# Extra arguments go to `agon run` (for example --epochs 5).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/setup.sh

ensure_swift
ensure_packages "${AGON_PACKAGES[@]}"

echo "== building agon (release)"
swift build -c release --product agon 2>&1 | tail -1

run=runs/demo
rm -rf "$run"   # a fresh run each time: the coordinator would otherwise resume from its checkpoint
echo "== training: agon run --workers 2 --model mlp --epochs 30 --run-dir $run $*"
.build/release/agon run --workers 2 --model mlp --epochs 30 --sample-every 2000 --run-dir "$run" "$@"

last=$(ls "$run"/samples/step-*.png | tail -1)
echo "== done: report $run/report.html, charts in $run/plots/, sample grids in $run/samples/ (latest: $last), TensorBoard files in $run/tensorboard/, checkpoints in $run/checkpoints/"
