#!/usr/bin/env bash
# Agon's averaging round against PyTorch's gloo all_reduce, side by side in one run: 2 and 4
# worker processes on loopback, 214,673 floats (the MLP GAN) and 2,518,337 (the DCGAN). Agon is
# timed twice: values in the ZeroMQ messages over TCP (how workers on other machines talk to the
# coordinator), and through the shared-memory lane (how workers on its machine do).
# Installs PyTorch from PyPI into .venv-torch (the Linux wheel brings CUDA libraries, about
# 4 GB, although only the CPU is used). Usage: scripts/bench/compare-gloo.sh [--rounds R]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
rounds=50
[ "${1:-}" = "--rounds" ] && rounds="$2"

ensure_swift
ensure_packages "${AGON_PACKAGES[@]}" python3-venv
venv=.venv-torch
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if ! "$venv/bin/python" -c 'import torch.distributed as d; assert d.is_gloo_available()' 2>/dev/null; then
    echo "installing ${TORCH_PIP_SPEC:=torch==2.15.0} into $venv"
    "$venv/bin/pip" install -q "$TORCH_PIP_SPEC"
fi
swift build -c release --product agon 2>&1 | tail -1
export OMP_NUM_THREADS=1

printf '| workers | floats | Agon round, tcp (ms) | Agon round, shared memory (ms) | gloo all_reduce + divide (ms) | tcp / gloo | shared memory / gloo |\n|---|---|---|---|---|---|---|\n'
for workers in 2 4; do
    for floats in 214673 2518337; do
        read -r tcp shm < <(.build/release/agon bench allreduce --workers "$workers" --floats "$floats" --rounds "$rounds" --json |
               "$venv/bin/python" -c 'import json,sys; r={j["transport"]: j["median_us"] for j in map(json.loads, sys.stdin)}; print(r["tcp"], r["shm"])')
        gloo=$("$venv/bin/python" scripts/bench/gloo_allreduce.py --workers "$workers" --floats "$floats" --rounds "$rounds" 2>/dev/null |
               "$venv/bin/python" -c 'import json,sys; print(json.loads(sys.stdin.readlines()[-1])["median_us"])')
        "$venv/bin/python" -c "t=$tcp/1000; s=$shm/1000; g=$gloo/1000; print(f'| $workers | $floats | {t:.3f} | {s:.3f} | {g:.3f} | {t/g:.2f} | {s/g:.2f} |')"
    done
done
