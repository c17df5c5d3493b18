"""The Python twin of the engine's sampler (daemon/engine): DPM-Solver++(2M) on a log-SNR-uniform grid with
classifier-free guidance as a batch of 2, one window of F frames at a time, the last K frames of a clip carried as
known references into the next. The evaluation scripts sample checkpoints with it, so their figures are the product's.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Callable

import torch

from .schedule import COSINE_S, T_MAX, alpha_sigma

LOGSNR_T_END = 1e-3   # where the engine's log-SNR grid ends (daemon/engine/schedule.ts)
LOWER_ORDER_FINAL_BELOW = 15   # below this many steps the last one is first order (daemon/engine/dpmpp-2m.ts)
# Guidance applies at t >= this only (model.json's guidance_interval; the engine's pipeline). At 12 steps it leaves
# the last two (t = 0.021, 0.005) to the prompt's prediction alone: guided there, still objects drifted 4x as far
# across a continued window (0.0016 against 0.00035 H) and B-roll passed 96.5 % against 97.5 % (the card, 0.9.0).
GUIDANCE_T_MIN = 0.04


def sampling_arguments(ap: argparse.ArgumentParser, guidance: float) -> None:
    """The options every sampling script shares: frame rate, solver steps, guidance scale and interval."""
    ap.add_argument("--fps", type=float, default=24.0)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--guidance", type=float, default=guidance)
    ap.add_argument("--guidance-t-min", type=float, default=GUIDANCE_T_MIN,
                    help="guidance applies at noise levels t >= this only, as a package's guidance_interval (0: everywhere)")


def half_lambda(t: torch.Tensor) -> torch.Tensor:
    alpha, sigma = alpha_sigma(t)
    return torch.log(alpha) - torch.log(sigma)


def t_from_lambda(lam: torch.Tensor) -> torch.Tensor:
    """Inverse of half_lambda for the cosine schedule."""
    s = COSINE_S
    alpha = 1 / torch.sqrt(1 + torch.exp(-2 * lam))
    f0 = math.cos(math.pi / 2 * s / (1 + s))
    return (2 / math.pi) * torch.acos(alpha * f0) * (1 + s) - s


def sampling_grid(steps: int) -> torch.Tensor:
    """steps + 1 times from T_MAX down, uniform in log-SNR, ending at LOGSNR_T_END (as the engine's grid)."""
    start, end = half_lambda(torch.tensor(T_MAX, dtype=torch.float64)), half_lambda(torch.tensor(LOGSNR_T_END, dtype=torch.float64))
    grid = t_from_lambda(start + (end - start) * torch.arange(steps + 1, dtype=torch.float64) / steps)
    grid[0] = T_MAX
    return grid


@torch.no_grad()
def sample_window(model: torch.nn.Module, x_known: torch.Tensor, known: torch.Tensor, fps: torch.Tensor, tokens: torch.Tensor,
                  steps: int, guidance: float, generator: torch.Generator, guidance_t_min: float = 0.0,
                  noise: torch.Tensor | None = None, uncond: torch.Tensor | None = None,
                  clip_range: tuple[float, float] | None = None) -> torch.Tensor:
    """One window [B, F, C, H, W]: DPM-Solver++(2M) in data prediction; known frames stay clean references; guidance
    at t >= guidance_t_min, the prompt's prediction alone below. `noise` is x_T (drawn from `generator` when None);
    `uncond` the unconditional text input (all-zero token ids when None; a text encoder's output of "" for a package
    with one); `clip_range` clips each x0 estimate as the engine does in pixel space (None: latents, unbounded)."""
    b = x_known.shape[0]
    k = known.view(b, known.shape[1], *([1] * (x_known.dim() - 2)))  # B F 1 … (frames or latents)
    x = torch.randn(x_known.shape, generator=generator) if noise is None else noise
    uncond = torch.zeros_like(tokens) if uncond is None else uncond
    grid = sampling_grid(steps)
    previous_x0, previous_h = None, 0.0
    for i in range(steps):
        t, t_next = float(grid[i]), float(grid[i + 1])
        alpha, sigma = (float(v) for v in alpha_sigma(torch.tensor(t, dtype=torch.float64)))
        alpha_next, sigma_next = (float(v) for v in alpha_sigma(torch.tensor(t_next, dtype=torch.float64)))
        x_in = x * (1 - k) + x_known * k
        v = model(torch.cat([x_in, x_in]), torch.cat([known, known]), torch.full((2 * b,), t), torch.cat([fps, fps]),
                  torch.cat([tokens, uncond]))
        scale = guidance if t >= guidance_t_min else 1.0
        v = v[b:] + scale * (v[:b] - v[b:])
        x0 = alpha * x_in - sigma * v
        if clip_range is not None:
            x0 = x0.clamp(*clip_range)
        h = math.log(alpha_next / sigma_next) - math.log(alpha / sigma)
        on_d = -alpha_next * math.expm1(-h)
        if previous_x0 is None:
            d = x0
        else:
            half = h / (2 * previous_h)
            d = (1 + half) * x0 - half * previous_x0
        # The last step returns the clean part of the sample it lands on, as the engine's does (daemon/engine/
        # dpmpp-2m.ts): x0, first order, below LOWER_ORDER_FINAL_BELOW steps (the 2M blend made still objects
        # drift), else the blend d. That sample's noise (sigma 0.006 at t = 1e-3) is 0.003 H of position.
        if i == steps - 1:
            x = x0 if steps < LOWER_ORDER_FINAL_BELOW else d
        else:
            x = (sigma_next / sigma) * x_in + on_d * d
        previous_x0, previous_h = x0, h
    return x * (1 - k) + x_known * k


@torch.no_grad()
def sample_sequence(network: torch.nn.Module, frames: int, context_frames: int, frame_shape: tuple, tokens: torch.Tensor,
                    frame_count: int, fps: float, steps: int, guidance: float, generator: torch.Generator,
                    guidance_t_min: float = 0.0, clip_range: tuple[float, float] | None = None) -> torch.Tensor:
    """B-roll in the model's space [B, N, *frame_shape] (frames, or latents): forward windows, each headed by the last
    K frames made so far; `clip_range` as sample_window's."""
    b = tokens.shape[0]
    fps_t = torch.full((b,), float(fps))
    clip = torch.zeros(b, 0, *frame_shape)
    while clip.shape[1] < frame_count:
        head = clip[:, -context_frames:] if clip.shape[1] else clip
        window = torch.zeros(b, frames, *frame_shape)
        window[:, : head.shape[1]] = head
        known = torch.zeros(b, frames)
        known[:, : head.shape[1]] = 1
        out = sample_window(network, window, known, fps_t, tokens, steps, guidance, generator, guidance_t_min, clip_range=clip_range)
        clip = torch.cat([clip, out[:, head.shape[1]:]], dim=1)
    return clip[:, :frame_count]


@torch.no_grad()
def sample_clips(model: "Sampled", prompts: list[str], frame_count: int, fps: float, steps: int, guidance: float, seed: int,
                 guidance_t_min: float = 0.0) -> torch.Tensor:
    """B-roll clips [B, N, C, H, W] in [-1, 1], sampled in the model's space (frames, or latents that are decoded once
    at the end)."""
    clip = sample_sequence(model.network, model.frames, model.context_frames, model.frame_shape, model.tokenize(prompts, model.text_len),
                           frame_count, fps, steps, guidance, torch.Generator().manual_seed(seed), guidance_t_min, model.clip_range)
    return model.to_frames(clip.flatten(0, 1)).view(len(prompts), frame_count, 3, *model.native)


DECODE_CHUNK = 64   # frames a decoder call


@dataclass
class Sampled:
    """A checkpoint as the sampler sees it: the network, its window geometry, the space it samples in and how it reads
    a prompt (a world's loader makes one: models/shapesworld/checkpoints.py)."""
    network: torch.nn.Module
    frames: int
    context_frames: int
    text_len: int
    frame_shape: tuple           # one sampled frame: (C, H, W) pixels or the latent's shape
    native: tuple                # (H, W) of the frames
    to_frames: Callable[[torch.Tensor], torch.Tensor]  # sampled frames [N, …] → pixel frames [N, 3, H, W]
    tokenize: Callable[[list[str], int], torch.Tensor]  # prompts → the network's text input (its world's tokenizer)
    clip_range: tuple[float, float] | None = None  # x0 estimates clipped here, as the engine does for pixel packages
