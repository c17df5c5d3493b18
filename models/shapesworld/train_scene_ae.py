"""Trains the object-centric frame autoencoder (models/shapesworld/scene_autoencoder.py) on frames rendered on the fly.

  /usr/bin/python3 -m models.shapesworld.train_scene_ae --config scene-tiny --steps 20 --out /tmp/sae                 # CI: seconds
  /usr/bin/python3 -m models.shapesworld.train_scene_ae --config scene-bundled --max-minutes 40 --out runs/sae [--resume | --init F]
  /usr/bin/python3 -m models.shapesworld.train_scene_ae --config scene-drawing --init F --max-minutes 10 --out runs/sae-draw   # decoder only, at 256 px
  python3 -m models.shapesworld.train_scene_ae --config scene-gpu --loader-workers 6 --max-minutes 8 --out $OUT/sae --init F   # the lent H200

Its two halves learn side by side from the same batch, each against the renderer's truth: the encoder's segmentation
learns each pixel's palette coverage (weighted cross-entropy) and its per-colour reading learns what is there
(cross-entropy on background, presence and shape; Huber error on position and log size), the decoder draws each
frame from its true state with noise on the one-hots (so the U-ViT's imperfect latents still draw clean objects),
against every pixel's palette coverage. `scene-drawing` fits the decoder alone at the size the package draws (4×
native): an atlas fitted at 64 px is only as exact as 64 px pixels, and seams are judged at 256 px. Checkpoints every
few minutes (last.pt, resumable); loss.csv has the curve.
"""
from __future__ import annotations

import csv
import json
import math
import random
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch.nn import functional as F

from ..core.batch_stream import cpu_state, endless_batches, to_device, training_device
from ..core.run_args import training_parser
from .grammar import BACKGROUNDS, sample_split
from .scene_autoencoder import GEOMETRY, LATENT, PALETTE, SceneAEConfig, SceneAutoencoder, colour_truth, scene_latents
from .world import render, sample_scene


@dataclass
class SceneAETrainConfig:
    model: SceneAEConfig
    batch: int
    lr: float
    warmup: int
    object_weight: float = 10.0    # pixel loss weight 1 + this × object coverage: objects are 1–4 % of the pixels
    one_hot_noise: float = 0.1     # Gaussian noise on the decoder's one-hot inputs
    position_weight: float = 10.0  # × Huber error of x, y (frame heights; quadratic under a quarter pixel) and log size
    max_time: float = 16.0         # frames at random world times in [0, max_time] s (a 16 s clip's states)
    draw_scale: int = 1            # frames rendered and drawn at this multiple of the native size
    decoder_only: bool = False     # the encoder's weights stay as they are (it reads native frames)


CONFIGS = {
    "scene-tiny": SceneAETrainConfig(SceneAEConfig(height=32, width=48, segment=8, hidden=32, atlas=16),
                                     batch=8, lr=3e-3, warmup=5),
    "scene-bundled": SceneAETrainConfig(SceneAEConfig(), batch=32, lr=2e-3, warmup=100),
    # The lent H200: 4× the frames a step, rendered by loader processes (models/core/batch_stream.py).
    "scene-gpu": SceneAETrainConfig(SceneAEConfig(), batch=128, lr=2e-3, warmup=100),
    # The decoder alone, at the package's drawing size (models/shapesworld-uvit: --draw-scale 4), from --init.
    "scene-drawing": SceneAETrainConfig(SceneAEConfig(), batch=8, lr=1e-3, warmup=20, draw_scale=4, decoder_only=True),
}


def make_batch(cfg: SceneAETrainConfig, rng: random.Random):
    """Frames [B, 3, H, W] in [-1, 1] at random times of random training prompts, their true latents [B, LATENT],
    each pixel's palette coverage [B, P, H, W] and loss weight [B, 1, H, W], and each colour's truth (colour_truth)."""
    m = cfg.model
    prompts = [sample_split(rng, held_out=False) for _ in range(cfg.batch)]
    scene = sample_scene(prompts, rng, m.width / m.height)
    times = torch.tensor([[rng.uniform(0, cfg.max_time)] for _ in range(cfg.batch)])
    height, width = m.height * cfg.draw_scale, m.width * cfg.draw_scale
    frames, coverage = render(scene, times, height, width)
    visible = coverage[:, 0]                                                   # B 2 H W
    palette = torch.tensor(PALETTE, dtype=torch.float32)
    target = torch.zeros(cfg.batch, len(PALETTE), height, width)
    rows = torch.arange(cfg.batch)
    background = (scene.background.unsqueeze(1) == palette.unsqueeze(0)).all(-1).float().argmax(1)
    target[rows, background] = 1 - visible.sum(1)
    for j in range(2):  # an absent object covers nothing
        target[rows, scene.colour_id[:, j]] += visible[:, j]
    weight = 1 + cfg.object_weight * visible.sum(1, keepdim=True)
    return frames[:, 0] / 127.5 - 1, scene_latents(scene, times)[:, 0], target, weight, colour_truth(scene, times)


def coverage_loss(probabilities_log: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each pixel's palette distribution against its true coverage, weighted toward objects."""
    return (-(target * probabilities_log).sum(1, keepdim=True) * weight).sum() / weight.sum()


def encoder_loss(ae: SceneAutoencoder, cfg: SceneAETrainConfig, frames: torch.Tensor, z: torch.Tensor, target: torch.Tensor,
                 weight: torch.Tensor, truth: dict[str, torch.Tensor]) -> torch.Tensor:
    read = ae.read_colours(frames)
    loss = coverage_loss(read["segment"].log_softmax(1), target, weight)
    loss = loss + F.cross_entropy(read["background"], z[:, : len(BACKGROUNDS)].argmax(1))
    loss = loss + F.binary_cross_entropy_with_logits(read["present"], truth["present"])
    on = truth["present"] > 0
    pixel = 1 / cfg.model.height
    loss = loss + F.cross_entropy(read["shape"][on], truth["shape"][on])
    loss = loss + cfg.position_weight * (F.smooth_l1_loss(read["centre"][on], truth["centre"][on], beta=pixel / 4, reduction="none").sum(-1).mean()
                                         + F.smooth_l1_loss(read["log_size"][on], truth["log_size"][on], beta=0.02))
    return loss


def decoder_loss(ae: SceneAutoencoder, cfg: SceneAETrainConfig, z: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                 generator: torch.Generator) -> torch.Tensor:
    noisy = z.clone()
    one_hot = torch.ones(LATENT, dtype=torch.bool, device=z.device)
    one_hot[list(GEOMETRY)] = False
    noisy[:, one_hot] += cfg.one_hot_noise * torch.randn(z.shape[0], LATENT - len(GEOMETRY), generator=generator, device=z.device)
    return coverage_loss(ae.palette_probabilities(noisy).clamp(min=1e-6).log(), target, weight)


def main() -> None:
    ap = training_parser(__doc__, CONFIGS, "start from this autoencoder's weights (new optimiser, step 0)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="auto", help="cpu, cuda, or auto (cuda where there is one)")
    ap.add_argument("--loader-workers", type=int, default=0, help="processes that render batches (a GPU run; 0: this process)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    device = training_device(a.device)
    cfg = CONFIGS[a.config]
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "last.pt"
    torch.manual_seed(a.seed)
    # Its weights do not depend on the frame size (moments and atlases are in frame heights), so a decoder fitted at
    # the drawing size is saved with the native config.
    ae = SceneAutoencoder(replace(cfg.model, height=cfg.model.height * cfg.draw_scale, width=cfg.model.width * cfg.draw_scale))
    if a.init:  # weights whose names and shapes match (a decoder carries over to a new encoder design)
        own, init = ae.state_dict(), torch.load(a.init, map_location="cpu")["model"]
        ae.load_state_dict({k: v for k, v in init.items() if k in own and own[k].shape == v.shape}, strict=False)
    ae.to(device)
    opt = torch.optim.AdamW(ae.decoder_parameters() if cfg.decoder_only else ae.parameters(), lr=cfg.lr, weight_decay=0.0, betas=(0.9, 0.99))
    step, log = 0, []
    if a.resume and ckpt_path.exists():
        state = torch.load(ckpt_path, map_location="cpu")
        ae.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, log = state["step"], state["log"]
    stream_seed = a.seed * 1_000_003 + step

    def frame_source(loader: int):
        rng = random.Random(stream_seed + 7919 * loader)
        return lambda i: make_batch(cfg, rng)

    batches = endless_batches(frame_source, a.loader_workers)
    generator = torch.Generator(device=device).manual_seed(stream_seed)
    started = last_ckpt = time.time()
    first_step, running = step, None

    def save() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"model": cpu_state(ae), "opt": opt.state_dict(), "step": step, "config": a.config, "model_config": cfg.model.to_json(),
                    "seed": a.seed, "log": log}, tmp)
        tmp.replace(ckpt_path)

    print(json.dumps({"event": "start", "config": a.config, "params": sum(p.numel() for p in ae.parameters()), "step": step}), flush=True)
    with open(out / "loss.csv", "a", newline="") as csv_file:
        writer = csv.writer(csv_file)
        while step < a.steps and (time.time() - started) / 60 < a.max_minutes:
            done = (time.time() - started) / 60 / a.max_minutes if a.max_minutes < 10 ** 9 else (step - first_step) / max(1, a.steps - first_step)
            lr = cfg.lr * min(1.0, (step - first_step + 1) / cfg.warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, done))))
            for group in opt.param_groups:
                group["lr"] = lr
            frames, z, target, weight, truth = to_device(next(batches), device)
            dec = decoder_loss(ae, cfg, z, target, weight, generator)
            enc = torch.zeros(()) if cfg.decoder_only else encoder_loss(ae, cfg, frames, z, target, weight, truth)
            opt.zero_grad(set_to_none=True)
            (enc + dec).backward()
            torch.nn.utils.clip_grad_norm_(ae.parameters(), 1.0)
            opt.step()
            step += 1
            values = (float(enc), float(dec))
            running = values if running is None else tuple(0.98 * r + 0.02 * v for r, v in zip(running, values))
            if step % 10 == 0 or step == 1:
                writer.writerow([step, round(time.time() - started, 1), f"{values[0]:.5f}", f"{values[1]:.5f}", f"{running[0]:.5f}", f"{running[1]:.5f}"])
                csv_file.flush()
                log.append((step, *running))
            if step % 50 == 0 or step == 1:
                print(json.dumps({"event": "step", "step": step, "encoder": round(running[0], 5), "decoder": round(running[1], 5),
                                  "minutes": round((time.time() - started) / 60, 2)}), flush=True)
            if time.time() - last_ckpt > a.checkpoint_minutes * 60:
                save()
                last_ckpt = time.time()
    save()
    print(json.dumps({"event": "done", "step": step, "encoder": running and running[0], "decoder": running and running[1],
                      "checkpoint": str(ckpt_path)}), flush=True)


if __name__ == "__main__":
    main()
