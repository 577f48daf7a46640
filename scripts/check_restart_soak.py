#!/usr/bin/env python3
"""Restart soak: one `agon run`, interrupted again and again, then checked against a run never interrupted.

Usage: check_restart_soak.py AGON WORKDIR [--steps N] [--interruptions K] [--seed S] [--with-worker-kills]

Runs `agon run --workers 2 --steps N ...` in WORKDIR/soak and interrupts it K times at random
moments, in turn by: Ctrl-C of `agon run` (SIGINT to its process group, as a terminal sends it),
kill -9 of the coordinator, kill -9 of the aggregator (then Ctrl-C), SIGTERM of every process (as
Slurm and Kubernetes stop a job) and, with --with-worker-kills, kill -9 of one worker (then Ctrl-C);
each followed by the same command again, until a last run completes. The schedule's random seed is
printed (pass --seed to replay it).

Then it checks, reading run.db with Python's sqlite3 and its own implementation of the timeline
rule (docs/RUNSTORE.md: a value of generation g at step s is current unless a later generation
resumed before s):
- without worker kills: the final checkpoint equals, tensor for tensor and byte for byte, that of
  the same command run once without interruption (WORKDIR/reference);
- with worker kills: every step was applied once (the coordinator's `contributors` and `ranks`
  of each step are stored once) and every step was trained by some worker;
- each worker's current timeline holds exactly one value per (tag, step), for every step 1..N
  (without worker kills), and never two (with them);
- every sample grid in samples/ on disk is in run.db's current timeline, with the same bytes;
- no process of the run, no listening port of its last start and no /dev/shm/agon-* segment of
  its processes is left.
Prints one line per run and a last line `restart soak: ... passed` or the problems; exits 0 only if
every check passed.
"""

import argparse
import json
import os
import random
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import time

from run_timeline import current_timeline


def agon_processes(run_dir):
    """PIDs of processes whose command line names `run_dir` (agon run and its children)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                words = handle.read().split(b"\0")
        except OSError:
            continue
        if any(w == run_dir.encode() or w == (run_dir + "/spool").encode() for w in words):
            pids.append((int(entry), b" ".join(words[:2]).decode(errors="replace")))
    return pids


def role_pid(run_dir, role):
    """The pid of the run's coordinator or aggregator, from the file it writes when it listens."""
    try:
        with open(os.path.join(run_dir, f"{role}.json"), encoding="utf-8") as handle:
            return json.load(handle)["pid"]
    except (OSError, ValueError, KeyError):
        return None


def worker_pids(run_dir):
    return [pid for pid, words in agon_processes(run_dir) if words.endswith(" worker")]


class Run:
    """One `agon run` in its own process group, its output in a log file."""

    def __init__(self, agon, run_dir, arguments, log_path):
        self.run_dir = run_dir
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.offset = self.log.tell()   # this run's lines start here
        self.started = time.monotonic()
        # A crash prints every frame of the crashed thread it can, so that a failure here says
        # where it came from.
        environment = dict(os.environ, SWIFT_BACKTRACE="enable=yes,preset=full,threads=crashed,interactive=no")
        self.process = subprocess.Popen([agon, "run", "--run-dir", run_dir] + arguments, stdin=subprocess.DEVNULL,
                                        stdout=self.log, stderr=self.log, start_new_session=True, env=environment)

    def wait_for_training(self, timeout=90):
        """Waits until the coordinator listens and the first step is done (a checkpoint or log line)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if "coordinator: starting at step" in self.own_log() and role_pid(self.run_dir, "coordinator"):
                return True
            time.sleep(0.05)
        raise RuntimeError(f"{self.run_dir}: training did not start within {timeout} s")

    def own_log(self):
        self.log.flush()
        with open(self.log_path, "rb") as handle:
            handle.seek(self.offset)
            return handle.read().decode(errors="replace")

    def tail(self, count=1500):
        self.log.flush()
        with open(self.log_path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - count))
            return handle.read().decode(errors="replace")

    def signal_group(self, number):
        try:
            os.killpg(self.process.pid, number)
        except ProcessLookupError:
            pass

    def wait(self, timeout):
        """The exit status, or None (and every process of the group killed) after `timeout` s."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal_group(signal.SIGKILL)
            for pid, _ in agon_processes(self.run_dir):
                os.kill(pid, signal.SIGKILL)
            self.process.wait()
            return None


def kill9(pid):
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def interrupt(run, kind, rng):
    """Interrupts `run` by `kind`; returns the problems seen (a stop that did not end)."""
    if kind == "ctrl-c":
        run.signal_group(signal.SIGINT)
    elif kind == "sigterm-all":
        run.signal_group(signal.SIGTERM)
    elif kind == "kill-coordinator":
        kill9(role_pid(run.run_dir, "coordinator"))
    elif kind == "kill-aggregator":
        kill9(role_pid(run.run_dir, "aggregator"))
        time.sleep(rng.uniform(0.5, 2.0))   # the run goes on without it, then is stopped
        run.signal_group(signal.SIGINT)
    elif kind == "kill-worker":
        workers = worker_pids(run.run_dir)
        kill9(rng.choice(workers) if workers else None)
        time.sleep(rng.uniform(2.0, 3.0))   # dropped after the step deadline; one worker trains on
        run.signal_group(signal.SIGINT)
    status = run.wait(60)
    return [] if status is not None else [f"{kind}: agon run did not exit within 60 s; killed"]


def read_safetensors(path):
    """{name: (dtype, shape, bytes)} and the metadata of a safetensors file."""
    with open(path, "rb") as handle:
        data = handle.read()
    (length,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + length])
    base = 8 + length
    metadata = header.pop("__metadata__", {})
    tensors = {name: (t["dtype"], tuple(t["shape"]), data[base + t["data_offsets"][0]:base + t["data_offsets"][1]])
               for name, t in header.items()}
    return tensors, metadata


def compare_checkpoints(expected_path, actual_path):
    expected, expected_meta = read_safetensors(expected_path)
    actual, actual_meta = read_safetensors(actual_path)
    problems = []
    if set(expected) != set(actual):
        problems.append(f"tensors differ: only in the reference {sorted(set(expected) - set(actual))[:5]}, "
                        f"only in the soak {sorted(set(actual) - set(expected))[:5]}")
    for name in sorted(set(expected) & set(actual)):
        if expected[name] != actual[name]:
            problems.append(f"tensor {name} differs from the uninterrupted run's")
    for key in sorted(set(expected_meta) | set(actual_meta)):
        if expected_meta.get(key) != actual_meta.get(key):
            problems.append(f"checkpoint metadata {key}: {expected_meta.get(key)!r} uninterrupted, {actual_meta.get(key)!r} soaked")
    return problems, len(expected)


def check_store(run_dir, steps, worker_kills):
    problems = []
    db = sqlite3.connect(f"file:{os.path.join(run_dir, 'run.db')}?mode=ro", uri=True)
    try:
        is_current = current_timeline(db)
        if not any(column == "incarnation" for (_, column, *_) in db.execute("PRAGMA table_info(scalars)")):
            # Schema 1 (before restarts were told apart): every value is incarnation 0.
            scalars, images = "(SELECT *, 0 AS incarnation FROM scalars)", "(SELECT *, 0 AS incarnation FROM images)"
        else:
            scalars, images = "scalars", "images"
        values = {}
        for worker, incarnation, tag, step in db.execute(f"SELECT worker, incarnation, tag, step FROM {scalars}"):
            if is_current(worker, incarnation, step):
                values.setdefault((worker, tag), []).append(step)
        everything = set(range(1, steps + 1))
        workers = sorted({w for w, _ in values if w.startswith("worker-")})
        if not worker_kills and workers != ["worker-0", "worker-1"]:
            problems.append(f"workers in run.db: {workers}, expected worker-0 and worker-1")
        trained = set()
        for (worker, tag), stored in sorted(values.items()):
            doubled = len(stored) - len(set(stored))
            if doubled:
                problems.append(f"{worker} {tag}: {doubled} step(s) hold two values on the current timeline")
            if worker.startswith("worker-") and tag == "g_loss":
                trained |= set(stored)
            if worker == "coordinator" or not worker_kills:
                missing = everything - set(stored)
                if missing and worker.startswith("worker-") or tag in ("contributors", "ranks"):
                    if missing:
                        problems.append(f"{worker} {tag}: no value at {len(missing)} step(s), e.g. {sorted(missing)[:5]}")
        if ("coordinator", "ranks") not in values:
            problems.append("the coordinator recorded no ranks")
        if everything - trained:
            problems.append(f"{len(everything - trained)} step(s) trained by no worker, e.g. {sorted(everything - trained)[:5]}")
        if not worker_kills:
            fewer = [s for (w, i, s, v) in db.execute(f"SELECT worker, incarnation, step, value FROM {scalars} WHERE tag = 'contributors'")
                     if is_current(w, i, s) and v != 2]
            if fewer:
                problems.append(f"{len(fewer)} step(s) averaged fewer than 2 workers, e.g. {sorted(fewer)[:5]}")
        # Every grid on disk is in the store's current timeline, byte for byte.
        grids = {}
        for worker, incarnation, step, png in db.execute(f"SELECT worker, incarnation, step, png FROM {images} WHERE tag = 'samples'"):
            if is_current(worker, incarnation, step):
                if step in grids:
                    problems.append(f"the sample grid of step {step} is twice on the current timeline")
                grids[step] = bytes(png)
        on_disk = sorted(f for f in os.listdir(os.path.join(run_dir, "samples")) if f.startswith("step-"))
        for name in on_disk:
            step = int(name[5:13])
            with open(os.path.join(run_dir, "samples", name), "rb") as handle:
                png = handle.read()
            if step not in grids:
                problems.append(f"samples/{name} is not in run.db")
            elif grids[step] != png:
                problems.append(f"samples/{name} differs from the grid of step {step} in run.db")
        # What kill -9 of a worker cost: steps a rank contributed to (the coordinator's mask) whose
        # metrics that worker never delivered. Workers are named by their first rank, so this
        # counts right while ranks do not move (no re-sharding between the kill and the step).
        lost = 0
        if worker_kills:
            masks = {s: int(v) for w, i, s, v in db.execute(f"SELECT worker, incarnation, step, value FROM {scalars} WHERE tag = 'ranks'")
                     if w == "coordinator" and is_current(w, i, s)}
            have = {(w, s) for (w, tag), stored in values.items() if tag == "g_loss" for s in stored}
            lost = sum(1 for s, mask in masks.items() for r in range(52) if mask >> r & 1 and (f"worker-{r}", s) not in have)
        generations = db.execute("SELECT count(*) FROM generations").fetchone()[0] if scalars == "scalars" else 0
        superseded = sum(1 for w, i, s in db.execute(f"SELECT worker, incarnation, step FROM {scalars} WHERE tag = 'g_loss'")
                         if not is_current(w, i, s))
    finally:
        db.close()
    return problems, len(on_disk), generations, superseded, lost


def leftovers(run_dir, pids):
    problems = [f"process {pid} ({words}) is still running" for pid, words in agon_processes(run_dir)]
    for role in ("coordinator", "aggregator"):
        try:
            with open(os.path.join(run_dir, f"{role}.json"), encoding="utf-8") as handle:
                endpoint = json.load(handle)["endpoint"]
        except (OSError, ValueError, KeyError):
            continue
        host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
        with socket.socket() as probe:
            probe.settimeout(1)
            if probe.connect_ex((host, int(port))) == 0:
                problems.append(f"the {role}'s port {endpoint} still accepts connections")
    # Segments are named agon-ROLE-PID-TOKEN: those of this run's processes must be gone.
    left = [n for n in os.listdir("/dev/shm") if n.startswith("agon-") and n.count("-") == 3 and n.split("-")[2].isdigit()
            and int(n.split("-")[2]) in pids]
    problems += [f"/dev/shm/{name} was left behind" for name in sorted(left)]
    return problems


def main():
    parser = argparse.ArgumentParser(description="Interrupt one agon run again and again, then check it lost and doubled nothing.")
    parser.add_argument("agon")
    parser.add_argument("workdir")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--interruptions", type=int, default=8)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--with-worker-kills", action="store_true")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    rng = random.Random(seed)
    kinds = ["ctrl-c", "kill-coordinator", "kill-aggregator", "sigterm-all"] + (["kill-worker"] if args.with_worker_kills else [])
    schedule = []
    while len(schedule) < args.interruptions:
        turn = kinds[:]
        rng.shuffle(turn)
        schedule += turn
    schedule = schedule[:args.interruptions]
    print(f"restart soak: seed {seed}; schedule {', '.join(schedule)}", flush=True)

    os.makedirs(args.workdir, exist_ok=True)
    arguments = ["--workers", "2", "--steps", str(args.steps), "--batch", "32", "--quality-every", "0",
                 "--checkpoint-every", "250", "--sample-every", "250", "--step-deadline", "2"]
    pids = set()   # every process of the soaked run seen, for the /dev/shm check
    problems = []

    soak = os.path.join(args.workdir, "soak")
    log = os.path.join(args.workdir, "soak.log")
    for number, kind in enumerate(schedule, 1):
        run = Run(args.agon, soak, arguments, log)
        if not run.wait_for_training():
            problems.append(f"run {number} ended before training: {run.tail(600)}")
            continue
        pids |= {pid for pid, _ in agon_processes(soak)}
        time.sleep(rng.uniform(0.3, 1.5))   # a few hundred steps: the run is far from done when interrupted
        if run.process.poll() is not None:
            print(f"restart soak: run {number} completed before its {kind}", flush=True)
            continue
        problems += interrupt(run, kind, rng)
        print(f"restart soak: run {number} interrupted by {kind} after {time.monotonic() - run.started:.1f} s, "
              f"exit {run.process.returncode}", flush=True)
    final = Run(args.agon, soak, arguments, log)
    if final.wait_for_training():
        pids |= {pid for pid, _ in agon_processes(soak)}
    status = final.wait(600)
    print(f"restart soak: the last run exited {status} after {time.monotonic() - final.started:.1f} s", flush=True)
    if status != 0:
        problems.append(f"the last run exited {status}: {final.tail(800)}")

    checkpoint = os.path.join(soak, "checkpoints", f"step-{args.steps:08d}.safetensors")
    tensors = 0
    if not args.with_worker_kills:
        reference = os.path.join(args.workdir, "reference")
        started = time.monotonic()
        status = Run(args.agon, reference, arguments, os.path.join(args.workdir, "reference.log")).wait(600)
        print(f"restart soak: the uninterrupted run exited {status} after {time.monotonic() - started:.1f} s", flush=True)
        expected = os.path.join(reference, "checkpoints", f"step-{args.steps:08d}.safetensors")
        if not os.path.exists(expected) or not os.path.exists(checkpoint):
            problems.append(f"no final checkpoint to compare: {expected} {os.path.exists(expected)}, {checkpoint} {os.path.exists(checkpoint)}")
        else:
            found, tensors = compare_checkpoints(expected, checkpoint)
            problems += found
    with open(log, "rb") as handle:
        crashes = handle.read().decode(errors="replace").count("*** Program crashed")
    if crashes:
        problems.append(f"{crashes} process(es) crashed during the soak; backtraces in {log}")
    found, grids, generations, superseded, lost = check_store(soak, args.steps, args.with_worker_kills)
    problems += found
    problems += leftovers(soak, pids)

    if problems:
        for problem in problems[:30]:
            print(f"restart soak: {problem}")
        print(f"restart soak (seed {seed}): {len(problems)} problem(s); logs in {args.workdir}")
        return 1
    what = (f"final checkpoint equal to the uninterrupted run's in all {tensors} tensors" if tensors
            else f"every step applied once ({lost} worker step(s) applied but their metrics lost to kill -9)")
    print(f"restart soak (seed {seed}): {len(schedule)} interruptions, {generations} generations, {what}; one value per worker, "
          f"tag and step on the current timeline ({superseded} superseded g_loss values kept); {grids} sample grids on disk all in "
          "run.db; nothing left running: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
