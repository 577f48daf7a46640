#!/usr/bin/env bash
# Installs what Agon's tests need, builds, and runs every test: the Swift suites (unit, parity
# with TensorFlow's fixtures, metrics against numpy/scipy, end to end with the real binary and
# real processes), then checks that a checkpoint Agon wrote loads in Python's safetensors
# package and that a run's TensorBoard files load in the tensorboard package. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/setup.sh

ensure_swift
ensure_packages "${AGON_PACKAGES[@]}" python3-venv sqlite3 iproute2

export AGON_FIXTURES="${AGON_FIXTURES:-$(cd .. && pwd)/shared/fixtures}"
[ -d "$AGON_FIXTURES" ] || { echo "fixtures folder $AGON_FIXTURES does not exist: set AGON_FIXTURES" >&2; exit 1; }

echo "== building"
swift build --build-tests 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Write|Linking)' | tail -20

# Python with numpy, scipy, scikit-learn and safetensors: the independent implementations some tests compare
# against (AGON_PYTHON), and the safetensors check below.
venv=.build/venv-safetensors
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import safetensors, numpy, scipy, sklearn' 2>/dev/null || "$venv/bin/pip" install -q safetensors numpy scipy scikit-learn
export AGON_PYTHON="$PWD/$venv/bin/python"

echo "== swift tests (fixtures: $AGON_FIXTURES)"
status=0
swift test --skip-build > .build/test.log 2>&1 || status=$?
grep -vE '^(◇|↳)|started( at .*)?\.?$' .build/test.log || true
[ "$status" -eq 0 ] || { echo "swift tests failed (exit $status); full log in .build/test.log" >&2; exit "$status"; }

echo "== safetensors: a checkpoint Agon wrote, read by Python's safetensors package"
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
bin=$(swift build --show-bin-path)/agon
"$bin" train --model dcgan --width-divisor 8 --batch 8 --steps 3 --run-dir "$run" >/dev/null 2>&1
checkpoint=$(ls "$run"/checkpoints/*.safetensors | tail -1)
"$bin" inspect "$checkpoint" --json > "$run/expect.json"
"$venv/bin/python" scripts/check_safetensors.py "$checkpoint" "$run/expect.json"

echo "== tensorboard: an agon run's TensorBoard files, read by the tensorboard package, against its run.db"
venv=.build/venv-tensorboard
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import tensorboard' 2>/dev/null || "$venv/bin/pip" install -q tensorboard
"$bin" run --workers 2 --steps 30 --sample-every 10 --run-dir "$run/tensorboard-run" > "$run/tensorboard-run.log" 2>&1 \
    || { tail -20 "$run/tensorboard-run.log" >&2; echo "agon run for the tensorboard check failed" >&2; exit 1; }
"$venv/bin/python" scripts/check_run_tensorboard.py "$run/tensorboard-run" --workers 2 --steps 30 --samples 10,20,30

echo "== deploy/systemd: systemd-analyze verify on the units, and their flags against agon --help"
AGON_BINARY="$bin" deploy/systemd/test.sh

echo "== deploy/slurm: agon.sbatch on a throwaway two-node Slurm cluster (started and stopped by the test)"
deploy/slurm/test.sh "$bin"

echo "== deploy/kubernetes: schema, checkov, runtime packages, a debootstrapped image, and the manifests' pods in network namespaces"
AGON="$bin" deploy/kubernetes/test.sh

echo "== restart soak: one agon run interrupted again and again (Ctrl-C, kill -9 of each role, SIGTERM of all), then checked"
# Without worker kills the final checkpoint must equal an uninterrupted run's bit for bit; with them,
# every step applied once. Each prints its schedule's seed: --seed S replays it.
python3 scripts/check_restart_soak.py "$bin" "$run/soak" --steps 3000 --interruptions 8
python3 scripts/check_restart_soak.py "$bin" "$run/soak-worker-kills" --steps 2000 --interruptions 5 --with-worker-kills

echo "== all tests passed"
