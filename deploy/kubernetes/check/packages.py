#!/usr/bin/env python3
"""The Containerfile's runtime packages against what the agon binary links.

    packages.py list CONTAINERFILE          the runtime package list, one a line
    packages.py check CONTAINERFILE AGON    every library ldd shows for AGON comes from a listed
                                            package (or what the listed ones depend on), or is a
                                            Swift runtime library the Containerfile copies from
                                            its build stage; every library AGON names itself
                                            (DT_NEEDED) comes from a listed package or libc6
"""
import re
import subprocess
import sys

# What debian:12-slim holds before the list is installed, and is never listed.
BASE = {"libc6"}


def runtime_packages(containerfile):
    text = open(containerfile).read()
    match = re.search(r"# runtime packages[^\n]*\nRUN (.*?)\n# end of runtime packages", text, re.S)
    if not match:
        sys.exit(f"{containerfile}: no '# runtime packages' … '# end of runtime packages' block")
    command = match.group(1).replace("\\\n", " ")
    install = command.split("--no-install-recommends", 1)[1].split("&&", 1)[0]
    return install.split()


def package_of(path):
    """The Debian package that owns a library file, following the alternatives' links."""
    for candidate in (subprocess.run(["readlink", "-f", path], capture_output=True, text=True).stdout.strip(), path):
        result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if result.returncode == 0:
            return result.stdout.split(":")[0]
    return None


def closure(packages):
    """The packages and everything they depend on, as apt would install them (no recommends)."""
    result = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                             "--no-breaks", "--no-replaces", "--no-enhances", *packages],
                            capture_output=True, text=True, check=True)
    names = set()
    for line in result.stdout.splitlines():
        line = line.strip().lstrip("|")
        name = line.split(":", 1)[1].strip() if ":" in line else line
        names.add(name.split(":")[0].strip("<>"))
    return names


def check(containerfile, agon):
    listed = runtime_packages(containerfile)
    reachable = closure(listed) | BASE
    ldd = subprocess.run(["ldd", agon], capture_output=True, text=True, check=True).stdout
    needed = set(re.findall(r"NEEDED\)\s+Shared library: \[(.+?)\]",
                            subprocess.run(["readelf", "-d", agon], capture_output=True, text=True, check=True).stdout))
    problems, rows = [], []
    for name, path in re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M):
        if path == "not":
            problems.append(f"{name}: not found by ldd")
            continue
        if "/lib/swift/linux/" in path:
            rows.append((name, "Swift runtime, copied from the build stage"))
            continue
        package = package_of(path)
        rows.append((name, package or "?"))
        if package is None:
            problems.append(f"{name} ({path}): no Debian package owns it")
        elif name in needed and package not in listed and package not in BASE:
            problems.append(f"{name}: agon links it directly, and its package {package} is not on the Containerfile's list")
        elif package not in reachable:
            problems.append(f"{name}: its package {package} is neither on the Containerfile's list nor a dependency of one on it")
    for name, package in rows:
        print(f"  {name:36} {package}{'  (direct)' if name in needed else ''}")
    for problem in problems:
        print(f"packages.py: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "list":
        print("\n".join(runtime_packages(sys.argv[2])))
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
