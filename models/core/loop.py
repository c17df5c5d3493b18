"""One training loop for a model of any world (DiT's train.py in shape): EMA, a CSV log, checkpoints every few
minutes, resume, --init from other weights, a time limit; one process or many under `torchrun` (DDP: gloo on CPU,
NCCL on GPU). A model differs by its batches and its loss, which the caller passes in.

  torchrun --nproc_per_node 2 -m models.footage.train --config footage-cpu --out runs/footage   # both cores
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
from typing import Callable

import torch
import torch.distributed as dist
from torch import nn

from .checkpoints import load_checkpoint


@dataclass
class LoopConfig:
    batch: int            # windows per optimiser step, over all processes
    lr: float
    warmup: int
    ema: float
    cosine_steps: int = 0  # > 0: the rate falls along a cosine to 10 % over this many steps after warm-up
    weight_decay: float = 0.0
    grad_clip: float = 1.0


@dataclass
class RunArgs:
    out: Path
    steps: int
    max_minutes: float
    checkpoint_minutes: float
    seed: int
    resume: bool
    init: str | None


def _distributed() -> tuple[int, int]:
    """(rank, world size); starts the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def run(kind: str, model: nn.Module, model_config: dict, run_config: dict, loop: LoopConfig, args: RunArgs,
        batches: Callable[[int], dict], loss_fn: Callable[[nn.Module, dict, torch.Generator], torch.Tensor]) -> None:
    """Trains `model` until args.steps or args.max_minutes. `batches(rank)` is called once a step and returns this
    process's share of the batch; `loss_fn(model, batch, generator)` its scalar loss."""
    rank, world = _distributed()
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if torch.cuda.is_available() else torch.device("cpu")
    torch.manual_seed(args.seed + rank)
    model.to(device)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=loop.lr, weight_decay=loop.weight_decay)
    step, ema_steps = 0, 0
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    last = out / "last.pt"
    if args.resume and last.exists():
        state = load_checkpoint(last)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        step, ema_steps = state["step"], state.get("ema_steps", state["step"])
    elif args.init:
        state = load_checkpoint(args.init)
        if state["kind"] != kind or state["model_config"] != model_config:
            raise SystemExit(f"--init {args.init}: a {state['kind']} checkpoint of another architecture; give one of {kind} "
                             f"with this config's model")
        model.load_state_dict(state["ema"])
        ema.load_state_dict(state["ema"])
        ema_steps = state.get("ema_steps", state["step"])  # the average continues; it does not warm up again
    net = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    generator = torch.Generator(device="cpu").manual_seed(args.seed * 1000 + rank + step)

    def rate(s: int) -> float:
        if s < loop.warmup:
            return loop.lr * (s + 1) / loop.warmup
        if loop.cosine_steps:
            progress = min(1.0, (s - loop.warmup) / loop.cosine_steps)
            return loop.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        return loop.lr

    def save() -> None:
        if rank != 0:
            return
        state = {"kind": kind, "model_config": model_config, "config": run_config, "step": step, "ema_steps": ema_steps,
                 "seed": args.seed, "model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict()}
        tmp = out / "last.pt.tmp"
        torch.save(state, tmp)
        os.replace(tmp, last)  # a checkpoint is whole or absent, never half written

    log = open(out / "loss.csv", "a", newline="") if rank == 0 else None
    writer = csv.writer(log) if log else None
    if log and log.tell() == 0:
        writer.writerow(["step", "loss", "lr", "seconds_per_step", "minutes"])
    started = time.time()
    last_save = started
    window_loss, window_start, window_steps = 0.0, time.time(), 0
    model.train()
    def keep_going() -> bool:
        go = torch.tensor([float(step < args.steps and (time.time() - started) / 60 < args.max_minutes)])
        if world > 1:
            dist.broadcast(go, 0)  # every process stops at the same step, or DDP waits forever
        return bool(go)

    while keep_going():
        for group in opt.param_groups:
            group["lr"] = rate(step)
        batch = {k: v.to(device) for k, v in batches(rank).items()}
        loss = loss_fn(net, batch, generator)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), loop.grad_clip)
        opt.step()
        step += 1
        ema_steps += 1
        # EMA with warm-up: early on the average follows the weights closely.
        decay = min(loop.ema, (1 + ema_steps) / (10 + ema_steps))
        with torch.no_grad():
            for e, p in zip(ema.parameters(), model.parameters()):
                e.mul_(decay).add_(p.detach(), alpha=1 - decay)
        window_loss += float(loss)
        window_steps += 1
        if step % 20 == 0:
            mean = torch.tensor([window_loss / window_steps])
            if world > 1:
                dist.all_reduce(mean)
                mean /= world
            seconds = (time.time() - window_start) / window_steps
            if writer:
                writer.writerow([step, f"{float(mean):.5f}", f"{rate(step):.2e}", f"{seconds:.3f}", f"{(time.time() - started) / 60:.1f}"])
                log.flush()
                print(json.dumps({"event": "step", "step": step, "loss": round(float(mean), 5), "s_per_step": round(seconds, 3)}), flush=True)
            window_loss, window_start, window_steps = 0.0, time.time(), 0
        if time.time() - last_save > args.checkpoint_minutes * 60:
            save()
            last_save = time.time()
    save()
    if rank == 0:
        print(json.dumps({"event": "done", "step": step, "minutes": round((time.time() - started) / 60, 1)}), flush=True)
    if world > 1:
        dist.destroy_process_group()
