#!/usr/bin/env bash
# Checks deploy/systemd without a running systemd (none runs as PID 1 on a build machine):
# 1. `systemd-analyze verify` on each unit, in a throwaway root; any line it prints fails the
#    test, since it reports unknown keys and bad values as warnings and still exits 0;
# 2. every flag of the units' ExecStart lines is one the built `agon ROLE --help` lists, and
#    every variable they use is set in agon.env.example or the unit, so units and program
#    cannot drift apart.
# Usage: deploy/systemd/test.sh  (AGON_BINARY=PATH: the agon to check against; default: the
# package's debug build). Exit 0: all passed; 1: a check failed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
package=$(cd "$here/../.." && pwd)
agon=${AGON_BINARY:-$package/.build/debug/agon}
units=(agon-coordinator.service agon-aggregator.service agon-worker@.service)

if ! command -v systemd-analyze >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "SKIP deploy/systemd/test.sh: systemd-analyze is missing, and installing Debian's systemd package needs root"
        exit 0
    fi
    source "$package/scripts/lib/setup.sh"
    ensure_packages --no-install-recommends systemd   # for systemd-analyze
fi
[ -x "$agon" ] || { echo "deploy/systemd/test.sh: $agon: no agon there; run swift build first, or set AGON_BINARY" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

# 1. The root holds the units, systemd's own units (verify loads the targets ours name, and
# finds them only under --root), and a stub at ExecStart's path (verify checks it is executable).
root=$tmp/root
mkdir -p "$root/etc/systemd/system" "$root/usr/lib/systemd" "$root/usr/local/bin"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
printf '#!/bin/sh\nexit 0\n' > "$root/usr/local/bin/agon"
chmod 755 "$root/usr/local/bin/agon"
for unit in "${units[@]}"; do cp "$here/$unit" "$root/etc/systemd/system/"; done
# A template is verified through an instance of it.
for unit in agon-coordinator.service agon-aggregator.service agon-worker@1.service; do
    status=0
    out=$(systemd-analyze --root="$root" verify "$root/etc/systemd/system/$unit" 2>&1) || status=$?
    if [ "$status" -ne 0 ] || [ -n "$out" ]; then
        echo "FAIL systemd-analyze verify $unit (exit $status):"
        echo "$out" | sed "s|$root||g"
        failed=1
    else
        echo "ok   systemd-analyze verify $unit"
    fi
done

# 2. Flags and variables.
python3 - "$here" "$agon" "${units[@]}" <<'PY' || failed=1
import pathlib, re, shlex, subprocess, sys

folder, agon, units = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
defined = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", (folder / "agon.env.example").read_text(), re.M))
failed = False
for unit in units:
    text = (folder / unit).read_text().replace("\\\n", " ")
    unit_vars = set(re.findall(r"(?:^Environment=|\s)([A-Z_][A-Z0-9_]*)=", "\n".join(
        line for line in text.splitlines() if line.startswith("Environment="))))
    for line in (l for l in text.splitlines() if l.startswith("ExecStart=")):
        words = shlex.split(line[len("ExecStart="):].lstrip("-@:+!"))
        if len(words) < 2 or pathlib.Path(words[0]).name != "agon":
            print(f"FAIL {unit}: ExecStart does not run agon ROLE: {line}")
            failed = True
            continue
        role = words[1]
        helped = subprocess.run([agon, role, "--help"], capture_output=True, text=True)
        if helped.returncode != 0:
            print(f"FAIL {unit}: `agon {role} --help` exited {helped.returncode}: {helped.stderr.strip()}")
            failed = True
            continue
        known = set(re.findall(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*)", helped.stdout))
        for flag in (w.split("=", 1)[0] for w in words[2:] if w.startswith("--")):
            if flag in known:
                print(f"ok   {unit}: agon {role} takes {flag}")
            else:
                print(f"FAIL {unit}: agon {role} does not take {flag} (not in `agon {role} --help`)")
                failed = True
        for name in sorted(set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", line))):
            if name not in defined | unit_vars:
                print(f"FAIL {unit}: ExecStart uses ${name}, set neither in agon.env.example nor by Environment=")
                failed = True
sys.exit(1 if failed else 0)
PY

if [ "$failed" -ne 0 ]; then
    echo "deploy/systemd/test.sh: FAILED" >&2
    exit 1
fi
echo "deploy/systemd/test.sh: all checks passed"
