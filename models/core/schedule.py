"""The noise schedule exactly as models/PACKAGE.md defines it (shared by training, export and the reference sampler
used for evaluation)."""
from __future__ import annotations

import math

import torch

COSINE_S = 0.008
T_MAX = 0.999


def alpha_sigma(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine schedule: alpha(t) = f(t) / f(0), f(t) = cos(π/2 · (t + s)/(1 + s)); sigma = sqrt(1 − alpha²)."""
    f = torch.cos(math.pi / 2 * (t + COSINE_S) / (1 + COSINE_S))
    f0 = math.cos(math.pi / 2 * COSINE_S / (1 + COSINE_S))
    alpha = (f / f0).clamp(0, 1)
    return alpha, torch.sqrt((1 - alpha ** 2).clamp(min=0))
