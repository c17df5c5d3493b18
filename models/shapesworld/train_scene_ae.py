"""Trains the object-centric frame autoencoder (models/shapesworld/scene_autoencoder.py) on frames rendered on the fly.

  /usr/bin/python3 -m models.shapesworld.train_scene_ae --config scene-tiny --steps 20 --out /tmp/sae                 # CI: seconds
  /usr/bin/python3 -m models.shapesworld.train_scene_ae --config scene-bundled --max-minutes 40 --out runs/sae [--resume | --init F]
  /usr/bin/python3 -m models.shapesworld.train_scene_ae --config scene-drawing --init F --max-minutes 10 --out runs/sae-draw   # decoder only, at 256 px
  torchrun --standalone --nproc_per_node 1 --redirects 1 --tee 1 -m models.shapesworld.train_scene_ae --config scene-bundled --batch 128 \
      --loader-workers 6 --max-minutes 8 --out $OUT/sae --init F   # the lent H200

Its two halves learn side by side from the same batch, each against the renderer's truth: the encoder's segmentation
learns each pixel's palette coverage (weighted cross-entropy) and its per-colour reading learns what is there
(cross-entropy on background, presence and shape; Huber error on position and log size), the decoder draws each
frame from its true state with noise on the one-hots (so the U-ViT's imperfect latents still draw clean objects),
against every pixel's palette coverage. `scene-drawing` fits the decoder alone at the size the package draws (4×
native): an atlas fitted at 64 px is only as exact as 64 px pixels, and seams are judged at 256 px. Checkpoints every
few minutes (last.pt, resumable); loss.csv has the curve (the library's loop, models/core/loop.py; its rate always
falls along a cosine over the run).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, replace

import torch
from torch.nn import functional as F

from ..core.batch_stream import endless_batches
from ..core.loop import LoopConfig, Objective, RunArgs, process_share, run
from ..core.run_args import loop_overrides, overridden, training_parser
from .checkpoints import SCENE_AE, read
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

    def loop(self) -> LoopConfig:
        # No average (ema 0): the autoencoder's checkpoints are its weights, as before the library's loop.
        return LoopConfig(batch=self.batch, lr=self.lr, warmup=self.warmup, ema=0.0, lr_floor=0.05, betas=(0.9, 0.99), tf32=True)


CONFIGS = {
    "scene-tiny": SceneAETrainConfig(SceneAEConfig(height=32, width=48, segment=8, hidden=32, atlas=16),
                                     batch=8, lr=3e-3, warmup=5),
    # AE run 3, the bundled encoder (on the lent H200: --batch 128, rendered by loader processes; AE run 5, not shipped).
    "scene-bundled": SceneAETrainConfig(SceneAEConfig(), batch=32, lr=2e-3, warmup=100),
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
    noisy[:, one_hot] += cfg.one_hot_noise * torch.randn(z.shape[0], LATENT - len(GEOMETRY), generator=generator).to(z.device)
    return coverage_loss(ae.palette_probabilities(noisy).clamp(min=1e-6).log(), target, weight)


class SceneAEObjective(Objective):
    """Both halves' losses on one batch (the encoder's only when it trains), for the library's loop."""

    def __init__(self, network: SceneAutoencoder, cfg: SceneAETrainConfig):
        super().__init__()
        self.network, self.cfg = network, cfg

    def forward(self, batch, generator: torch.Generator) -> dict[str, torch.Tensor]:
        frames, z, target, weight, truth = batch
        dec = decoder_loss(self.network, self.cfg, z, target, weight, generator)
        enc = torch.zeros((), device=z.device) if self.cfg.decoder_only else encoder_loss(self.network, self.cfg, frames, z, target, weight, truth)
        return {"loss": enc + dec, "encoder": enc, "decoder": dec}


def main() -> None:
    ap = training_parser(__doc__, CONFIGS, "start from this autoencoder's weights, those whose names and shapes match (new optimiser, step 0)")
    ap.add_argument("--loader-workers", type=int, default=0, help="processes that render batches (a GPU run; 0: this process)")
    loop_overrides(ap)
    a = ap.parse_args()
    cfg = CONFIGS[a.config]
    loop = overridden(cfg.loop(), a)
    torch.manual_seed(a.seed)
    # Its weights do not depend on the frame size (moments and atlases are in frame heights), so a decoder fitted at
    # the drawing size is saved with the native config.
    ae = SceneAutoencoder(replace(cfg.model, height=cfg.model.height * cfg.draw_scale, width=cfg.model.width * cfg.draw_scale))
    if cfg.decoder_only:
        decoder = set(ae.decoder_parameters())
        for p in ae.parameters():
            p.requires_grad_(p in decoder)
    share = replace(cfg, batch=process_share(loop.batch))
    stream = {}

    def batches(rank: int, step: int):
        if "frames" not in stream:
            seed = (a.seed * 1_000_003 + step) * 64 + rank

            def frame_source(loader: int):
                rng = random.Random(seed + 7919 * loader)
                return lambda i: make_batch(share, rng)

            stream["frames"] = endless_batches(frame_source, a.loader_workers)
        return next(stream["frames"])

    def load_init(objective: SceneAEObjective, state: dict) -> None:
        """Weights whose names and shapes match (a decoder carries over to a new encoder design)."""
        own = objective.network.state_dict()
        objective.network.load_state_dict({k: v for k, v in state["model"].items() if k in own and own[k].shape == v.shape}, strict=False)

    run(SCENE_AE, SceneAEObjective(ae, cfg), cfg.model.to_json(), a.config, loop, replace(RunArgs.of(a), cosine=True), batches,
        read_init=lambda path: read(path, SCENE_AE), load_init=load_init)


if __name__ == "__main__":
    main()
