#!/usr/bin/env python3
# Checks a log folder of TensorBoard event files written by Agon with the reference reader (the
# `tensorboard` package from PyPI) against the expected runs, scalar series and image steps.
"""Usage: check_tensorboard.py LOGDIR EXPECT.json

EXPECT.json is {"runs": {run: {"scalars": {tag: [[step, value], ...]}, "images": {tag: [step, ...]}}}},
a run being a folder's path under LOGDIR ("." for LOGDIR itself). LOGDIR must hold exactly those
runs and tags, each with exactly those points in that order; values are compared as float32 bit
patterns (any NaN matches any NaN). Every record must also be whole with valid CRCs, each file must
start with file_version "brain.Event:2", scalars must be float32 simple_value (TensorBoard's Rust
loader drops double tensors), and a run folder must hold the files of one writer only.
Prints `tensorboard check: N runs, M scalars, K images match` (M and K count points) and exits 0,
or prints each difference and exits 1. Needs `pip install tensorboard`.
"""

import json
import os
import struct
import sys

# Differences reported per tag before the rest are only counted.
MAX_REPORTED_PER_TAG = 5
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def float32_bits(value):
    import numpy as np

    with np.errstate(over="ignore"):
        return int(np.array([value], dtype=np.float32).view(np.uint32)[0])


def same_float32(actual, expected):
    if actual != actual or expected != expected:  # NaN
        return actual != actual and expected != expected
    return float32_bits(actual) == float32_bits(expected)


def event_files(logdir):
    """{run: [file paths in name order]} for every file whose name contains "tfevents"."""
    runs = {}
    for folder, _, names in os.walk(logdir):
        files = sorted(name for name in names if "tfevents" in name)
        if files:
            run = os.path.relpath(folder, logdir)
            runs[run] = [os.path.join(folder, name) for name in files]
    return runs


def check_records(path):
    """Problems with the framing and the events of one file, read strictly: no torn tail either."""
    from tensorboard.compat.proto import event_pb2
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

    problems = []
    with open(path, "rb") as handle:
        data = handle.read()
    offset, index = 0, 0
    while offset < len(data):
        where = f"{path}: record {index} at byte {offset}"
        if len(data) - offset < 16:
            problems.append(f"{where}: {len(data) - offset} trailing bytes, a torn record")
            break
        header = data[offset:offset + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[offset + 8:offset + 12])
        if length_crc != masked_crc32c(header):
            problems.append(f"{where}: length CRC {length_crc:#010x}, expected {masked_crc32c(header):#010x}")
            break
        if length > len(data) - offset - 16:
            problems.append(f"{where}: {length} bytes of data run past the end of the file")
            break
        body = data[offset + 12:offset + 12 + length]
        (body_crc,) = struct.unpack("<I", data[offset + 12 + length:offset + 16 + length])
        if body_crc != masked_crc32c(body):
            problems.append(f"{where}: data CRC {body_crc:#010x}, expected {masked_crc32c(body):#010x}")
            break
        try:
            event = event_pb2.Event.FromString(body)
        except Exception as error:  # the protobuf library rejected the bytes: that is the finding
            problems.append(f"{where}: not an Event: {type(error).__name__}: {error}")
            break
        if index == 0 and event.file_version != "brain.Event:2":
            problems.append(f"{where}: first record has file_version {event.file_version!r}, expected 'brain.Event:2'")
        for value in event.summary.value:
            kind = value.WhichOneof("value")
            if kind not in ("simple_value", "image"):
                problems.append(f"{where}: tag {value.tag!r} is a {kind}, expected simple_value or image")
            elif kind == "image" and not value.image.encoded_image_string.startswith(PNG_SIGNATURE):
                problems.append(f"{where}: image {value.tag!r} is not PNG")
        offset += 16 + length
        index += 1
    return problems


def writers(files):
    """The distinct host.pid pairs in event file names: events.out.tfevents.<time>.<host>.<pid>.<n>."""
    found = set()
    for path in files:
        parts = os.path.basename(path).split(".")
        found.add(".".join(parts[4:-1]) if len(parts) >= 7 else os.path.basename(path))
    return found


def show_point(point):
    """A (step, value) point with the value as its float32 prints, or a bare step."""
    import numpy as np

    if isinstance(point, tuple):
        return f"step {point[0]} = {str(np.float32(point[1]))}"
    return f"step {point}"


def compare_series(label, actual, expected, same):
    """Differences between two lists of points, at most MAX_REPORTED_PER_TAG of them spelled out."""
    problems = []
    if len(actual) != len(expected):
        problems.append(f"{label}: {len(actual)} points, expected {len(expected)}")
    mismatches = [(i, a, e) for i, (a, e) in enumerate(zip(actual, expected)) if not same(a, e)]
    for i, a, e in mismatches[:MAX_REPORTED_PER_TAG]:
        problems.append(f"{label}: point {i} is {show_point(a)}, expected {show_point(e)}")
    if len(mismatches) > MAX_REPORTED_PER_TAG:
        problems.append(f"{label}: {len(mismatches) - MAX_REPORTED_PER_TAG} more points differ")
    return problems


def compare(logdir, expect):
    from tensorboard.backend.event_processing import event_accumulator, event_multiplexer

    problems = []
    files = event_files(logdir)
    for run in sorted(files):
        for path in files[run]:
            problems += check_records(path)
        found = writers(files[run])
        if len(found) > 1:
            problems.append(f"run {run!r}: files of {len(found)} writers ({', '.join(sorted(found))}); "
                            "TensorBoard keeps one value per step: give each writer its own folder")

    keep_all = {key: 0 for key in event_accumulator.DEFAULT_SIZE_GUIDANCE}
    multiplexer = event_multiplexer.EventMultiplexer(size_guidance=keep_all)
    multiplexer.AddRunsFromDirectory(logdir)
    multiplexer.Reload()
    loaded = multiplexer.Runs()

    expected_runs = expect.get("runs", {})
    for run in sorted(set(loaded) - set(expected_runs)):
        problems.append(f"unexpected run {run!r}")
    for run in sorted(set(expected_runs) - set(loaded)):
        problems.append(f"missing run {run!r}")

    scalar_count = image_count = 0
    for run in sorted(set(loaded) & set(expected_runs)):
        tags, want = loaded[run], expected_runs[run]
        for kind, tag_key, accessor in (("scalar", event_accumulator.SCALARS, multiplexer.Scalars),
                                        ("image", event_accumulator.IMAGES, multiplexer.Images)):
            actual_tags = set(tags.get(tag_key, []))
            wanted = want.get(kind + "s", {})
            for tag in sorted(actual_tags - set(wanted)):
                problems.append(f"run {run!r}: unexpected {kind} tag {tag!r}")
            for tag in sorted(set(wanted) - actual_tags):
                problems.append(f"run {run!r}: missing {kind} tag {tag!r}")
            for tag in sorted(actual_tags & set(wanted)):
                label = f"run {run!r} {kind} {tag!r}"
                events = accessor(run, tag)
                if kind == "scalar":
                    actual = [(event.step, event.value) for event in events]
                    expected = [(int(step), float(value)) for step, value in wanted[tag]]
                    problems += compare_series(label, actual, expected,
                                               lambda a, e: a[0] == e[0] and same_float32(a[1], e[1]))
                    scalar_count += len(actual)
                else:
                    actual = [event.step for event in events]
                    problems += compare_series(label, actual, [int(step) for step in wanted[tag]],
                                               lambda a, e: a == e)
                    image_count += len(actual)
    return (len(loaded), scalar_count, image_count), problems


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    logdir, expect_path = argv[1], argv[2]
    try:
        with open(expect_path, encoding="utf-8") as handle:
            expect = json.load(handle)
    except (OSError, ValueError) as error:
        print(f"tensorboard check: cannot read {expect_path}: {error}")
        return 1
    if not os.path.isdir(logdir):
        print(f"tensorboard check: {logdir} is not a folder")
        return 1
    try:
        (runs, scalars, images), problems = compare(logdir, expect)
    except ImportError as error:
        print(f"tensorboard check: {error}; run `pip install tensorboard`")
        return 1
    if problems:
        for problem in problems:
            print(f"tensorboard check: {logdir}: {problem}")
        return 1
    print(f"tensorboard check: {runs} runs, {scalars} scalars, {images} images match")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
