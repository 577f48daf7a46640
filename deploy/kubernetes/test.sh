#!/usr/bin/env bash
# Checks deploy/kubernetes without a cluster or a container engine (neither runs on CI):
#   1. the rendered kustomization validates strictly against the Kubernetes API schema (kubernetes-validate);
#   2. checkov finds nothing that is not skipped in the manifests and explained in README.md;
#   3. every library the agon binary links comes from the Containerfile's runtime packages or
#      the Swift runtime it copies (ldd, dpkg -S);
#   4. the runtime image, made with debootstrap from exactly those packages (cached in .build),
#      runs `agon run` in a chroot;
#   5. the manifests' pods run in that image as Kubernetes would run them (check/pods.py):
#      2 workers train to completion over TCP between network namespaces, found by Service name;
#      then a worker killed with kill -9 is started again by its restart policy and rejoins.
# Runnable on its own, as root; otherwise it says why it skips. AGON=/path/to/agon to test another binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
K8S_VERSION=1.33.0      # the Kubernetes API the manifests are validated against
started=$(date +%s)

[ "$(id -u)" -eq 0 ] || { echo "deploy/kubernetes/test.sh: skipped: needs root (network namespaces, mounts, chroot, debootstrap)"; exit 0; }
if ! ip netns add "agk-probe-$$" 2>/dev/null; then
    echo "deploy/kubernetes/test.sh: skipped: this machine does not allow network namespaces"; exit 0
fi
ip netns del "agk-probe-$$"
source "$repo/scripts/lib/setup.sh"
ensure_packages debootstrap iproute2 util-linux binutils python3-venv

agon=${AGON:-}
if [ -z "$agon" ]; then
    ensure_swift
    (cd "$repo" && swift build --product agon 2>&1 | tail -1)
    agon=$(cd "$repo" && swift build --show-bin-path)/agon
fi

venv=$repo/.build/venv-k8s
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import kubernetes_validate, checkov, yaml' 2>/dev/null \
    || "$venv/bin/pip" install -q kubernetes-validate==1.37.0 checkov==3.3.30 pyyaml

# pods.py names its namespaces, links and bridge after this tag; the trap removes whatever of
# them is left, with the processes inside, even when pods.py itself was killed.
tag=$(( $$ % 10000 ))
work=$(mktemp -d)
cleanup() {
    for ns in $(ip netns list 2>/dev/null | awk -v t="agk$tag-" 'index($1, t) == 1 {print $1}'); do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
        rm -rf "/etc/netns/$ns"
    done
    # A namespace whose sockets still retransmit outlives its deletion, and keeps its veth pair.
    for link in $(ip -o link show 2>/dev/null | awk -F': ' -v t="agk${tag}h" 'index($2, t) == 1 {sub(/@.*/, "", $2); print $2}'); do
        ip link del "$link" 2>/dev/null || true
    done
    ip link del "agk${tag}br" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The folder as a user has it after make-secret.sh.
cp -r "$here" "$work/deploy"
rm -rf "$work/deploy/keys"
AGON=$agon "$work/deploy/make-secret.sh" >/dev/null
render() { "$venv/bin/python" "$here/check/render.py" "$work/deploy" "$@"; }
render > "$work/rendered.yaml"

echo "== kubernetes: schema of Kubernetes $K8S_VERSION, strict"
"$venv/bin/kubernetes-validate" --strict -k "$K8S_VERSION" --quiet "$work/rendered.yaml"
echo "$(grep -c '^kind:' "$work/rendered.yaml") resources valid"

echo "== kubernetes: checkov"
"$venv/bin/checkov" -f "$work/rendered.yaml" --framework kubernetes --skip-download -o json > "$work/checkov.json" 2>"$work/checkov.err" || true
"$venv/bin/python" - "$work/checkov.json" "$here/README.md" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
results, readme = report["results"], open(sys.argv[2]).read()
problems = [f"{c['check_id']} {c['check_name']}: {c['resource']}" for c in results["failed_checks"]]
for c in results["skipped_checks"]:
    if not c["check_result"].get("suppress_comment"):
        problems.append(f"{c['check_id']} skipped in {c['resource']} without a reason")
    if c["check_id"] not in readme:
        problems.append(f"{c['check_id']} skipped in {c['resource']}, not explained in README.md")
summary = report["summary"]
print(f"checkov {summary['checkov_version']}: {summary['passed']} passed, {summary['failed']} failed, "
      f"{summary['skipped']} skipped ({', '.join(sorted({c['check_id'] for c in results['skipped_checks']}))})")
for problem in problems:
    print(f"checkov: {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)
EOF

echo "== kubernetes: the runtime packages hold every library agon links"
python3 "$here/check/packages.py" check "$here/Containerfile" "$agon"

echo "== kubernetes: the runtime image (debootstrap of Debian 12 with exactly those packages)"
packages=$(python3 "$here/check/packages.py" list "$here/Containerfile" | tr '\n' ',' | sed 's/,$//')
image=$repo/.build/k8s-image/$(echo "$packages" | sha256sum | cut -c1-12)
if [ ! -e "$image/.complete" ]; then
    t=$(date +%s)
    rm -rf "$image" "$image.partial"
    mkdir -p "$(dirname "$image")"
    debootstrap --variant=minbase --include="$packages" bookworm "$image.partial" http://deb.debian.org/debian \
        > "$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; echo "debootstrap failed" >&2; exit 1; }
    rm -rf "$image.partial/var/cache/apt/archives/"*.deb
    touch "$image.partial/.complete"
    mv "$image.partial" "$image"
    echo "debootstrap: $(( $(date +%s) - t )) s (cached in $image)"
fi
# The Containerfile's steps after its apt-get: the user, the Swift runtime, agon, the classifier.
chroot "$image" id -u agon >/dev/null 2>&1 \
    || chroot "$image" useradd --system --uid 10001 --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin agon 2>/dev/null
for lib in $(ldd "$agon" | awk '$3 ~ /\/lib\/swift\/linux\// {print $3}'); do
    mkdir -p "$image$(dirname "$lib")"; cp "$lib" "$image$lib"
done
install -D -m 0755 "$agon" "$image/usr/local/bin/agon"
install -D -m 0644 "$repo/models/fashion-mnist-classifier.safetensors" "$image/usr/local/share/agon/models/fashion-mnist-classifier.safetensors"
touch "$image/etc/hosts"     # a container runtime always mounts one over it
chmod 1777 "$image/dev/shm"  # as a container's /dev/shm (a tmpfs)
t=$(date +%s)
unshare --mount --propagation private sh -c "mount -t proc proc '$image/proc' && rm -rf '$image/tmp/smoke' && \
    chroot --userspec=10001:10001 '$image' env XDG_CACHE_HOME=/tmp/cache \
        timeout 120 /usr/local/bin/agon run --workers 2 --steps 20 --quality-every 0 --run-dir /tmp/smoke" \
    > "$work/smoke.log" 2>&1 || { tail -20 "$work/smoke.log" >&2; echo "agon run in the runtime image failed" >&2; exit 1; }
grep -q "checkpoints in /tmp/smoke/checkpoints" "$work/smoke.log" || { tail "$work/smoke.log" >&2; exit 1; }
rm -rf "$image/tmp/smoke"
echo "agon run --steps 20 in a chroot of the image: $(( $(date +%s) - t )) s"

echo "== kubernetes: the manifests' pods, 2 workers over TCP between network namespaces"
render --literal STEPS=40 --literal CHECKPOINT_EVERY=20 --literal SAMPLE_EVERY=20 --literal QUALITY_EVERY=0 > "$work/short.yaml"
mkdir "$work/pods-a"
"$venv/bin/python" "$here/check/pods.py" "$work/short.yaml" --image "$image" --containerfile "$here/Containerfile" \
    --work "$work/pods-a" --tag "$tag"

echo "== kubernetes: the same, and a worker killed with kill -9 comes back and rejoins"
render --literal STEPS=600 --literal CHECKPOINT_EVERY=200 --literal SAMPLE_EVERY=200 --literal QUALITY_EVERY=0 \
    --literal STEP_DEADLINE=2 > "$work/long.yaml"
mkdir "$work/pods-b"
"$venv/bin/python" "$here/check/pods.py" "$work/long.yaml" --image "$image" --containerfile "$here/Containerfile" \
    --work "$work/pods-b" --tag "$tag" --kill-worker 1

echo "== deploy/kubernetes passed in $(( $(date +%s) - started )) s"
