#!/usr/bin/env python3
"""Times torch.distributed.all_reduce with the gloo backend on loopback, as Agon's
`agon bench allreduce` times its averaging round: N processes, F float32 values each,
all_reduce(SUM) then divide by N (an average), 5 untimed rounds, then the median of R rounds
measured in rank 0 from the call to its return.

Usage: gloo_allreduce.py --workers N --floats F [--rounds R]   (prints one JSON line)
"""
import argparse
import json
import os
import socket
import statistics
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(rank, world, floats, rounds, port, queue):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    values = torch.arange(floats, dtype=torch.float32).remainder_(7).add_(rank)
    times = []
    for r in range(rounds + 5):
        start = time.perf_counter()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        values.div_(world)
        if r >= 5:
            times.append(time.perf_counter() - start)
    if rank == 0:
        queue.put(statistics.median(times))
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--floats", type=int, required=True)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    context = mp.get_context("spawn")
    queue = context.Queue()
    port = free_port()
    processes = [context.Process(target=worker, args=(r, args.workers, args.floats, args.rounds, port, queue))
                 for r in range(args.workers)]
    for p in processes:
        p.start()
    median = queue.get(timeout=600)
    for p in processes:
        p.join()
    print(json.dumps({"framework": "torch-gloo", "torch": torch.__version__, "workers": args.workers,
                      "floats": args.floats, "median_us": round(median * 1e6, 1)}))


if __name__ == "__main__":
    main()
