"""Endless training batches, made in this process (the CPU runs) or in loader processes (a run on the device, whose
GPU steps outpace one core's batching: rendering frames, cropping windows), and moved to the training device."""
from __future__ import annotations

import itertools
from typing import Callable, Iterator, TypeVar

import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

T = TypeVar("T")
# make_source(rank) → a function of the batch's index: each loader process draws from its own random stream.
SourceFactory = Callable[[int], Callable[[int], T]]


class _LoaderBatches(IterableDataset):
    def __init__(self, make_source: SourceFactory):
        self.make_source = make_source

    def __iter__(self):
        info = get_worker_info()
        rank, count = (info.id, info.num_workers) if info else (0, 1)
        source = self.make_source(rank)
        return (source(i) for i in itertools.count(rank, count))


def endless_batches(make_source: SourceFactory, loader_workers: int) -> Iterator[T]:
    """Batch after batch of make_source's; with loader_workers > 0, made by that many forked processes (the data
    they read is shared with this one, not copied through pipes)."""
    if loader_workers <= 0:
        source = make_source(0)
        return (source(i) for i in itertools.count())
    # Forked, also from a spawned trainer: the sources are closures over the data set, which spawn would pickle.
    return iter(DataLoader(_LoaderBatches(make_source), batch_size=None, num_workers=loader_workers, multiprocessing_context="fork",
                           pin_memory=torch.cuda.is_available(), persistent_workers=True, prefetch_factor=4))


def to_device(batch, device: torch.device):
    """The batch's tensors (in tuples, lists and dicts) on `device`."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def cpu_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The module's state dict on the CPU, as checkpoints hold it (a device run's comes back to a CPU-only machine)."""
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}
