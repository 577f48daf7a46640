#!/usr/bin/env python3
# Streams a tiny numpy training loop's metrics to an Agon aggregator through the Python client
# (clients/python/agon_client.py), the way a TensorFlow or PyTorch loop would.
"""Usage: check_python_client.py ENDPOINT [--steps N] [--first-step K] [--source NAME] [--seed S] [--record FILE] [--run-db RUN/run.db]

Trains a one-dimensional GAN in numpy (G: x = a z + b; D: logistic regression on x and x^2;
real data N(3, 0.5^2)) for N steps (default 200) and sends g_loss, d_loss and acc_real of every
step, numbered K..K+N-1 (K default 1), as source NAME (default numpy-loop), then closes the client.

Exits 0 only if close() says the aggregator acknowledged (so stored) every event. --record
writes what was sent, one `step<TAB>tag<TAB>repr(value)` line per value; --run-db then also
reads run.db (Python's sqlite3) and requires exactly those N x 3 values, bit for bit, under NAME
and this client's incarnation (an earlier process with the same NAME is another incarnation).
Prints one line `python client: ...`. Needs pyzmq and numpy.
"""

import argparse
import os
import sqlite3
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "python"))


def train(steps, seed):
    """Yields (step, {tag: float}) for steps 1..steps of a tiny GAN, simultaneous updates."""
    import numpy as np

    rng = np.random.default_rng(seed)
    a, b = 1.0, 0.0                      # G
    w1, w2, c = 0.0, 0.0, 0.0            # D
    lr, n = 0.02, 64
    sigmoid = lambda v: 1.0 / (1.0 + np.exp(-v))
    for step in range(1, steps + 1):
        real = rng.normal(3.0, 0.5, n)
        z = rng.normal(0.0, 1.0, n)
        fake = a * z + b
        logit_real = w1 * real + w2 * real**2 + c
        logit_fake = w1 * fake + w2 * fake**2 + c
        # log(1 + e^x) without overflow: -log D(x) and -log(1 - D(x)).
        d_loss = np.mean(np.logaddexp(0, -logit_real)) + np.mean(np.logaddexp(0, logit_fake))
        g_loss = np.mean(np.logaddexp(0, -logit_fake))   # non-saturating
        acc_real = np.mean(logit_real > 0)

        d_real = (sigmoid(logit_real) - 1) / n           # d d_loss / d logit_real
        d_fake = sigmoid(logit_fake) / n                 # d d_loss / d logit_fake
        g_fake = (sigmoid(logit_fake) - 1) / n * (w1 + 2 * w2 * fake)   # d g_loss / d fake
        w1 -= lr * (np.sum(d_real * real) + np.sum(d_fake * fake))
        w2 -= lr * (np.sum(d_real * real**2) + np.sum(d_fake * fake**2))
        c -= lr * (np.sum(d_real) + np.sum(d_fake))
        a -= lr * np.sum(g_fake * z)
        b -= lr * np.sum(g_fake)
        yield step, {"g_loss": float(g_loss), "d_loss": float(d_loss), "acc_real": float(acc_real)}


def bits(value):
    return struct.pack("<d", value)


def check_store(path, source, incarnation, sent):
    """Differences between run.db's scalars of `source`'s `incarnation` and `sent` ({(step, tag): value})."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute("SELECT step, tag, value FROM scalars WHERE worker = ? AND incarnation = ? ORDER BY step, tag",
                          (source, incarnation)).fetchall()
        events = db.execute("SELECT count(*), min(seq), max(seq) FROM events WHERE worker = ? AND incarnation = ?",
                            (source, incarnation)).fetchone()
    finally:
        db.close()
    problems = []
    stored = {}
    for step, tag, value in rows:
        if (step, tag) in stored:
            problems.append(f"step {step} {tag} stored twice")
        stored[(step, tag)] = value
    for key in sorted(set(sent) - set(stored)):
        problems.append(f"step {key[0]} {key[1]} missing")
    for key in sorted(set(stored) - set(sent)):
        problems.append(f"step {key[0]} {key[1]} = {stored[key]!r} was never sent")
    for key in sorted(set(sent) & set(stored)):
        if stored[key] is None or bits(stored[key]) != bits(sent[key]):
            problems.append(f"step {key[0]} {key[1]} is {stored[key]!r}, sent {sent[key]!r}")
    steps = len({step for step, _ in sent})
    if events != (steps + 1, 0, steps):   # the client's identity event, then one per step
        problems.append(f"events of {source}: (count, min seq, max seq) = {events}, expected {(steps + 1, 0, steps)}")
    return problems


def main():
    parser = argparse.ArgumentParser(description="Stream a numpy loop's metrics to an Agon aggregator.")
    parser.add_argument("endpoint")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--first-step", type=int, default=1)
    parser.add_argument("--source", default="numpy-loop")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--record")
    parser.add_argument("--run-db")
    args = parser.parse_args()

    try:
        from agon_client import AgonClient
    except ImportError as error:
        print(f"python client: {error}; needs pyzmq (pip install pyzmq)")
        return 1
    client = AgonClient(args.endpoint, source=args.source)
    sent = {}
    for step, values in train(args.steps, args.seed):
        step += args.first_step - 1
        client.log_scalars(step, values)
        sent.update({(step, tag): value for tag, value in values.items()})
    unacknowledged = len(client._spool)
    if not client.close(timeout=30):
        print(f"python client: close() says the aggregator at {args.endpoint} did not acknowledge every event "
              f"({unacknowledged} pending before close)")
        return 1
    if args.record:
        with open(args.record, "w", encoding="utf-8") as handle:
            for (step, tag), value in sorted(sent.items()):
                handle.write(f"{step}\t{tag}\t{value!r}\n")
    line = f"python client: {args.steps} steps, {len(sent)} values sent as {args.source}, every event acknowledged"
    if args.run_db:
        problems = check_store(args.run_db, args.source, client.incarnation, sent)
        if problems:
            for problem in problems[:20]:
                print(f"python client: {args.run_db}: {problem}")
            if len(problems) > 20:
                print(f"python client: {args.run_db}: {len(problems) - 20} more differences")
            return 1
        line += f"; {args.run_db} holds exactly them"
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
