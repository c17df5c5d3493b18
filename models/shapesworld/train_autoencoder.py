"""Trains the frame autoencoder of the latent ShapesWorld package on frames rendered on the fly.

  /usr/bin/python3 -m models.shapesworld.train_autoencoder --config ae-tiny --steps 20 --grid-steps 10 --out /tmp/ae   # CI: seconds
  torchrun --nproc_per_node 2 --redirects 1 --tee 1 -m models.shapesworld.train_autoencoder --config ae-bundled --steps 4000 \
      --grid-steps 2400 --out runs/ae [--resume | --init last.pt]

Phase "grid" (the first --grid-steps) trains the convolutional encoder and decoder alone; phase "code" then trains
the code MLPs through the code vectors the U-ViT will see (with noise on the codes, so that imperfect codes still
decode). Checkpoints every few minutes (last.pt, resumable); loss.csv has the curve (the library's loop,
models/core/loop.py; its rate always falls along a cosine over the run).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, replace

import torch

from ..core.autoencoder import FrameAEConfig, FrameAutoencoder
from ..core.loop import LoopConfig, Objective, RunArgs, process_share, run
from ..core.run_args import loop_overrides, overridden, training_parser
from .checkpoints import FRAME_AE, read
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

    def loop(self) -> LoopConfig:
        # No average (ema 0): the autoencoder's checkpoints are its weights, as before the library's loop.
        return LoopConfig(batch=self.batch, lr=self.lr, warmup=self.warmup, ema=0.0, lr_floor=0.05, betas=(0.9, 0.99))


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


def loss_fn(ae: FrameAutoencoder, cfg: AEConfig, phase: str, frames: torch.Tensor, weight: torch.Tensor, generator: torch.Generator,
            code_rms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Grid phase: the frames' weighted reconstruction through the conv grid. Code phase: the conv parts are frozen
    and the code MLPs learn to carry the grid through D floats (noise on the codes, so imperfect codes still decode
    near the grid the decoder knows); the grid error is measured relative to the grid's own variance. Returns the
    loss and the codes' mean square (0 in the grid phase)."""
    if phase == "grid":
        return reconstruction_loss(ae.frames_of_grid(ae.grid_of(frames)), frames, weight), torch.zeros((), device=frames.device)
    with torch.no_grad():
        grid = ae.grid_of(frames)
    code = ae.code_of_grid(grid)
    noisy = code + cfg.code_noise * code_rms * torch.randn(code.shape, generator=generator).to(code.device)
    error = ((ae.grid_of_code(noisy) - grid) ** 2).mean() / grid.var()
    return error + cfg.code_penalty * (code ** 2).mean(), (code.detach() ** 2).mean()


class FrameAEObjective(Objective):
    """The autoencoder's loss in the phase its batch says (loss_fn), for the library's loop; `code_rms`, the codes'
    running RMS that the code noise is measured in, is saved with the checkpoint."""

    def __init__(self, network: FrameAutoencoder, cfg: AEConfig):
        super().__init__()
        self.network, self.cfg = network, cfg
        self.register_buffer("code_rms", torch.ones(()))

    def forward(self, batch, generator: torch.Generator) -> dict[str, torch.Tensor]:
        frames, weight, code_phase = batch
        phase = "code" if bool(code_phase) else "grid"
        loss, code_sq = loss_fn(self.network, self.cfg, phase, frames, weight, generator, self.code_rms)
        if phase == "code":
            with torch.no_grad():
                self.code_rms.mul_(0.99).add_(0.01 * code_sq.clamp(min=1e-12).sqrt())
        return {"loss": loss, "code_phase": code_phase.float()}


def main() -> None:
    ap = training_parser(__doc__, CONFIGS, "start from this autoencoder's weights (new optimiser, step 0; --grid-steps 0 trains its code MLPs only)")
    ap.add_argument("--grid-steps", type=int, required=True, help="steps of the grid phase before the code phase")
    loop_overrides(ap)
    a = ap.parse_args()
    cfg = CONFIGS[a.config]
    loop = overridden(cfg.loop(), a)
    torch.manual_seed(a.seed)
    ae = FrameAutoencoder(cfg.model)
    grid_batch = replace(cfg, batch=process_share(loop.batch))
    code_batch = replace(grid_batch, batch=grid_batch.batch * 4)  # the code phase's step is an encoder forward and two small MLPs
    rngs = {}

    def batches(rank: int, step: int):
        rng = rngs.setdefault(rank, random.Random((a.seed * 1_000_003 + step) * 64 + rank))
        code = step >= a.grid_steps
        return (*make_batch(code_batch if code else grid_batch, rng), torch.tensor(code))

    def load_init(objective: FrameAEObjective, state: dict) -> None:
        objective.network.load_state_dict(state["model"])

    # Each phase leaves the other's parameters without gradients: DDP is told so.
    run(FRAME_AE, FrameAEObjective(ae, cfg), cfg.model.to_json(), a.config, loop, replace(RunArgs.of(a), cosine=True), batches,
        read_init=lambda path: read(path, FRAME_AE), load_init=load_init, unused_parameters=True)


if __name__ == "__main__":
    main()
