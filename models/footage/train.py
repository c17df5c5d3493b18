"""Trains the footage U-ViT on camera footage (models/footage/data.py), with the library's loop (models/core/loop.py).

  /usr/bin/python3 -m models.footage.train --config footage-tiny --steps 20 --out /tmp/ft          # seconds (tests)
  /usr/bin/python3 -m models.footage.train --config footage-cpu --max-minutes 140 --out runs/footage \\
      --init models/footage-weights/uvit.pt                                                      # our 2-core CPU
  torchrun --nproc_per_node 8 -m models.footage.train --config footage-gpu --max-minutes 8 --out ckpt  # a GPU node
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..core.schedule import T_MAX, alpha_sigma
from ..core.loop import LoopConfig, LossObjective, RunArgs, run
from ..core.run_args import training_parser
from ..core.uvit import UViT, UViTConfig
from .data import WindowConfig, load_footage, sample_batch

KIND = "footage-uvit"


@dataclass
class FootageConfig:
    model: UViTConfig
    loop: LoopConfig


def _model(width_dim: int, depth: int, frames: int = 16, height: int = 48, width: int = 64, patch=(4, 8, 8), decoder_hidden: int = 256) -> UViTConfig:
    # No prompt yet: one all-padding token keeps the U-ViT's text slot (and the package's tokenizer) in place.
    return UViTConfig(frames=frames, height=height, width=width, channels=3, patch=patch, width_dim=width_dim, depth=depth,
                      heads=4, vocab=1, text_len=1, context_frames=4, predict="x0", decoder_hidden=decoder_hidden, known_skip=True)


CONFIGS = {
    "footage-tiny": FootageConfig(_model(32, 3, frames=8, height=16, width=16, patch=(2, 8, 8), decoder_hidden=32), LoopConfig(batch=4, lr=1e-3, warmup=5, ema=0.9)),
    "footage-cpu": FootageConfig(_model(128, 7), LoopConfig(batch=24, lr=4e-4, warmup=200, ema=0.999, cosine_steps=12000)),
    "footage-gpu": FootageConfig(_model(128, 7), LoopConfig(batch=256, lr=1e-3, warmup=300, ema=0.9995, cosine_steps=20000)),
}


def denoising_loss(net: nn.Module, batch: dict, generator: torch.Generator) -> torch.Tensor:
    """x0 error on the frames the window generates, at a noise level drawn uniformly; known frames enter clean."""
    x0, known, fps = batch["x0"], batch["known"], batch["fps"]
    b = x0.shape[0]
    t = torch.rand(b, generator=generator).to(x0.device) * T_MAX
    alpha, sigma = (s.view(-1, 1, 1, 1, 1) for s in alpha_sigma(t))
    eps = torch.randn(x0.shape, generator=generator).to(x0.device)
    mask = known.view(*known.shape, 1, 1, 1)
    x_t = mask * x0 + (1 - mask) * (alpha * x0 + sigma * eps)
    tokens = torch.zeros(b, 1, dtype=torch.long, device=x0.device)
    v = net(x_t, known, t, fps, tokens)
    x0_pred = alpha * x_t - sigma * v  # the package's v output back to the network's x0 (exact for predict="x0")
    generated = 1 - mask
    return ((x0_pred - x0) ** 2 * generated).sum() / (generated.sum() * x0[0, 0].numel()).clamp(min=1)


def main() -> None:
    ap = training_parser(__doc__, CONFIGS, "start from these weights (a footage-uvit checkpoint, e.g. the shipped models/footage-weights/uvit.pt)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads a process (0: torch's default)")
    ap.add_argument("--data-cache", type=Path, help="decoded footage: read from this file, or written there when it does not exist")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    cfg = CONFIGS[a.config]
    m = cfg.model
    windows = WindowConfig(frames=m.frames, height=m.height, width=m.width, context_frames=m.context_frames)
    data = load_footage(m.width, m.height, cache=a.data_cache)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    per_process = max(1, cfg.loop.batch // world)
    rngs: dict[int, np.random.Generator] = {}

    def batches(rank: int, step: int) -> dict:
        rng = rngs.setdefault(rank, np.random.default_rng(a.seed * 7919 + rank))
        return sample_batch(data, windows, per_process, rng)

    print({"clips": [name for name, _, _ in data.clips], "frames": sum(len(f) for _, f, _ in data.clips), "photos": len(data.photos)}, flush=True)
    model = UViT(m)
    run(KIND, LossObjective(model, denoising_loss), m.to_json(), {"name": a.config, "loop": asdict(cfg.loop)}, cfg.loop, RunArgs.of(a), batches)


if __name__ == "__main__":
    main()
