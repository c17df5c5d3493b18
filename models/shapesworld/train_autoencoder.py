"""Trains the frame autoencoder of the latent ShapesWorld package on frames rendered on the fly.

  /usr/bin/python3 -m models.shapesworld.train_autoencoder --config ae-tiny --steps 20 --out /tmp/ae           # CI: seconds
  /usr/bin/python3 -m models.shapesworld.train_autoencoder --config ae-bundled --workers 2 --max-minutes 30 --grid-minutes 18 \
      --out models/shapesworld-latent/checkpoints/ae [--resume | --init last.pt]

Phase "grid" trains the convolutional encoder and decoder alone; phase "code" then trains the whole autoencoder
through the code vectors the U-ViT will see (with noise on the codes, so that imperfect codes still decode).
Checkpoints every few minutes (last.pt, resumable); loss.csv has the curve.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import random
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from .. import cpu_workers
from ..core.autoencoder import FrameAEConfig, FrameAutoencoder
from ..core.run_args import training_parser
from .grammar import sample_split
from .world import render, sample_scene


@dataclass
class AEConfig:
    model: FrameAEConfig
    batch: int
    lr: float
    warmup: int
    object_weight: float = 10.0   # loss weight 1 + this × object coverage: objects are 1–4 % of the pixels
    code_noise: float = 0.05      # Gaussian noise on codes in the code phase, relative to their running RMS
    code_penalty: float = 1e-3    # × mean code², keeps codes near the unit scale the noise is measured in
    max_time: float = 16.0        # frames at random world times in [0, max_time] s (a 16 s clip's states)


CONFIGS = {
    "ae-tiny": AEConfig(FrameAEConfig(height=32, width=48, channels=(8, 8, 16, 16), grid_channels=4, code=8, code_hidden=32,
                                      decoder_full_res=8), batch=8, lr=2e-3, warmup=5),
    # Widths chosen by step time on the 2-core CPU (0.43 s fwd+bwd of 24 frames a worker against 0.71 s at 32/64/128/128
    # with a 32-channel full-resolution block): steps matter more than width in a 30-minute budget.
    # The calibration's shallow stack plus one full-resolution 3×3 block, with L1 + MSE (a softmax colour-codebook
    # output and a 3×3 conv at every level, tried first, learned nothing in 200 steps: a flat mean frame).
    "ae-bundled": AEConfig(FrameAEConfig(channels=(32, 64, 128, 128), decoder_full_res=16), batch=48, lr=1.5e-3, warmup=100),
}


def make_batch(cfg: AEConfig, rng: random.Random) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames [B, 3, H, W] in [-1, 1] at random times of random training prompts, and their loss weights [B, 1, H, W]."""
    m = cfg.model
    prompts = [sample_split(rng, held_out=False) for _ in range(cfg.batch)]
    scene = sample_scene(prompts, rng, m.width / m.height)
    times = torch.tensor([[rng.uniform(0, cfg.max_time)] for _ in range(cfg.batch)])
    frames, coverage = render(scene, times, m.height, m.width)
    weight = 1 + cfg.object_weight * coverage[:, 0].sum(1, keepdim=True)
    return frames[:, 0] / 127.5 - 1, weight


def reconstruction_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Weighted MSE + L1: MSE's smooth gradient learns the layout fast; L1's optimum at an uncertain edge is one
    colour or the other, not their blur, so corners stay sharp."""
    diff = pred - target
    return ((diff ** 2 + diff.abs()) * weight).sum() / (weight.sum() * 3)


def loss_fn(ae: FrameAutoencoder, cfg: AEConfig, phase: str, batch, generator: torch.Generator, code_rms: torch.Tensor):
    """Grid phase: the frames' weighted reconstruction through the conv grid. Code phase: the conv parts are frozen
    and the code MLPs learn to carry the grid through D floats (noise on the codes, so imperfect codes still decode
    near the grid the decoder knows); the grid error is measured relative to the grid's own variance."""
    frames, weight = batch
    if phase == "grid":
        return reconstruction_loss(ae.frames_of_grid(ae.grid_of(frames)), frames, weight), torch.zeros(())
    with torch.no_grad():
        grid = ae.grid_of(frames)
    code = ae.code_of_grid(grid)
    noisy = code + cfg.code_noise * code_rms * torch.randn(code.shape, generator=generator)
    error = ((ae.grid_of_code(noisy) - grid) ** 2).mean() / grid.var()
    return error + cfg.code_penalty * (code ** 2).mean(), (code.detach() ** 2).mean()


def code_parameters(ae: FrameAutoencoder) -> list[torch.nn.Parameter]:
    return [*ae.to_code.parameters(), *ae.from_code.parameters()]


def save(path: Path, ae: FrameAutoencoder, opt, step: int, phase: str, a, log: list, code_rms: float) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"model": ae.state_dict(), "opt": opt.state_dict(), "step": step, "phase": phase, "config": a.config,
                "model_config": ae.cfg.to_json(), "seed": a.seed, "log": log, "code_rms": code_rms}, tmp)
    tmp.replace(path)


def main() -> None:
    ap = training_parser(__doc__, CONFIGS, "start from this autoencoder's weights (new optimiser, step 0)")
    ap.add_argument("--grid-minutes", type=float, default=None,
                    help="minutes of the grid phase before the code phase (default: half of --max-minutes)")
    ap.add_argument("--grid-steps", type=int, default=None, help="steps of the grid phase (instead of --grid-minutes)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--init-phase", choices=["grid", "code"], default="code",
                    help="the phase an --init run starts in: grid trains the convolutions further, code only the code MLPs")
    ap.add_argument("--lr", type=float, default=0.0, help="override the config's learning rate")
    a = ap.parse_args()
    cpu_workers.run_workers(train, a, a.workers)


def train(rank: int, a: argparse.Namespace, workers: int, port: int) -> None:
    cpu_workers.join(rank, workers, port)
    torch.set_num_threads(1 if workers > 1 else torch.get_num_threads())
    cfg = CONFIGS[a.config]
    cfg = replace(cfg, batch=cfg.batch // workers, lr=a.lr or cfg.lr)
    code_batch = replace(cfg, batch=cfg.batch * 4)  # the code phase's step is an encoder forward and two small MLPs
    lead = rank == 0
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "last.pt"
    torch.manual_seed(a.seed)
    ae = FrameAutoencoder(cfg.model)
    phase, step, log, code_rms = "grid", 0, [], 1.0
    if a.init:
        ae.load_state_dict(torch.load(a.init, map_location="cpu")["model"])
        phase = a.init_phase
    opt = torch.optim.AdamW(ae.parameters() if phase == "grid" else code_parameters(ae), lr=cfg.lr, weight_decay=0.0, betas=(0.9, 0.99))
    if a.resume and ckpt_path.exists():
        state = torch.load(ckpt_path, map_location="cpu")
        ae.load_state_dict(state["model"])
        step, phase, log, code_rms = state["step"], state["phase"], state["log"], state["code_rms"]
        if phase == "code":
            opt = torch.optim.AdamW(code_parameters(ae), lr=cfg.lr, weight_decay=0.0, betas=(0.9, 0.99))
        opt.load_state_dict(state["opt"])
    stream_seed = (a.seed * 1_000_003 + step) * 64 + rank
    rng = random.Random(stream_seed)
    generator = torch.Generator().manual_seed(stream_seed)
    started = last_ckpt = time.time()
    grid_minutes = a.grid_minutes if a.grid_minutes is not None else (a.max_minutes / 2 if a.max_minutes < 10 ** 8 else 10.0)
    phase_start_step, phase_start_time = step, started
    running = None
    params = list(ae.parameters())
    if lead:
        print(json.dumps({"event": "start", "config": a.config, "params": sum(p.numel() for p in params), "phase": phase,
                          "step": step, "workers": workers}), flush=True)
    with open(out / "loss.csv", "a", newline="") if lead else contextlib.nullcontext() as csv_file:
        writer = csv.writer(csv_file) if lead else None
        while True:
            elapsed = (time.time() - started) / 60
            want_stop = step >= a.steps or elapsed >= a.max_minutes
            grid_over = (step >= a.grid_steps) if a.grid_steps is not None else elapsed >= grid_minutes
            want_code = phase == "grid" and grid_over
            # Cosine learning rate within each phase, over the phase's planned length.
            if phase == "grid":
                done = (step / a.grid_steps) if a.grid_steps is not None else elapsed / max(grid_minutes, 1e-6)
            else:
                total = max(a.max_minutes - (phase_start_time - started) / 60, 1e-6)
                done = max((time.time() - phase_start_time) / 60 / total,
                           (step - phase_start_step) / max(1, a.steps - phase_start_step))
            lr = cfg.lr * min(1.0, (step - phase_start_step + 1) / cfg.warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, done))))
            for group in opt.param_groups:
                group["lr"] = lr
            loss, code_sq = loss_fn(ae, cfg, phase, make_batch(cfg if phase == "grid" else code_batch, rng), generator, torch.tensor(code_rms))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            value, code_sq, want_stop, want_code = cpu_workers.average(params, [loss.item(), float(code_sq), float(want_stop), float(want_code)], workers)
            if want_stop > 0:
                break
            if want_code > 0:
                if lead:  # the grid-phase autoencoder is kept: the code phase cannot spoil it
                    save(out / "grid.pt", ae, opt, step, phase, a, log, code_rms)
                phase, phase_start_step, phase_start_time = "code", step, time.time()
                opt = torch.optim.AdamW(code_parameters(ae), lr=cfg.lr, weight_decay=0.0, betas=(0.9, 0.99))
                running = None
                if lead:
                    print(json.dumps({"event": "phase", "phase": phase, "step": step}), flush=True)
                continue
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            if phase == "code":
                code_rms = 0.99 * code_rms + 0.01 * math.sqrt(max(code_sq, 1e-12))
            step += 1
            running = value if running is None else 0.98 * running + 0.02 * value
            if not lead:
                continue
            if step % 10 == 0 or step == 1:
                writer.writerow([step, phase, round(time.time() - started, 1), f"{value:.5f}", f"{running:.5f}"])
                csv_file.flush()
                log.append((step, phase, running))
            if step % 50 == 0 or step == 1:
                print(json.dumps({"event": "step", "step": step, "phase": phase, "loss": round(value, 5), "smoothed": round(running, 5),
                                  "code_rms": round(code_rms, 4), "minutes": round((time.time() - started) / 60, 2)}), flush=True)
            if time.time() - last_ckpt > a.checkpoint_minutes * 60:
                save(ckpt_path, ae, opt, step, phase, a, log, code_rms)
                last_ckpt = time.time()
    if lead:
        save(ckpt_path, ae, opt, step, phase, a, log, code_rms)
        print(json.dumps({"event": "done", "step": step, "phase": phase, "smoothed": running, "checkpoint": str(ckpt_path)}), flush=True)
    cpu_workers.leave(workers)


if __name__ == "__main__":
    main()
