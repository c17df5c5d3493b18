"""Trains the ShapesWorld U-ViT. Data is rendered on the fly (never from files), so every batch is new.

  /usr/bin/python3 -m models.train --config cpu-tiny --steps 30 --out /tmp/tiny      # CI: seconds
  /usr/bin/python3 -m models.train --config bundled-cpu --workers 2 --threads 1 --max-minutes 60 --out models/shapesworld-uvit/checkpoints
  python3 -m models.train --config gpu --max-minutes 8 --checkpoint-minutes 2 --out ckpt --resume   # H100; repeat 3×
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

from .diffusion import T_MAX, alpha_sigma, tokenize
from .shapesworld.grammar import VOCABULARY, sample_split
from .shapesworld.world import render, sample_scene
from .uvit import UViT, UViTConfig


@dataclass
class TrainConfig:
    model: UViTConfig
    batch: int
    lr: float
    warmup: int
    object_weight: float      # extra loss weight on object pixels (objects cover 1–4 % of pixels)
    min_snr_gamma: float
    prompt_dropout: float     # share of unconditional samples, for classifier-free guidance
    ema: float
    fps_range: tuple = (6.0, 60.0)
    max_t0: float = 4.0       # windows start anywhere in the first seconds of a clip


# The bundled architecture, chosen by measurement: a 2 s clip at 24 fps (4 windows × 12 DPM-Solver++ steps, CFG as
# batch 2) takes 7.4 s in onnxruntime-node on 2 loaded CPU threads (`longshot bench`), under the 10 s budget.
BUNDLED = UViTConfig(frames=16, height=64, width=112, patch=(2, 16, 16), width_dim=128, depth=7, heads=4, text_len=24,
                     context_frames=4)

CONFIGS = {
    # A few seconds on CPU: proves the loop learns and the export loads (CI).
    "cpu-tiny": TrainConfig(UViTConfig(frames=8, height=16, width=32, patch=(2, 8, 8), width_dim=32, depth=3, heads=2,
                                       text_len=24, context_frames=2), batch=8, lr=2e-3, warmup=5, object_weight=10.0,
                            min_snr_gamma=5.0, prompt_dropout=0.1, ema=0.9),
    # What one CPU core can train in under an hour.
    "bundled-cpu": TrainConfig(BUNDLED, batch=12, lr=1e-3, warmup=200, object_weight=20.0, min_snr_gamma=5.0,
                               prompt_dropout=0.1, ema=0.999),
    # The same network on an H100 (≤ 25 min as 9-minute calls with --resume): its result ships in the same budget.
    "gpu": TrainConfig(BUNDLED, batch=128, lr=1e-3, warmup=300, object_weight=20.0, min_snr_gamma=5.0,
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


def make_batch(cfg: TrainConfig, rng: random.Random, device: torch.device):
    """Renders a batch: clean frames [-1, 1], object masks, known masks, fps, tokens."""
    m = cfg.model
    prompts = [sample_split(rng, held_out=False) for _ in range(cfg.batch)]
    scene = sample_scene(prompts, rng, m.width / m.height)
    lo, hi = math.log(cfg.fps_range[0]), math.log(cfg.fps_range[1])
    fps = torch.tensor([math.exp(rng.uniform(lo, hi)) for _ in range(cfg.batch)])
    t0 = torch.tensor([rng.uniform(0, cfg.max_t0) for _ in range(cfg.batch)])
    times = t0.unsqueeze(1) + torch.arange(m.frames).unsqueeze(0) / fps.unsqueeze(1)
    frames, objects = render(scene, times, m.height, m.width, device)
    x0 = frames / 127.5 - 1
    known = known_masks(cfg.batch, m.frames, m.context_frames, rng).to(device)
    tokens = tokenize([p if rng.random() >= cfg.prompt_dropout else "" for p in prompts], m.text_len).to(device)
    return x0, objects, known, fps.to(device), tokens


def loss_fn(model: UViT, cfg: TrainConfig, batch, generator: torch.Generator) -> torch.Tensor:
    x0, objects, known, fps, tokens = batch
    b = x0.shape[0]
    t = torch.rand(b, generator=generator, device=x0.device) * T_MAX
    alpha, sigma = (v.view(b, 1, 1, 1, 1) for v in alpha_sigma(t))
    eps = torch.randn(x0.shape, generator=generator, device=x0.device)
    k = known.view(b, -1, 1, 1, 1)
    x_t = (alpha * x0 + sigma * eps) * (1 - k) + x0 * k
    x0_pred = model.denoise(x_t, known, t, fps, tokens)
    snr = (alpha / sigma.clamp(min=1e-4)) ** 2
    # The v-loss in x0 terms weighs the x0 error by snr + 1; min-SNR-γ caps it, so nearly clean samples do not
    # dominate, and the noisiest ones (where the prompt decides the layout) keep weight 1.
    time_weight = torch.clamp(snr, max=cfg.min_snr_gamma) + 1
    pixel_weight = 1 + cfg.object_weight * objects                            # objects matter more than background
    per_pixel = (x0_pred - x0) ** 2 * pixel_weight * time_weight * (1 - k)    # loss only on unknown frames
    return per_pixel.sum() / ((1 - k).expand_as(per_pixel).sum() + 1e-8)


def save(path: Path, model: UViT, ema: UViT, opt, step: int, cfg_name: str, seed: int, log: list) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step,
                "config": cfg_name, "model_config": model.cfg.to_json(), "seed": seed, "log": log}, tmp)
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", choices=sorted(CONFIGS), required=True)
    ap.add_argument("--out", required=True, help="checkpoint folder (last.pt, loss.csv)")
    ap.add_argument("--steps", type=int, default=10 ** 9)
    ap.add_argument("--max-minutes", type=float, default=10 ** 9)
    ap.add_argument("--checkpoint-minutes", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=1234, help="data and initialisation seed")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads per worker (0: torch's default)")
    ap.add_argument("--workers", type=int, default=1,
                    help="CPU training processes sharing each batch (gradients averaged), one thread each")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--batch", type=int, default=0, help="override the config's batch size (all workers together)")
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
    cfg = replace(cfg, batch=(a.batch or cfg.batch) // workers)
    lead = rank == 0
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "last.pt"
    torch.manual_seed(a.seed)  # the same initial weights in every worker
    model = UViT(replace(cfg.model, vocab=len(VOCABULARY))).to(device)
    ema = copy.deepcopy(model).eval()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01, betas=(0.9, 0.99))
    step, log = 0, []
    if a.resume and ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=device)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        step, log = state["step"], state["log"]
        if lead:
            print(json.dumps({"event": "resumed", "step": step}), flush=True)
    # The data stream is seeded per resume point and worker, so a resumed run sees new clips, reproducibly.
    stream_seed = (a.seed * 1_000_003 + step) * 64 + rank
    rng = random.Random(stream_seed)
    generator = torch.Generator(device=device).manual_seed(stream_seed)
    params = list(model.parameters())
    started = time.time()
    last_ckpt = started
    running = None
    if lead:
        print(json.dumps({"event": "start", "config": a.config, "params": sum(p.numel() for p in params), "tokens": model.cfg.patch_tokens,
                          "device": str(device), "workers": workers, "batch": cfg.batch * workers}), flush=True)
    with open(out / "loss.csv", "a", newline="") if lead else contextlib.nullcontext() as csv_file:
        writer = csv.writer(csv_file) if lead else None
        while True:
            want_stop = step >= a.steps or (time.time() - started) / 60 >= a.max_minutes
            lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup)
            for group in opt.param_groups:
                group["lr"] = lr
            with torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext():
                loss = loss_fn(model, cfg, make_batch(cfg, rng, device), generator)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            value = loss.item()
            if workers > 1:
                # One all-reduce a step: every gradient, the loss and the stop vote (any worker's clock stops all).
                flat = torch.cat([p.grad.flatten() for p in params] + [torch.tensor([value, float(want_stop)])])
                dist.all_reduce(flat)
                flat /= workers
                offset = 0
                for p in params:
                    p.grad.copy_(flat[offset: offset + p.numel()].view_as(p))
                    offset += p.numel()
                value, want_stop = float(flat[-2]), bool(flat[-1] > 0)
            if want_stop:
                break
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            # EMA decay warms up, so a short run's average is not mostly the random initialisation.
            decay = min(cfg.ema, (1 + step) / (10 + step))
            with torch.no_grad():
                for pe, pm in zip(ema.parameters(), params):
                    pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)
            step += 1
            running = value if running is None else 0.98 * running + 0.02 * value
            if not lead:
                continue
            if step % 10 == 0 or step == 1:
                writer.writerow([step, round(time.time() - started, 1), f"{value:.5f}", f"{running:.5f}"])
                csv_file.flush()
                log.append((step, running))
            if step % 50 == 0 or step == 1:
                print(json.dumps({"event": "step", "step": step, "loss": round(value, 5), "smoothed": round(running, 5),
                                  "minutes": round((time.time() - started) / 60, 2)}), flush=True)
            if time.time() - last_ckpt > a.checkpoint_minutes * 60:
                save(ckpt_path, model, ema, opt, step, a.config, a.seed, log)
                last_ckpt = time.time()
    if lead:
        save(ckpt_path, model, ema, opt, step, a.config, a.seed, log)
        print(json.dumps({"event": "done", "step": step, "smoothed": running, "checkpoint": str(ckpt_path)}), flush=True)
    if workers > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
