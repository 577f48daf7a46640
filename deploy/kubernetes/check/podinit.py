#!/usr/bin/env python3
"""The container runtime's last step for one container of pods.py, run as root inside the pod's
network, mount and UTS namespaces: it mounts the image's root (read-only when the manifest asks),
the pod's volumes and its /etc/hosts, takes the pod's host name, drops to the manifest's user and
groups with no new privileges, and execs the container's command. Not emulated: seccomp, cgroups.

    podinit.py SPEC.json
"""
import ctypes
import json
import os
import socket
import subprocess
import sys

PR_SET_NO_NEW_PRIVS = 38


def mount(*arguments):
    subprocess.run(["mount", *arguments], check=True)


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    root = spec["mountPoint"]
    mount("--bind", spec["image"], root)
    mount("-t", "proc", "proc", os.path.join(root, "proc"))
    # The kubelet writes the pod's /etc/hosts; here it is the one `ip netns exec` mounted.
    mount("--bind", "/etc/hosts", os.path.join(root, "etc/hosts"))
    if spec["readOnlyRootFilesystem"]:
        mount("-o", "remount,bind,ro", root)
    for volume in spec["mounts"]:
        target = os.path.join(root, volume["mountPath"].lstrip("/"))
        mount("--bind", volume["source"], target)
        if volume["readOnly"]:
            mount("-o", "remount,bind,ro", target)
    socket.sethostname(spec["hostname"])
    os.chroot(root)
    os.chdir(spec["workingDir"])
    os.setgroups(spec["groups"])
    os.setgid(spec["gid"])
    os.setuid(spec["uid"])   # a non-zero uid drops every capability
    if spec["noNewPrivileges"] and ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        sys.exit("podinit: prctl(PR_SET_NO_NEW_PRIVS) failed")
    argv, env = spec["argv"], spec["env"]
    program = argv[0]
    if "/" not in program:
        for folder in env.get("PATH", "").split(":"):
            if os.access(os.path.join(folder, program), os.X_OK):
                program = os.path.join(folder, program)
                break
        else:
            sys.exit(f"podinit: {argv[0]}: not found on the image's PATH {env.get('PATH')}")
    os.execve(program, argv, env)


if __name__ == "__main__":
    main()
