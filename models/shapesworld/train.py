"""Trains the ShapesWorld U-ViT. Data is rendered on the fly (never from files), so every batch is new.

  /usr/bin/python3 -m models.shapesworld.train --config cpu-tiny --steps 30 --out /tmp/tiny      # CI: seconds
  /usr/bin/python3 -m models.shapesworld.train --config bundled-cpu --workers 2 --threads 1 --max-minutes 60 --out models/shapesworld-uvit/checkpoints
  python3 -m models.shapesworld.train --config gpu --max-minutes 8 --checkpoint-minutes 2 --out ckpt --resume   # H100; repeat 3×
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import csv
import json
import math
import os
import random
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from ..core.run_args import training_parser
from ..core.schedule import T_MAX, alpha_sigma
from ..core.uvit import UViT, UViTConfig
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
    # What the 2-core CPU trains (`--workers 2 --threads 1`, ~0.46 s a step).
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


def make_batch(cfg: TrainConfig, rng: random.Random, device: torch.device):
    """Renders a batch: clean frames [-1, 1], known masks, fps, tokens, and the ObjectProbe's targets."""
    m = cfg.model
    prompts = [sample_split(rng, held_out=False) for _ in range(cfg.batch)]
    scene = sample_scene(prompts, rng, m.width / m.height)
    lo, hi = math.log(cfg.fps_range[0]), math.log(cfg.fps_range[1])
    fps = torch.tensor([math.exp(rng.uniform(lo, hi)) for _ in range(cfg.batch)])
    t0 = torch.tensor([rng.uniform(0, cfg.max_t0) for _ in range(cfg.batch)])
    times = t0.unsqueeze(1) + torch.arange(m.frames).unsqueeze(0) / fps.unsqueeze(1)
    frames, coverage = render(scene, times, m.height, m.width, device)
    x0 = frames / 127.5 - 1
    known = known_masks(cfg.batch, m.frames, m.context_frames, rng).to(device)
    tokens = tokenize([p if rng.random() >= cfg.prompt_dropout else "" for p in prompts], m.text_len).to(device)
    return x0, known, fps.to(device), tokens, probe_targets(coverage, scene, known, m.patch)


def loss_fn(model: UViT, probe: ObjectProbe, cfg: TrainConfig, batch, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The denoising loss and the ObjectProbe's loss; training minimises denoising + probe_weight · probe."""
    x0, known, fps, tokens, targets = batch
    b = x0.shape[0]
    t = torch.rand(b, generator=generator, device=x0.device) * T_MAX
    # Sampling starts at t_max from pure noise, but a training x_t near t_max still holds alpha·x0, and a window's
    # mean over its 114,688 values a channel shows the background through the noise (about 1 σ at t = 0.999, 10 σ
    # at 0.99): the network learns to read the background from the noise, not from the prompt (at 4,600 steps, 6 of
    # 24 clips had the wrong one, 5 of them beige drawn black). So a share of samples are drawn at t_max with no
    # signal at all, where only the prompt can say what the clip holds.
    terminal = torch.rand(b, generator=generator, device=x0.device) < cfg.terminal_share
    t = torch.where(terminal, torch.full_like(t, T_MAX), t)
    alpha, sigma = (v.view(b, 1, 1, 1, 1) for v in alpha_sigma(t))
    alpha = torch.where(terminal.view(b, 1, 1, 1, 1), torch.zeros_like(alpha), alpha)
    sigma = torch.where(terminal.view(b, 1, 1, 1, 1), torch.ones_like(sigma), sigma)
    eps = torch.randn(x0.shape, generator=generator, device=x0.device)
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


def save(path: Path, model: UViT, ema: UViT, probe: ObjectProbe, opt, step: int, cfg_name: str, seed: int, log: list) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "probe": probe.state_dict(), "opt": opt.state_dict(), "step": step,
                "config": cfg_name, "model_config": model.cfg.to_json(), "seed": seed, "log": log}, tmp)
    tmp.replace(path)


def main() -> None:
    ap = training_parser(__doc__, CONFIGS, "start from this checkpoint's weights (a new optimiser, step 0); its temporal patch may be a divisor of the config's")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads per worker (0: torch's default)")
    ap.add_argument("--workers", type=int, default=1,
                    help="CPU training processes sharing each batch (gradients averaged), one thread each")
    ap.add_argument("--batch", type=int, default=0, help="override the config's batch size (all workers together)")
    ap.add_argument("--lr", type=float, default=0.0, help="override the config's learning rate")
    ap.add_argument("--cosine", action="store_true",
                    help="decay the learning rate to 0 along a cosine over the run (--steps or --max-minutes, whichever ends it first)")
    a = ap.parse_args()
    if a.workers > 1:
        # One BLAS thread per worker: OpenBLAS otherwise starts a thread per core in each process, and they contend.
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
        port = 29500 + random.Random().randint(0, 2000)
        torch.multiprocessing.spawn(train, args=(a, a.workers, port), nprocs=a.workers)
    else:
        train(0, a, 1, 0)


def train(rank: int, a: argparse.Namespace, workers: int, port: int) -> None:
    if workers > 1:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=workers)
    if a.threads:
        torch.set_num_threads(a.threads)
    cfg = CONFIGS[a.config]
    cfg = replace(cfg, batch=(a.batch or cfg.batch) // workers, lr=a.lr or cfg.lr)
    lead = rank == 0
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "last.pt"
    torch.manual_seed(a.seed)  # the same initial weights in every worker
    model = UViT(replace(cfg.model, vocab=len(VOCABULARY))).to(device)
    probe = ObjectProbe(cfg.model.width_dim).to(device)
    if a.init:
        state = torch.load(a.init, map_location=device)
        model.load_state_dict(widen_temporal_patch(state["model"], state["model_config"]["patch"][0], model))
        if "probe" in state:
            probe.load_state_dict(state["probe"])
    ema = copy.deepcopy(model).eval()
    params = list(model.parameters()) + list(probe.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.01, betas=(0.9, 0.99))
    step, log = 0, []
    if a.resume and ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=device)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        probe.load_state_dict(state["probe"])
        opt.load_state_dict(state["opt"])
        step, log = state["step"], state["log"]
        if lead:
            print(json.dumps({"event": "resumed", "step": step}), flush=True)
    # The data stream is seeded per resume point and worker, so a resumed run sees new clips, reproducibly.
    stream_seed = (a.seed * 1_000_003 + step) * 64 + rank
    rng = random.Random(stream_seed)
    generator = torch.Generator(device=device).manual_seed(stream_seed)
    started = time.time()
    first_step = step
    last_ckpt = started
    running = running_probe = None
    if lead:
        print(json.dumps({"event": "start", "config": a.config, "params": sum(p.numel() for p in model.parameters()), "tokens": model.cfg.patch_tokens,
                          "device": str(device), "workers": workers, "batch": cfg.batch * workers}), flush=True)
    with open(out / "loss.csv", "a", newline="") if lead else contextlib.nullcontext() as csv_file:
        writer = csv.writer(csv_file) if lead else None
        while True:
            want_stop = step >= a.steps or (time.time() - started) / 60 >= a.max_minutes
            lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup)
            if a.cosine:
                done = max((step - first_step) / max(1, a.steps - first_step), (time.time() - started) / 60 / a.max_minutes)
                lr *= 0.5 * (1 + math.cos(math.pi * min(1.0, done)))
            for group in opt.param_groups:
                group["lr"] = lr
            with torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext():
                denoising, probe_loss = loss_fn(model, probe, cfg, make_batch(cfg, rng, device), generator)
            opt.zero_grad(set_to_none=True)
            (denoising + cfg.probe_weight * probe_loss).backward()
            value, probe_value = denoising.item(), probe_loss.item()
            if workers > 1:
                # One all-reduce a step: every gradient, the losses and the stop vote (any worker's clock stops all).
                flat = torch.cat([p.grad.flatten() for p in params] + [torch.tensor([value, probe_value, float(want_stop)])])
                dist.all_reduce(flat)
                flat /= workers
                offset = 0
                for p in params:
                    p.grad.copy_(flat[offset: offset + p.numel()].view_as(p))
                    offset += p.numel()
                value, probe_value, want_stop = float(flat[-3]), float(flat[-2]), bool(flat[-1] > 0)
            if want_stop:
                break
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            # EMA decay warms up, so a short run's average is not mostly the random initialisation.
            decay = min(cfg.ema, (1 + step) / (10 + step))
            with torch.no_grad():
                for pe, pm in zip(ema.parameters(), model.parameters()):
                    pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)
            step += 1
            running = value if running is None else 0.98 * running + 0.02 * value
            running_probe = probe_value if running_probe is None else 0.98 * running_probe + 0.02 * probe_value
            if not lead:
                continue
            if step % 10 == 0 or step == 1:
                writer.writerow([step, round(time.time() - started, 1), f"{value:.5f}", f"{running:.5f}", f"{running_probe:.5f}"])
                csv_file.flush()
                log.append((step, running))
            if step % 50 == 0 or step == 1:
                print(json.dumps({"event": "step", "step": step, "loss": round(value, 5), "smoothed": round(running, 5),
                                  "probe": round(running_probe, 5), "minutes": round((time.time() - started) / 60, 2)}), flush=True)
            if time.time() - last_ckpt > a.checkpoint_minutes * 60:
                save(ckpt_path, model, ema, probe, opt, step, a.config, a.seed, log)
                last_ckpt = time.time()
    if lead:
        save(ckpt_path, model, ema, probe, opt, step, a.config, a.seed, log)
        print(json.dumps({"event": "done", "step": step, "smoothed": running, "checkpoint": str(ckpt_path)}), flush=True)
    if workers > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
