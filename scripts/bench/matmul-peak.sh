#!/usr/bin/env bash
# oneDNN's f32 matmul throughput on this CPU, one thread, for the MLP GAN's product shapes:
# the ceiling under Agon's (and TensorFlow's) MLP step. Usage: scripts/bench/matmul-peak.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
ensure_packages libdnnl-dev gcc
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
gcc -O2 scripts/bench/matmul_peak.c -o "$out/matmul_peak" -ldnnl
export OMP_NUM_THREADS=1
# M K N [transpose A]: G and D forward, the input-gradient product, a weight gradient, batch 256.
for shape in "32 784 128" "64 784 128" "32 128 784" "784 32 128 1" "256 784 128"; do
    "$out/matmul_peak" $shape
done
