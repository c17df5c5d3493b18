"""One training loop for a model of any world (DiT's train.py in shape): EMA, a CSV log, checkpoints every few
minutes, resume, --init from other weights, a time limit; one process or many under `torchrun` (DDP: gloo on CPU,
NCCL on GPU). A model differs by its objective (the network and its loss) and its batches, which the caller passes.

  torchrun --nproc_per_node 2 --redirects 1 --tee 1 -m models.shapesworld.train_latent …   # both CPU cores
  torchrun --nnodes 4 --nproc_per_node 8 --rdzv-backend c10d --rdzv-endpoint HOST:29400 -m …  # four GPU nodes

(`--redirects 1 --tee 1`: Debian's torch 1.13 torchrun fails on Python 3.11 with its default of 0.)
"""
from __future__ import annotations

import copy
import csv
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.distributed as dist
from torch import nn

from .batch_stream import cpu_state, to_device
from .checkpoints import CheckpointError, expect_kind, load_checkpoint


@dataclass
class LoopConfig:
    batch: int            # windows per optimiser step, over all processes
    lr: float
    warmup: int
    ema: float            # the average's decay (0: no average, the EMA weights are the weights)
    cosine_steps: int = 0  # > 0: the rate falls along a cosine to lr_floor over this many steps after warm-up
    lr_floor: float = 0.1  # where a cosine ends, as a share of lr
    weight_decay: float = 0.0
    betas: tuple = (0.9, 0.999)
    grad_clip: float = 1.0
    tf32: bool = False     # on CUDA, TF32 matmuls (positions need fp32's range, not its last bits)


@dataclass
class RunArgs:
    out: Path
    steps: int
    max_minutes: float
    checkpoint_minutes: float
    seed: int
    resume: bool
    init: str | None
    cosine: bool = False    # the rate falls along a cosine over this run (--steps or --max-minutes, whichever ends it first)
    slim: bool = False      # checkpoints without the optimiser (a resumed run starts a new one)
    log_every: int = 20

    @classmethod
    def of(cls, a) -> "RunArgs":
        """The options of models/core/run_args.training_parser."""
        return cls(Path(a.out), a.steps, a.max_minutes, a.checkpoint_minutes, a.seed, a.resume, a.init, a.cosine, a.slim_checkpoints, a.log_every)


class Objective(nn.Module):
    """What a model trains on: `network` is what is averaged (EMA), saved as "model"/"ema" and exported; forward(batch,
    generator) returns named scalar losses, of which "loss" is minimised and all are logged. Other modules of an
    objective (a training-only head) train beside the network and are saved under "objective"."""

    network: nn.Module


class LossObjective(Objective):
    """An objective of one loss: loss(network, batch, generator) → a scalar."""

    def __init__(self, network: nn.Module, loss: Callable[[nn.Module, Any, torch.Generator], torch.Tensor]):
        super().__init__()
        self.network, self.loss = network, loss

    def forward(self, batch, generator: torch.Generator) -> dict[str, torch.Tensor]:
        return {"loss": self.loss(self.network, batch, generator)}


def distributed() -> tuple[int, int]:
    """(rank, world size); starts the process group when launched by torchrun (once)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def process_share(batch: int) -> int:
    """This process's part of a batch of `batch` over all torchrun processes."""
    return max(1, batch // int(os.environ.get("WORLD_SIZE", "1")))


def same_network(kind: str, model_config: dict) -> Callable[[str], dict]:
    """The --init reader that takes a checkpoint of this kind and network config only."""
    def read(path: str) -> dict:
        state = expect_kind(load_checkpoint(path), path, kind)
        if state["model_config"] != model_config:
            raise CheckpointError(f"--init {path}: a {kind} checkpoint of another architecture; give one with this config's model")
        return state
    return read


def load_ema(objective: Objective, state: dict) -> None:
    """--init's default: the network starts from the checkpoint's averaged weights."""
    objective.network.load_state_dict(state["ema"])


def run(kind: str, objective: Objective, model_config: dict, run_config: Any, loop: LoopConfig, args: RunArgs,
        batches: Callable[[int, int], Any], *, read_init: Callable[[str], dict] | None = None,
        load_init: Callable[[Objective, dict], None] = load_ema, extra_state: dict | None = None,
        param_groups: Callable[[Objective], list[dict]] | None = None, unused_parameters: bool = False) -> None:
    """Trains `objective` until args.steps or args.max_minutes. `batches(rank, step)` is called once a step and returns
    this process's share of the batch (tensors in a dict or tuple); `read_init(path)` reads an --init checkpoint
    (default: one of this kind and network) and `load_init(objective, state)` starts from it. `extra_state` is saved
    with every checkpoint (what a loader needs beside the weights); `param_groups` splits the trained parameters into
    optimiser groups (a group's "lr_scale" multiplies the rate); `unused_parameters` tells DDP that some parameters get
    no gradient in some steps."""
    rank, world = distributed()
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if torch.cuda.is_available() else torch.device("cpu")
    if device.type == "cuda" and loop.tf32:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    objective.to(device)
    network = objective.network
    step, ema_steps = 0, 0
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    last = out / "last.pt"
    resume = load_checkpoint(last) if args.resume and last.exists() else None
    if resume is not None:
        expect_kind(resume, last, kind)
        network.load_state_dict(resume["model"])
        objective.load_state_dict(resume.get("objective", {}), strict=False)
        step, ema_steps = resume["step"], resume.get("ema_steps", resume["step"])
    elif args.init:
        state = (read_init or same_network(kind, model_config))(args.init)
        load_init(objective, state)
        ema_steps = state.get("ema_steps", state.get("step", 0))  # the average continues; it does not warm up again
    ema = copy.deepcopy(network).eval().requires_grad_(False)
    if resume is not None:
        ema.load_state_dict(resume["ema"])
    groups = param_groups(objective) if param_groups else [{"params": [p for p in objective.parameters() if p.requires_grad]}]
    opt = torch.optim.AdamW(groups, lr=loop.lr, weight_decay=loop.weight_decay, betas=tuple(loop.betas))
    if resume is not None and "opt" in resume:
        opt.load_state_dict(resume["opt"])
    trained = [p for group in groups for p in group["params"]]
    net = nn.parallel.DistributedDataParallel(objective, find_unused_parameters=unused_parameters) if world > 1 else objective
    generator = torch.Generator(device="cpu").manual_seed(args.seed * 1000 + rank + step)
    first_step = step

    def rate(s: int, minutes: float) -> float:
        if s < loop.warmup:  # from step 0: a resumed run past its warm-up does not warm up again
            return loop.lr * (s + 1) / loop.warmup
        if args.cosine:
            progress = max((s - first_step) / max(1, args.steps - first_step), minutes / args.max_minutes)
        elif loop.cosine_steps:
            progress = (s - loop.warmup) / loop.cosine_steps
        else:
            return loop.lr
        return loop.lr * (loop.lr_floor + (1 - loop.lr_floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))

    def save() -> None:
        if rank != 0:
            return
        state = {"kind": kind, "model_config": model_config, "config": run_config, "step": step, "ema_steps": ema_steps,
                 "seed": args.seed, "model": cpu_state(network), "ema": cpu_state(ema), **(extra_state or {})}
        heads = {k: v.detach().cpu() for k, v in objective.state_dict().items() if not k.startswith("network.")}
        if heads:
            state["objective"] = heads
        if not args.slim:
            state["opt"] = opt.state_dict()
        tmp = out / "last.pt.tmp"
        torch.save(state, tmp)
        os.replace(tmp, last)  # a checkpoint is whole or absent, never half written

    log = open(out / "loss.csv", "a", newline="") if rank == 0 else None
    writer = csv.writer(log) if log else None
    started = time.time()
    last_save = started
    if rank == 0:
        print(json.dumps({"event": "start", "kind": kind, "config": run_config if isinstance(run_config, str) else None, "step": step,
                          "params": sum(p.numel() for p in network.parameters()), "processes": world, "batch": loop.batch,
                          "device": str(device)}), flush=True)
    window, window_start, window_steps = {}, time.time(), 0
    objective.train()

    def clock() -> tuple[bool, float]:
        """Whether to take another step, and the minutes run: rank 0's, so every process stops at the same step
        (or DDP waits forever) and follows the same rate."""
        minutes = (time.time() - started) / 60
        state = torch.tensor([float(step < args.steps and minutes < args.max_minutes), minutes])
        if world > 1:
            dist.broadcast(state, 0)
        return bool(state[0]), float(state[1])

    while True:
        go, minutes = clock()
        if not go:
            break
        lr = rate(step, minutes)
        for group in opt.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        losses = net(to_device(batches(rank, step), device), generator)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        torch.nn.utils.clip_grad_norm_(trained, loop.grad_clip)
        opt.step()
        step += 1
        ema_steps += 1
        # EMA with warm-up: early on the average follows the weights closely.
        decay = min(loop.ema, (1 + ema_steps) / (10 + ema_steps))
        with torch.no_grad():  # one kernel per op over all parameters, not one per tensor (a GPU step is launch-bound)
            ema_params, params = list(ema.parameters()), list(network.parameters())
            torch._foreach_mul_(ema_params, decay)
            torch._foreach_add_(ema_params, params, alpha=1 - decay)
        for name, value in losses.items():
            window[name] = window.get(name, 0.0) + float(value)
        window_steps += 1
        if step % args.log_every == 0:
            means = torch.tensor([window[name] / window_steps for name in window])
            if world > 1:
                dist.all_reduce(means)
                means /= world
            seconds = (time.time() - window_start) / window_steps
            if writer:
                if log.tell() == 0:
                    writer.writerow(["step", *window, "lr", "seconds_per_step", "minutes"])
                writer.writerow([step, *(f"{float(m):.5f}" for m in means), f"{lr:.2e}", f"{seconds:.3f}", f"{minutes:.1f}"])
                log.flush()
                print(json.dumps({"event": "step", "step": step, **{n: round(float(m), 5) for n, m in zip(window, means)},
                                  "s_per_step": round(seconds, 3)}), flush=True)
            window, window_start, window_steps = {}, time.time(), 0
        if time.time() - last_save > args.checkpoint_minutes * 60:
            save()
            last_save = time.time()
    save()
    if rank == 0:
        print(json.dumps({"event": "done", "step": step, "minutes": round((time.time() - started) / 60, 1), "checkpoint": str(last)}), flush=True)
    if world > 1:
        dist.destroy_process_group()
