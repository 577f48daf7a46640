# Shared set-up for scripts/test.sh and scripts/demo.sh: Debian packages (apt-get update once,
# only when something is missing) and the Swift build. Sourced, not run.

# The Debian packages Agon builds and runs with.
AGON_PACKAGES=(libdnnl-dev libzmq3-dev libcairo2-dev libsqlite3-dev libopenblas-dev liblapacke-dev zlib1g-dev pkg-config dataset-fashion-mnist)

# Installs each named Debian package that is not installed yet; leading --options go to apt-get
# install (ensure_packages --no-install-recommends slurmd).
ensure_packages() {
    local missing=() options=()
    while [[ ${1:-} == --* ]]; do options+=("$1"); shift; done
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing Debian packages: ${missing[*]}"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${options[@]}" "${missing[@]}" >/dev/null
    fi
}

# Fails with one line when Swift is missing.
ensure_swift() {
    command -v swift >/dev/null || { echo "swift is not on PATH: install Swift 6.x (swift.org) first" >&2; exit 1; }
}
