#!/usr/bin/env bash
# Compare Agon's GAN training speed and memory with TensorFlow's, on the CPU,
# one thread each.  See scripts/bench/README.md.
#
# Usage: scripts/bench/compare-tensorflow.sh [--quick] [--skip-agon]
#   --quick      shorter runs (fewer steps and runs) for smoke testing
#   --skip-agon  do not build or run agon; print only the TensorFlow numbers
#
# Environment:
#   PYTHON          interpreter that creates the venv (default: python3)
#   TF_PIP_SPEC     what pip installs into the venv
#                   (default: tensorflow-cpu==2.21.0 keras==3.15.1)
#   AGON_BENCH_ARGS extra arguments for `agon bench train` (default: none)
set -euo pipefail

QUICK=0
SKIP_AGON=0
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=1 ;;
        --skip-agon) SKIP_AGON=1 ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "compare-tensorflow.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
cd "$REPO_ROOT"

# One thread for every process started from here.
export OMP_NUM_THREADS=1
export MKL_NUM_THREADS=1
export OPENBLAS_NUM_THREADS=1
export TF_NUM_INTRAOP_THREADS=1
export TF_NUM_INTEROP_THREADS=1
export TF_CPP_MIN_LOG_LEVEL=2

PYTHON="${PYTHON:-python3}"
TF_PIP_SPEC="${TF_PIP_SPEC:-tensorflow-cpu==2.21.0 keras==3.15.1}"
VENV="$REPO_ROOT/.venv-tf"
VPY="$VENV/bin/python"
BENCH_PY="$SCRIPT_DIR/tf_gan_bench.py"
AGON="$REPO_ROOT/.build/release/agon"

CONFIGS=("mlp 32" "mlp 64" "mlp 256" "dcgan 64")
if [ "$QUICK" = 1 ]; then
    TF_TIMING_ARGS=(--runs 1 --target-seconds 0.5)
    MEM_STEPS=200
else
    TF_TIMING_ARGS=(--runs 3 --target-seconds 3)
    MEM_STEPS=2000
fi

log() { echo "[compare-tensorflow] $*" >&2; }

apt_install() {
    log "installing Debian package(s): $*"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- TensorFlow venv ---------------------------------------------------------
if [ ! -x "$VPY" ]; then
    if ! "$PYTHON" -m venv --help >/dev/null 2>&1; then
        apt_install python3-venv
    fi
    rm -rf "$VENV"
    if ! "$PYTHON" -m venv "$VENV"; then
        # Debian's python3 has `venv` but needs python3-venv for ensurepip.
        apt_install python3-venv
        rm -rf "$VENV"
        "$PYTHON" -m venv "$VENV"
    fi
fi
if ! "$VPY" -c 'import tensorflow' >/dev/null 2>&1; then
    log "installing $TF_PIP_SPEC into $VENV (takes a minute)"
    # shellcheck disable=SC2086  # TF_PIP_SPEC is a list of requirements
    "$VPY" -m pip install -q --disable-pip-version-check $TF_PIP_SPEC
fi
TF_VERSION="$("$VPY" -c 'import tensorflow as tf; print(tf.__version__)' 2>/dev/null)"

if [ ! -x /usr/bin/time ]; then
    apt_install time
fi

# --- Agon ----------------------------------------------------------------------
if [ "$SKIP_AGON" = 0 ]; then
    log "building agon (release)"
    swift build -c release --product agon >&2
fi

RESULTS="$(mktemp -d "${TMPDIR:-/tmp}/agon-tf-bench.XXXXXX")"
trap 'rm -rf "$RESULTS"' EXIT
FAILURES=0

# run_json TAG CMD...: run CMD, keep its last JSON line (tagged) in results.
run_json() {
    local tag="$1"; shift
    local out
    if ! out="$("$@")"; then
        log "FAILED ($tag): $*"
        FAILURES=$((FAILURES + 1))
        return 0
    fi
    # The last JSON line on stdout whose model and batch match (if it has them).
    local line
    line="$(printf '%s\n' "$out" | "$PYTHON" -c '
import json, sys
model, batch = sys.argv[1], int(sys.argv[2])
best = ""
for raw in sys.stdin:
    raw = raw.strip()
    if not raw.startswith("{"):
        continue
    try:
        obj = json.loads(raw)
    except ValueError:
        continue
    if obj.get("model", model) == model and int(obj.get("batch", batch)) == batch:
        best = json.dumps(obj)
print(best)
' "$(cut -d' ' -f2 <<<"$tag")" "$(cut -d' ' -f3 <<<"$tag")")"
    if [ -z "$line" ]; then
        log "no JSON line from ($tag): $*"
        FAILURES=$((FAILURES + 1))
        return 0
    fi
    printf '%s\t%s\n' "$tag" "$line" >> "$RESULTS/speed.tsv"
}

# --- Speed -------------------------------------------------------------------------
for cfg in "${CONFIGS[@]}"; do
    read -r model batch <<<"$cfg"
    if [ "$SKIP_AGON" = 0 ]; then
        log "agon         $model batch $batch"
        # shellcheck disable=SC2086  # AGON_BENCH_ARGS is a list of words
        run_json "agon $model $batch" "$AGON" bench train --json --model "$model" --batch "$batch" ${AGON_BENCH_ARGS:-}
    fi
    for mode in function eager; do
        log "$(printf '%-12s' "tf $mode") $model batch $batch"
        run_json "$mode $model $batch" "$VPY" "$BENCH_PY" --json --model "$model" --batch "$batch" \
            --mode "$mode" "${TF_TIMING_ARGS[@]}"
    done
done

# --- Peak memory of a training job ----------------------------------------------
# /usr/bin/time -f %M reports the maximum resident set size in KiB.
peak_kib() {  # peak_kib OUTFILE CMD...: run CMD, write its peak RSS (KiB) to OUTFILE
    local outfile="$1"; shift
    if /usr/bin/time -f '%M' -o "$outfile.time" "$@" >"$outfile.log" 2>&1; then
        tail -n 1 "$outfile.time" > "$outfile"
    else
        log "FAILED (memory job): $* -- last lines of its output:"
        tail -n 5 "$outfile.log" >&2 || true
        FAILURES=$((FAILURES + 1))
    fi
}
if [ "$SKIP_AGON" = 0 ]; then
    log "memory: agon train --model mlp --batch 64 --steps $MEM_STEPS"
    mkdir -p "$RESULTS/run-dir"
    peak_kib "$RESULTS/mem.agon" "$AGON" train --model mlp --batch 64 --steps "$MEM_STEPS" \
        --run-dir "$RESULTS/run-dir"
fi
log "memory: tf_gan_bench.py --model mlp --batch 64 --train-steps $MEM_STEPS"
peak_kib "$RESULTS/mem.tf" "$VPY" "$BENCH_PY" --model mlp --batch 64 --train-steps "$MEM_STEPS"

# --- Report ------------------------------------------------------------------------
"$PYTHON" - "$RESULTS" "$SKIP_AGON" "$QUICK" "$TF_VERSION" "$MEM_STEPS" <<'PY'
import json, os, platform, sys

results, skip_agon, quick, tf_version, mem_steps = sys.argv[1:6]
skip_agon = skip_agon == "1"

rows = {}
path = os.path.join(results, "speed.tsv")
if os.path.exists(path):
    with open(path) as f:
        for line in f:
            tag, payload = line.rstrip("\n").split("\t", 1)
            src, model, batch = tag.split()
            rows.setdefault((model, int(batch)), {})[src] = json.loads(payload)

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"

def num(r, key, fmt="{:.1f}"):
    return fmt.format(r[key]) if r and key in r and r[key] is not None else "n/a"

def ratio(a, b, key="steps_per_s"):
    try:
        return "{:.2f}x".format(a[key] / b[key])
    except (TypeError, KeyError, ZeroDivisionError):
        return "n/a"

print()
print(f"CPU: {cpu_model()}, {os.cpu_count()} logical cores; one thread per process "
      f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}); tensorflow-cpu {tf_version}"
      + ("; QUICK run" if quick == "1" else ""))
print()
if skip_agon:
    header = ["model", "batch", "tf.function steps/s", "eager steps/s",
              "tf.function RSS MiB", "eager RSS MiB"]
else:
    header = ["model", "batch", "agon steps/s", "tf.function steps/s", "eager steps/s",
              "agon/tf.function", "agon/eager", "agon RSS MiB", "tf.function RSS MiB", "eager RSS MiB"]
print("| " + " | ".join(header) + " |")
print("|" + "|".join("---" for _ in header) + "|")
order = [("mlp", 32), ("mlp", 64), ("mlp", 256), ("dcgan", 64)]
for key in order:
    r = rows.get(key, {})
    a, fn, ea = r.get("agon"), r.get("function"), r.get("eager")
    if skip_agon:
        cells = [key[0], str(key[1]), num(fn, "steps_per_s", "{:.2f}"), num(ea, "steps_per_s", "{:.2f}"),
                 num(fn, "peak_rss_mb"), num(ea, "peak_rss_mb")]
    else:
        cells = [key[0], str(key[1]), num(a, "steps_per_s", "{:.2f}"), num(fn, "steps_per_s", "{:.2f}"),
                 num(ea, "steps_per_s", "{:.2f}"), ratio(a, fn), ratio(a, ea),
                 num(a, "peak_rss_mb"), num(fn, "peak_rss_mb"), num(ea, "peak_rss_mb")]
    print("| " + " | ".join(cells) + " |")

def read_kib(name):
    p = os.path.join(results, name)
    try:
        with open(p) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None

print()
print(f"Peak RSS of a training job (mlp, batch 64, {mem_steps} steps, /usr/bin/time -f %M):")
tf_kib = read_kib("mem.tf")
agon_kib = None if skip_agon else read_kib("mem.agon")
if not skip_agon:
    print("  agon train:                    " + (f"{agon_kib / 1024:.1f} MiB" if agon_kib else "n/a"))
print("  tf_gan_bench.py (tf.function): " + (f"{tf_kib / 1024:.1f} MiB" if tf_kib else "n/a"))
if agon_kib and tf_kib:
    print(f"  ratio tf/agon: {tf_kib / agon_kib:.2f}x  (agon/tf: {agon_kib / tf_kib:.2f}x)")
PY

if [ "$FAILURES" -gt 0 ]; then
    log "$FAILURES step(s) failed; see the messages above"
    exit 1
fi
