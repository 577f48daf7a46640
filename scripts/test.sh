#!/usr/bin/env bash
# Installs what Agon's tests need, builds, and runs every test: the Swift suites (unit, parity
# with TensorFlow's fixtures, end to end with the real binary), then a check that a checkpoint
# Agon wrote loads in Python's safetensors package. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/setup.sh

ensure_swift
ensure_packages "${AGON_PACKAGES[@]}" python3-venv

export AGON_FIXTURES="${AGON_FIXTURES:-$(cd .. && pwd)/shared/fixtures}"
[ -d "$AGON_FIXTURES" ] || { echo "fixtures folder $AGON_FIXTURES does not exist: set AGON_FIXTURES" >&2; exit 1; }

echo "== building"
swift build --build-tests 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Write|Linking)' | tail -20

echo "== swift tests (fixtures: $AGON_FIXTURES)"
status=0
swift test --skip-build > .build/test.log 2>&1 || status=$?
grep -vE '^(◇|↳)|started( at .*)?\.?$' .build/test.log || true
[ "$status" -eq 0 ] || { echo "swift tests failed (exit $status); full log in .build/test.log" >&2; exit "$status"; }

echo "== safetensors: a checkpoint Agon wrote, read by Python's safetensors package"
venv=.build/venv-safetensors
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import safetensors, numpy' 2>/dev/null || "$venv/bin/pip" install -q safetensors numpy
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
bin=$(swift build --show-bin-path)/agon
"$bin" train --model dcgan --width-divisor 8 --batch 8 --steps 3 --run-dir "$run" >/dev/null 2>&1
checkpoint=$(ls "$run"/checkpoints/*.safetensors | tail -1)
"$bin" inspect "$checkpoint" --json > "$run/expect.json"
"$venv/bin/python" scripts/check_safetensors.py "$checkpoint" "$run/expect.json"

echo "== all tests passed"
