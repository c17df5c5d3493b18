"""Data-parallel training on a small CPU: N one-thread processes share each batch and average gradients with one
gloo all-reduce a step (measured on our 2 cores: 2 one-thread workers train 1.45× faster than one 2-thread
process)."""
from __future__ import annotations

import os
import random
from typing import Callable

import torch
import torch.distributed as dist


def run_workers(train: Callable[[int, object, int, int], None], args: object, workers: int) -> None:
    """Calls train(rank, args, workers, port) in `workers` processes (or in this one when workers is 1)."""
    if workers <= 1:
        train(0, args, 1, 0)
        return
    # One BLAS thread per worker: OpenBLAS otherwise starts a thread per core in each process, and they contend.
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    port = 29500 + random.Random().randint(0, 2000)
    torch.multiprocessing.spawn(train, args=(args, workers, port), nprocs=workers)


def join(rank: int, workers: int, port: int) -> None:
    if workers > 1:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=workers)


def leave(workers: int) -> None:
    if workers > 1:
        dist.destroy_process_group()


def average(params: list[torch.Tensor], scalars: list[float], workers: int) -> list[float]:
    """Averages the gradients of params and the given scalars over the workers (a stop vote is a scalar > 0 in any
    worker's average); returns the averaged scalars."""
    if workers <= 1:
        return scalars
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.flatten() for g in grads] + [torch.tensor(scalars, dtype=torch.float32)])
    dist.all_reduce(flat)
    flat /= workers
    offset = 0
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        p.grad.copy_(flat[offset: offset + p.numel()].view_as(p))
        offset += p.numel()
    return [float(v) for v in flat[offset:]]
