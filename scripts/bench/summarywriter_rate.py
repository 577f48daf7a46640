#!/usr/bin/env python3
"""Scalars per second that torch.utils.tensorboard.SummaryWriter writes from one process:
the same 11 metrics per step as an Agon worker sends, `add_scalar` each, then `close()`
(which flushes). Usage: summarywriter_rate.py --steps N   (prints one JSON line)"""
import argparse
import json
import tempfile
import time

from torch.utils.tensorboard import SummaryWriter

TAGS = ["g_loss", "d_loss", "d_real_loss", "d_fake_loss", "acc_real", "acc_fake", "d_x", "d_g_z",
        "g_grad_norm", "d_grad_norm", "step_time_s"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as logdir:
        writer = SummaryWriter(logdir)
        start = time.perf_counter()
        for step in range(args.steps):
            for offset, tag in enumerate(TAGS):
                writer.add_scalar(tag, float(step + offset), step)
        writer.close()
        seconds = time.perf_counter() - start
    scalars = args.steps * len(TAGS)
    print(json.dumps({"framework": "torch.utils.tensorboard", "scalars": scalars, "seconds": round(seconds, 3),
                      "scalars_per_s": round(scalars / seconds)}))


if __name__ == "__main__":
    main()
