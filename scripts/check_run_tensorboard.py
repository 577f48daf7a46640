#!/usr/bin/env python3
# Checks a run folder's TensorBoard files (RUN/tensorboard/<source>/, written by the aggregator)
# against its run.db, reading the files with the reference reader: the `tensorboard` package's
# EventAccumulator, keeping every event (size_guidance 0), and run.db with Python's sqlite3.
"""Usage: check_run_tensorboard.py RUN [--workers N] [--steps S] [--samples STEP,STEP,...]

For every event source in RUN/run.db that has scalars or images (each worker, the coordinator),
RUN/tensorboard/<source>/ must be one TensorBoard run holding exactly that source's scalar tags,
each with exactly run.db's points in step order, one per step, the values equal as float32 (the
files hold float32; any NaN matches any NaN), and exactly its image tags with run.db's steps,
sizes and PNG bytes. A worker-* folder with no source in run.db is a difference too; other
folders (such as a cross-worker aggregate) are named and not compared. --workers, --steps and
--samples also require that many worker sources, steps 1..S of every worker tag, and the
coordinator's sample grids at exactly those steps.

Prints one line, `tensorboard check: ...`, and exits 0 when everything matches; otherwise the
line counts the differences and names the first, each difference follows on standard error,
and it exits 1. Needs `pip install tensorboard` (which brings numpy).
"""

import argparse
import os
import sqlite3
import sys

from run_timeline import current_timeline

MAX_REPORTED_PER_SERIES = 5


def float32_bits(value):
    import numpy as np

    with np.errstate(over="ignore", invalid="ignore"):
        return int(np.array([value], dtype=np.float32).view(np.uint32)[0])


def same_float32(actual, expected):
    if actual is None or expected is None or actual != actual or expected != expected:  # NULL in run.db is a NaN
        nan = lambda v: v is None or v != v
        return nan(actual) and nan(expected)
    return float32_bits(actual) == float32_bits(expected)


def read_store(path):
    """{source: {"scalars": {tag: [(step, value)]}, "images": {tag: [(step, width, height, png)]}}}, the
    current timeline only (what a resumed run superseded is what TensorBoard's restart purge drops)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        is_current = current_timeline(db)
        sources = {}
        for worker, incarnation, tag, step, value in db.execute(
                "SELECT worker, incarnation, tag, step, value FROM scalars ORDER BY worker, tag, step, incarnation, seq, position"):
            if is_current(worker, incarnation, step):
                sources.setdefault(worker, {"scalars": {}, "images": {}})["scalars"].setdefault(tag, []).append((step, value))
        for worker, incarnation, tag, step, width, height, png in db.execute(
                "SELECT worker, incarnation, tag, step, width, height, png FROM images ORDER BY worker, tag, step, incarnation, seq"):
            if is_current(worker, incarnation, step):
                sources.setdefault(worker, {"scalars": {}, "images": {}})["images"].setdefault(tag, []).append(
                    (step, width, height, bytes(png)))
        return sources
    finally:
        db.close()


def read_tensorboard(folder):
    """The same shape as read_store's, for one run folder, through EventAccumulator."""
    from tensorboard.backend.event_processing import event_accumulator as ea

    keep_all = {kind: 0 for kind in ea.DEFAULT_SIZE_GUIDANCE}
    accumulator = ea.EventAccumulator(folder, size_guidance=keep_all)
    accumulator.Reload()
    tags = accumulator.Tags()
    return {
        "scalars": {tag: [(event.step, event.value) for event in accumulator.Scalars(tag)] for tag in tags.get(ea.SCALARS, [])},
        "images": {tag: [(event.step, event.width, event.height, event.encoded_image_string) for event in accumulator.Images(tag)]
                   for tag in tags.get(ea.IMAGES, [])},
    }


def compare_points(label, actual, expected, same, show):
    problems = []
    if len(actual) != len(expected):
        problems.append(f"{label}: {len(actual)} points, run.db has {len(expected)}")
    steps = [point[0] for point in actual]
    if any(b <= a for a, b in zip(steps, steps[1:])):
        problems.append(f"{label}: steps are not one per step in increasing order")
    mismatches = [(i, a, e) for i, (a, e) in enumerate(zip(actual, expected)) if not same(a, e)]
    for i, a, e in mismatches[:MAX_REPORTED_PER_SERIES]:
        problems.append(f"{label}: point {i} is {show(a)}, run.db has {show(e)}")
    if len(mismatches) > MAX_REPORTED_PER_SERIES:
        problems.append(f"{label}: {len(mismatches) - MAX_REPORTED_PER_SERIES} more points differ")
    return problems


def show_scalar(point):
    import numpy as np

    value = point[1]
    return f"step {point[0]} = {'NaN' if value is None else str(np.float32(value))}"


def show_image(point):
    return f"step {point[0]} {point[1]}x{point[2]} ({len(point[3])} PNG bytes)"


def compare_source(source, folder, stored):
    problems = []
    if not os.path.isdir(folder):
        return [f"{source}: no folder {folder}"]
    found = read_tensorboard(folder)
    for kind, same, show in (("scalars", lambda a, e: a[0] == e[0] and same_float32(a[1], e[1]), show_scalar),
                             ("images", lambda a, e: a == e, show_image)):
        actual, expected = found[kind], stored[kind]
        for tag in sorted(set(actual) - set(expected)):
            problems.append(f"{source}: {kind} tag {tag!r} is not in run.db")
        for tag in sorted(set(expected) - set(actual)):
            problems.append(f"{source}: {kind} tag {tag!r} of run.db is missing")
        for tag in sorted(set(actual) & set(expected)):
            problems += compare_points(f"{source} {tag!r}", actual[tag], expected[tag], same, show)
    return problems


def main(argv):
    parser = argparse.ArgumentParser(description="Compare RUN/tensorboard/ with RUN/run.db.")
    parser.add_argument("run")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--samples", help="comma-separated steps of the coordinator's sample grids")
    args = parser.parse_args(argv[1:])

    db_path, logdir = os.path.join(args.run, "run.db"), os.path.join(args.run, "tensorboard")
    try:
        import tensorboard.backend.event_processing.event_accumulator  # noqa: F401
    except ImportError as error:
        print(f"tensorboard check: {error}; run `pip install tensorboard`")
        return 1
    if not os.path.isfile(db_path) or not os.path.isdir(logdir):
        print(f"tensorboard check: {args.run} has no run.db or no tensorboard/ folder")
        return 1

    store = read_store(db_path)
    folders = sorted(name for name in os.listdir(logdir) if os.path.isdir(os.path.join(logdir, name)))
    workers = sorted(source for source in store if source.startswith("worker-"))
    problems = []
    for name in folders:
        if name.startswith("worker-") and name not in store:
            problems.append(f"folder {name} has no events in run.db")
    for source in sorted(store):
        problems += compare_source(source, os.path.join(logdir, source), store[source])

    if args.workers is not None and len(workers) != args.workers:
        problems.append(f"{len(workers)} worker sources in run.db, expected {args.workers}")
    if args.steps is not None:
        for worker in workers:
            for tag, points in sorted(store[worker]["scalars"].items()):
                if [step for step, _ in points] != list(range(1, args.steps + 1)):
                    problems.append(f"{worker} {tag!r}: run.db has {len(points)} points, expected steps 1..{args.steps}")
    images = [step for step, *_ in store.get("coordinator", {}).get("images", {}).get("samples", [])]
    if args.samples is not None:
        expected = [int(step) for step in args.samples.split(",") if step]
        if images != expected:
            problems.append(f"coordinator sample grids at steps {images}, expected {expected}")

    if problems:
        print(f"tensorboard check: {args.run}: {len(problems)} difference(s) between tensorboard/ and run.db; first: {problems[0]}")
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    values = sum(len(points) for worker in workers for points in store[worker]["scalars"].values())
    tags = sorted({tag for worker in workers for tag in store[worker]["scalars"]})
    others = [name for name in folders if name not in store]
    print(f"tensorboard check: {len(workers)} worker runs ({len(tags)} tags, {values} values) and "
          f"{len(images)} coordinator sample grids match run.db"
          + (f"; not compared: {', '.join(others)}" if others else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
