"""Trains the ShapesWorld U-ViT. Data is rendered on the fly (never from files), so every batch is new.

  /usr/bin/python3 -m models.shapesworld.train --config cpu-tiny --steps 30 --out /tmp/tiny      # CI: seconds
  torchrun --nproc_per_node 2 --redirects 1 --tee 1 -m models.shapesworld.train --config bundled-cpu --max-minutes 60 --out runs/pixel
  torchrun --standalone --nproc_per_node 1 --redirects 1 --tee 1 -m models.shapesworld.train --config gpu --max-minutes 8 \
      --checkpoint-minutes 2 --out ckpt --resume   # H100; repeat 3×

Training is the library's loop (models/core/loop.py): EMA, checkpoints, resume, DDP under torchrun.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

import torch
from torch import nn

from ..core.loop import LoopConfig, Objective, RunArgs, process_share, run
from ..core.run_args import loop_overrides, overridden, training_parser
from ..core.schedule import T_MAX, alpha_sigma
from ..core.uvit import UViT, UViTConfig
from .checkpoints import PIXEL_UVIT, read
from .grammar import COLOURS, SHAPES, VOCABULARY, sample_split
from .text import tokenize
from .world import Scene, render, sample_scene


@dataclass
class TrainConfig:
    model: UViTConfig
    batch: int
    lr: float
    warmup: int
    min_snr_gamma: float
    prompt_dropout: float     # share of unconditional samples, for classifier-free guidance
    ema: float
    probe_weight: float = 0.02  # weight of the ObjectProbe's loss beside the denoising loss
    terminal_share: float = 0.1  # share of samples drawn at t_max from pure noise (see loss_fn)
    fps_range: tuple = (6.0, 60.0)
    max_t0: float = 4.0       # windows start anywhere in the first seconds of a clip

    def loop(self) -> LoopConfig:
        # The rate of a --cosine run ends at 0.
        return LoopConfig(batch=self.batch, lr=self.lr, warmup=self.warmup, ema=self.ema, lr_floor=0.0, weight_decay=0.01, betas=(0.9, 0.99))


# The bundled architecture, chosen by measurement: 4-frame × 16 px patches (112 video tokens) and an MLP patch decoder;
# a 2 s clip at 24 fps (4 windows × 12 DPM-Solver++ steps, CFG as batch 2) takes 1.5–1.8 s in onnxruntime-node on the
# 2-core CPU (`longshot bench`), far under the 10 s budget, so the budget goes to training steps.
BUNDLED = UViTConfig(frames=16, height=64, width=112, patch=(4, 16, 16), width_dim=128, depth=7, heads=4, text_len=24,
                     context_frames=4, decoder_hidden=256)

CONFIGS = {
    # A few seconds on CPU: proves the loop learns and the export loads (CI).
    "cpu-tiny": TrainConfig(UViTConfig(frames=8, height=16, width=32, patch=(2, 8, 8), width_dim=32, depth=3, heads=2,
                                       text_len=24, context_frames=2), batch=8, lr=2e-3, warmup=5, min_snr_gamma=5.0,
                            prompt_dropout=0.1, ema=0.9),
    # What the 2-core CPU trains (torchrun, two processes; ~0.46 s a step).
    "bundled-cpu": TrainConfig(BUNDLED, batch=16, lr=1e-3, warmup=200, min_snr_gamma=5.0,
                               prompt_dropout=0.1, ema=0.999),
    # The same network on an H100 (≤ 25 min as 9-minute calls with --resume): its result ships in the same budget.
    "gpu": TrainConfig(BUNDLED, batch=128, lr=1e-3, warmup=300, min_snr_gamma=5.0,
                       prompt_dropout=0.1, ema=0.999),
}


def known_masks(batch: int, frames: int, context: int, rng: random.Random) -> torch.Tensor:
    """[B, F] known-frame masks: none (B-roll), first k (extend, long clips), last k (extend head), first k and
    last k (fill), with k in 1..context."""
    known = torch.zeros(batch, frames)
    for b in range(batch):
        mode = rng.choices(["none", "first", "last", "both"], weights=[0.35, 0.3, 0.15, 0.2])[0]
        k = rng.randint(1, context)
        if mode in ("first", "both"):
            known[b, :k] = 1
        if mode in ("last", "both"):
            known[b, frames - rng.randint(1, context):] = 1
    return known


class ObjectProbe(nn.Module):
    """A training-only head on the patch tokens the patch decoder reads: which palette colours cover each patch, and
    the shape of the object covering most of it. The denoising loss hardly depends on the prompt (a small object's
    colour shows in x_t as soon as its place does, and where it is not yet shown the object's few pixels weigh
    little), so alone it leaves the words unread: a 3,700-step run lowered the object-pixel error by 0 % with the
    prompt at t = 0.6 and by 8 % at t = 0.95. At high noise the probe can only be right by reading the words, so its
    gradient teaches the shared network to carry them into the patches, while the decoder stays an unbiased
    denoiser. Not exported."""

    def __init__(self, dim: int):
        super().__init__()
        self.head = nn.Linear(dim, len(COLOURS) + len(SHAPES))

    def loss(self, features: torch.Tensor, targets: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
        colour_target, shape_target, token_weight = targets                  # [B, N, 6], [B, N], [B, N]
        logits = self.head(features)                                          # B N (6 + 3)
        colour_logits, shape_logits = logits[..., : len(COLOURS)], logits[..., len(COLOURS):]
        # Objects cover few patches: positives weigh 10×, so "nothing anywhere" is not the easy answer.
        colour = nn.functional.binary_cross_entropy_with_logits(colour_logits, colour_target, reduction="none",
                                                                pos_weight=torch.full((len(COLOURS),), 10.0, device=features.device))
        total = (colour.mean(-1) * token_weight).sum() / (token_weight.sum() + 1e-8)
        shape_target = torch.where(token_weight > 0, shape_target, torch.full_like(shape_target, -100))
        if (shape_target >= 0).any():
            total = total + nn.functional.cross_entropy(shape_logits.flatten(0, 1), shape_target.flatten(), ignore_index=-100)
        return total


def probe_targets(coverage: torch.Tensor, scene: Scene, known: torch.Tensor, patch: tuple) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per patch token, in the network's token order: palette colours covering ≥ 10 % of it [B, N, 6], the shape of
    the object covering most of it or -100 [B, N], and 1 where the token's frames are generated, 0 where known."""
    b, f, slots, h, w = coverage.shape
    pt, ph, pw = patch
    gt, gh, gw = f // pt, h // ph, w // pw
    # B (gt pt) S (gh ph) (gw pw) -> B (gt gh gw) S
    share = coverage.reshape(b, gt, pt, slots, gh, ph, gw, pw).mean((2, 5, 7)).permute(0, 1, 3, 4, 2).reshape(b, gt * gh * gw, slots)
    covered = share > 0.1
    palette = nn.functional.one_hot(scene.colour_id.to(coverage.device), len(COLOURS)).float()       # B S 6
    colour_target = (covered.unsqueeze(-1).float() * palette.unsqueeze(1)).amax(2)                  # B N 6
    best_share, best = share.max(-1)
    shape_target = torch.where(best_share > 0.1, scene.shape.to(coverage.device).gather(1, best), torch.full_like(best, -100))
    token_weight = (1 - known.reshape(b, gt, pt).amin(-1)).repeat_interleave(gh * gw, dim=1)         # B N
    return colour_target, shape_target, token_weight


def make_batch(cfg: TrainConfig, rng: random.Random):
    """Renders a batch: clean frames [-1, 1], known masks, fps, tokens, and the ObjectProbe's targets."""
    m = cfg.model
    prompts = [sample_split(rng, held_out=False) for _ in range(cfg.batch)]
    scene = sample_scene(prompts, rng, m.width / m.height)
    lo, hi = math.log(cfg.fps_range[0]), math.log(cfg.fps_range[1])
    fps = torch.tensor([math.exp(rng.uniform(lo, hi)) for _ in range(cfg.batch)])
    t0 = torch.tensor([rng.uniform(0, cfg.max_t0) for _ in range(cfg.batch)])
    times = t0.unsqueeze(1) + torch.arange(m.frames).unsqueeze(0) / fps.unsqueeze(1)
    frames, coverage = render(scene, times, m.height, m.width)
    x0 = frames / 127.5 - 1
    known = known_masks(cfg.batch, m.frames, m.context_frames, rng)
    tokens = tokenize([p if rng.random() >= cfg.prompt_dropout else "" for p in prompts], m.text_len)
    return x0, known, fps, tokens, probe_targets(coverage, scene, known, m.patch)


def loss_fn(model: UViT, probe: ObjectProbe, cfg: TrainConfig, batch, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The denoising loss and the ObjectProbe's loss; training minimises denoising + probe_weight · probe."""
    x0, known, fps, tokens, targets = batch
    b = x0.shape[0]
    t = torch.rand(b, generator=generator).to(x0.device) * T_MAX
    # Sampling starts at t_max from pure noise, but a training x_t near t_max still holds alpha·x0, and a window's
    # mean over its 114,688 values a channel shows the background through the noise (about 1 σ at t = 0.999, 10 σ
    # at 0.99): the network learns to read the background from the noise, not from the prompt (at 4,600 steps, 6 of
    # 24 clips had the wrong one, 5 of them beige drawn black). So a share of samples are drawn at t_max with no
    # signal at all, where only the prompt can say what the clip holds.
    terminal = torch.rand(b, generator=generator).to(x0.device) < cfg.terminal_share
    t = torch.where(terminal, torch.full_like(t, T_MAX), t)
    alpha, sigma = (v.view(b, 1, 1, 1, 1) for v in alpha_sigma(t))
    alpha = torch.where(terminal.view(b, 1, 1, 1, 1), torch.zeros_like(alpha), alpha)
    sigma = torch.where(terminal.view(b, 1, 1, 1, 1), torch.ones_like(sigma), sigma)
    eps = torch.randn(x0.shape, generator=generator).to(x0.device)
    k = known.view(b, -1, 1, 1, 1)
    x_t = (alpha * x0 + sigma * eps) * (1 - k) + x0 * k
    x0_pred, features = model.denoise_with_features(x_t, known, t, fps, tokens)
    snr = (alpha / sigma.clamp(min=1e-4)) ** 2
    # The v-loss in x0 terms weighs the x0 error by snr + 1; min-SNR-γ caps it, so nearly clean samples do not
    # dominate, and the noisiest ones (where the prompt decides the layout) keep weight 1.
    time_weight = torch.clamp(snr, max=cfg.min_snr_gamma) + 1
    # No per-pixel weight on objects: a weight that depends on the clean frame moves the optimum away from
    # E[x0 | x_t], and at high noise the denoiser paints object colours everywhere (0.1.0 and a 750-step run with
    # object pixels weighted 20x drew screens of coloured patches).
    per_pixel = (x0_pred - x0) ** 2 * time_weight * (1 - k)                   # loss only on unknown frames
    denoising = per_pixel.sum() / ((1 - k).expand_as(per_pixel).sum() + 1e-8)
    return denoising, probe.loss(features, targets)


def widen_temporal_patch(weights: dict, old_frames: int, model: UViT) -> dict:
    """A checkpoint's weights for `model` whose patches span r× the frames: each new token starts as the mean of
    the r old tokens it covers (patch embedding split evenly over its frames, positions averaged) and decodes every
    span of old_frames frames as the old decoder did. The transformer itself carries over unchanged."""
    new_frames = model.cfg.patch[0]
    if new_frames == old_frames:
        return weights
    if new_frames % old_frames:
        raise ValueError(f"--init: temporal patch {old_frames} does not divide {new_frames}")
    r = new_frames // old_frames
    out = dict(weights)
    w = weights["patch_embed.weight"]                                    # D (pt ph pw C')
    out["patch_embed.weight"] = w.reshape(w.shape[0], old_frames, -1).repeat(1, r, 1).reshape(w.shape[0], -1) / r
    pos = weights["pos_embed"]                                           # 1 (gt gh gw) D
    gt = model.cfg.grid[0]
    out["pos_embed"] = pos.reshape(1, gt, r, -1, pos.shape[-1]).mean(2).reshape(1, -1, pos.shape[-1])
    last = f"decoder_pred.{len(model.decoder_pred) - 1}"
    for name in (f"{last}.weight", f"{last}.bias"):                     # (pt ph pw C) ...
        v = weights[name]
        out[name] = v.reshape(old_frames, -1, *v.shape[1:]).repeat(r, *([1] * v.dim())).reshape(-1, *v.shape[1:])
    return out


class PixelObjective(Objective):
    """The U-ViT's denoising loss plus the ObjectProbe's (loss_fn); the probe trains beside the network and is saved
    with the checkpoint, not exported."""

    def __init__(self, network: UViT, probe: ObjectProbe, cfg: TrainConfig):
        super().__init__()
        self.network, self.probe, self.cfg = network, probe, cfg

    def forward(self, batch, generator: torch.Generator) -> dict[str, torch.Tensor]:
        denoising, probe = loss_fn(self.network, self.probe, self.cfg, batch, generator)
        return {"loss": denoising + self.cfg.probe_weight * probe, "denoising": denoising, "probe": probe}


def main() -> None:
    ap = training_parser(__doc__, CONFIGS, "start from this checkpoint's raw weights (a new optimiser, step 0); its temporal patch may be a divisor of the config's")
    loop_overrides(ap)
    a = ap.parse_args()
    cfg = CONFIGS[a.config]
    loop = overridden(cfg.loop(), a)
    torch.manual_seed(a.seed)  # the same initial weights in every process
    model = UViT(replace(cfg.model, vocab=len(VOCABULARY)))
    share = replace(cfg, batch=process_share(loop.batch))
    rngs = {}

    def batches(rank: int, step: int):
        # The data stream is seeded per resume point and process, so a resumed run sees new clips, reproducibly.
        return make_batch(share, rngs.setdefault(rank, random.Random((a.seed * 1_000_003 + step) * 64 + rank)))

    def load_init(objective: PixelObjective, state: dict) -> None:
        objective.network.load_state_dict(widen_temporal_patch(state["model"], state["model_config"]["patch"][0], objective.network))
        probe = {k[len("probe."):]: v for k, v in state.get("objective", {}).items() if k.startswith("probe.")} or state.get("probe")
        if probe:
            objective.probe.load_state_dict(probe)

    run(PIXEL_UVIT, PixelObjective(model, ObjectProbe(cfg.model.width_dim), cfg), model.cfg.to_json(), a.config, loop, RunArgs.of(a), batches,
        read_init=lambda path: read(path, PIXEL_UVIT), load_init=load_init)


if __name__ == "__main__":
    main()
