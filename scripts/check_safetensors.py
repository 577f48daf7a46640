#!/usr/bin/env python3
# Checks a .safetensors file written by Agon with the reference reader (the `safetensors`
# package from PyPI) against the expected shapes, sums, first values and metadata.
"""Usage: check_safetensors.py FILE.safetensors EXPECT.json

EXPECT.json is {"tensors": {name: {"shape": [...], "sum": float, "first": [<= 8 floats]}},
"metadata": {key: value}}. The file must hold exactly those tensors and that metadata.
Prints `safetensors check: N tensors match` and exits 0, or prints each difference and exits 1.
Needs `pip install safetensors numpy`.
"""

import json
import math
import sys

# float32 sums depend on summation order; compare with a tolerance scaled by the magnitudes.
RELATIVE_TOLERANCE = 1e-5


def close(actual, expected, scale):
    if math.isnan(expected) or math.isnan(actual):
        return math.isnan(expected) and math.isnan(actual)
    if math.isinf(expected) or math.isinf(actual):
        return actual == expected
    return abs(actual - expected) <= RELATIVE_TOLERANCE * max(1.0, abs(expected), scale)


def compare(path, expect):
    from safetensors import safe_open
    from safetensors.numpy import load_file
    import numpy as np

    problems = []
    tensors = load_file(path)
    with safe_open(path, framework="numpy") as handle:
        metadata = handle.metadata() or {}

    expected_metadata = expect.get("metadata", {})
    if metadata != expected_metadata:
        problems.append(f"metadata is {json.dumps(metadata, sort_keys=True)}, "
                        f"expected {json.dumps(expected_metadata, sort_keys=True)}")

    expected_tensors = expect.get("tensors", {})
    for name in sorted(set(tensors) - set(expected_tensors)):
        problems.append(f"unexpected tensor {name!r}")
    for name in sorted(set(expected_tensors) - set(tensors)):
        problems.append(f"missing tensor {name!r}")

    for name in sorted(set(tensors) & set(expected_tensors)):
        array, want = tensors[name], expected_tensors[name]
        if array.dtype != np.float32:
            problems.append(f"{name}: dtype {array.dtype}, expected float32")
            continue
        if list(array.shape) != list(want["shape"]):
            problems.append(f"{name}: shape {list(array.shape)}, expected {want['shape']}")
            continue
        flat = array.reshape(-1).astype(np.float64)
        if "sum" in want:
            total = float(flat.sum())
            scale = float(np.abs(flat).sum()) if flat.size else 0.0
            if not close(total, float(want["sum"]), scale):
                problems.append(f"{name}: sum {total!r}, expected {want['sum']!r}")
        first = [float(v) for v in flat[:len(want.get("first", []))]]
        for index, (got, expected) in enumerate(zip(first, want.get("first", []))):
            if not close(got, float(expected), 0.0):
                problems.append(f"{name}: element {index} is {got!r}, expected {expected!r}")
                break
        if len(first) < len(want.get("first", [])):
            problems.append(f"{name}: {flat.size} elements, fewer than the {len(want['first'])} expected first values")
    return len(tensors), problems


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path, expect_path = argv[1], argv[2]
    try:
        with open(expect_path, encoding="utf-8") as handle:
            expect = json.load(handle)
    except (OSError, ValueError) as error:
        print(f"safetensors check: cannot read {expect_path}: {error}")
        return 1
    try:
        count, problems = compare(path, expect)
    except ImportError as error:
        print(f"safetensors check: {error}; run `pip install safetensors numpy`")
        return 1
    except Exception as error:  # the reference reader rejected the file: that is the finding
        print(f"safetensors check: the safetensors package cannot load {path}: {type(error).__name__}: {error}")
        return 1
    if problems:
        for problem in problems:
            print(f"safetensors check: {path}: {problem}")
        return 1
    print(f"safetensors check: {count} tensors match")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
