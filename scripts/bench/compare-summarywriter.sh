#!/usr/bin/env bash
# Agon's event intake (4 worker processes over ZeroMQ into run.db, acknowledged) against
# torch.utils.tensorboard.SummaryWriter writing the same scalars from one process, in one run.
# Uses .venv-torch (made by compare-gloo.sh, or here) with the tensorboard package added.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
ensure_swift
ensure_packages "${AGON_PACKAGES[@]}" python3-venv
venv=.venv-torch
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import torch' 2>/dev/null || "$venv/bin/pip" install -q "${TORCH_PIP_SPEC:-torch==2.15.0}"
"$venv/bin/python" -c 'import tensorboard' 2>/dev/null || "$venv/bin/pip" install -q tensorboard
swift build -c release --product agon 2>&1 | tail -1
export OMP_NUM_THREADS=1
agon=$(.build/release/agon bench ingest --workers 4 --events 50000 --json)
writer=$("$venv/bin/python" scripts/bench/summarywriter_rate.py --steps 50000 2>/dev/null | tail -1)
echo "agon bench ingest (4 processes, stored and acknowledged): $agon"
echo "SummaryWriter (1 process):                               $writer"
"$venv/bin/python" -c "import json,sys; a=json.loads(sys.argv[1])['scalars_per_s']; w=json.loads(sys.argv[2])['scalars_per_s']; print(f'ratio agon/SummaryWriter: {a/w:.1f}x')" "$agon" "$writer"
