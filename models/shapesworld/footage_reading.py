"""How a latent ShapesWorld package reads an editor's footage: the scene autoencoder's encoder, then render and compare.

The encoder reads a frame's scene state in one pass, and an extend or a fill continues exactly what it read. Its
reading of footage (rendered large, H.264, scaled down) is 0.08 native px off at the median but 0.5–2 px off in the
tail: grown objects cut by the frame edge, objects beside another colour's edge; the seam check allows a still object
0.003 H (0.2 native px), so continuing the reading failed 15 % of seams that continuing the truth passes. The decoder
draws a scene state as the renderer does (0.1–0.4 levels off), so the reading is refined the way pose estimators
refine theirs: draw it, compare with the frame, and take damped Gauss–Newton steps on each present object's position
and size (Jacobian by finite differences, one batched decode a step), first at the native size and then at
READ_SCALE× it, where a pixel pins a position twice as finely. All of it is one traced graph (a package's
encoder.onnx, `models/shapesworld/export.py --read-scale 2`), so the daemon only reads reference frames at the graph's
input size.

Measured with 0.7.0's weights (third session of 2026-12-04): positions read more than 0.003 H off 25.8 → 12.9 %,
but refined sizes came out 1–2 % large, fitting a decoder that drew objects small at 448×256; through the product it
did not join footage better then. Against the refitted decoder (0.8.0, which draws as the renderer does): positions
more than 0.003 H off 7.7 %, log size off by a median 0.0025 (the encoder alone: 0.016), and on 40 prompts through
the product, with 0.8.0's U-ViT, fill seams 70 → 82.5 % and extend seams 87.5 % either way. The bundled package
reads this way (about 0.5 s a reference frame on one core, reported as the pipeline's reading stage).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .scene_autoencoder import GEOMETRY, LATENT, PRESENCE, SLOTS, SceneAutoencoder

READ_SCALE = 2          # reference frames are read at this many times the native size
REFINE_STEPS = 8        # Gauss–Newton steps at each size
FINITE_STEP = 1e-3      # the finite difference, in H (positions) and log size
DAMPING = 1e-3        # Levenberg–Marquardt's starting damping, relative to the mean curvature


def solve(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """x with a x = b for symmetric positive definite a [N, K, K] and b [N, K]: Gaussian elimination unrolled over the
    small K, because ONNX has no linear solver and a traced loop of elementwise ops exports as it is (rows are kept
    as separate tensors: an indexed assignment would export with the traced frame count in its indices)."""
    k = a.shape[-1]
    rows, rhs = [a[:, i] for i in range(k)], [b[:, i] for i in range(k)]
    for i in range(k):
        for j in range(i + 1, k):
            ratio = rows[j][:, i] / rows[i][:, i]
            rows[j] = rows[j] - ratio.unsqueeze(-1) * rows[i]
            rhs[j] = rhs[j] - ratio * rhs[i]
    x = [torch.zeros_like(rhs[0])] * k
    for i in reversed(range(k)):
        rest = sum((rows[i][:, j] * x[j] for j in range(i + 1, k)), torch.zeros_like(rhs[i]))
        x[i] = (rhs[i] - rest) / rows[i][:, i]
    return torch.stack(x, -1)


def refine(draw, z: torch.Tensor, frames: torch.Tensor, steps: int = REFINE_STEPS) -> torch.Tensor:
    """Damped Gauss–Newton on the geometry (GEOMETRY) of present slots of latents z [N, LATENT] so that draw(z) matches
    frames [N, 3, H, W]; a step that does not lower the squared error is refused and the damping raised tenfold."""
    # Traced into ONNX with a dynamic frame count: shapes come from tensors, never from a Python int of it.
    k = len(GEOMETRY)
    channels = torch.tensor(GEOMETRY)
    # Absent slots are not drawn: their channels stay as read (the U-ViT saw zeros there in training).
    # (unsqueeze and expand rather than repeat_interleave, whose ONNX form keeps the traced frame count)
    present = torch.stack([z[:, p] > 0.5 for p in PRESENCE], 1).unsqueeze(-1).expand(-1, -1, k // SLOTS).flatten(1).to(z.dtype)   # N K
    probes = torch.eye(LATENT, dtype=z.dtype)[channels] * FINITE_STEP                                          # K LATENT
    eye = torch.eye(k, dtype=z.dtype)
    damping = torch.full_like(z[:, 0], DAMPING)

    def residual(latents: torch.Tensor, repeats: int = 1) -> torch.Tensor:
        return (draw(latents) - frames.unsqueeze(1).expand(-1, repeats, -1, -1, -1).flatten(0, 1)).flatten(1)

    r = residual(z)
    error = (r * r).sum(1)
    for _ in range(steps):
        probed = (z.unsqueeze(1) + probes.unsqueeze(0)).flatten(0, 1)                    # N·K LATENT
        jacobian = ((residual(probed, k).view(-1, k, r.shape[1]) - r.unsqueeze(1)) / FINITE_STEP) * present.unsqueeze(-1)  # N K P
        curvature = jacobian @ jacobian.transpose(1, 2)                                  # N K K
        gradient = (jacobian @ r.unsqueeze(-1)).squeeze(-1)                              # N K
        scale = (curvature.diagonal(dim1=1, dim2=2) * present).sum(1) / present.sum(1).clamp(min=1) + 1e-9
        system = curvature + eye * (damping * scale).view(-1, 1, 1) + eye * (1 - present).unsqueeze(-1)
        delta = -solve(system, gradient) * present
        candidate = z + delta @ probes / FINITE_STEP
        r_new = residual(candidate)
        error_new = (r_new * r_new).sum(1)
        better = error_new < error
        z = torch.where(better.unsqueeze(-1), candidate, z)
        r = torch.where(better.unsqueeze(-1), r_new, r)
        error = torch.where(better, error_new, error)
        damping = torch.where(better, damping / 3, damping * 10)
    return z


class _EncoderAlone(nn.Module):
    def __init__(self, ae: nn.Module):
        super().__init__()
        self.ae = ae

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.ae.encode(frames)


def package_encoder(ae: nn.Module, read_scale: int) -> nn.Module:
    """What a package's encoder graph does with reference frames `read_scale`× the native size: the autoencoder's
    encoder alone at 1, above it a scene autoencoder's FootageReader (models/shapesworld/export.py and the evaluations share it)."""
    if read_scale == 1:
        return _EncoderAlone(ae)
    if not isinstance(ae, SceneAutoencoder):
        raise SystemExit(f"--read-scale {read_scale}: only a scene autoencoder refines its reading by drawing it; use --read-scale 1")
    return FootageReader(ae, read_scale)


class FootageReader(nn.Module):
    """frames [N, 3, READ_SCALE·H, READ_SCALE·W] in [-1, 1] → latents [N, LATENT]: the encoder's reading of the frame
    pooled to the native size, refined against it, then against the frame itself (the package's encoder graph)."""

    def __init__(self, ae: SceneAutoencoder, scale: int = READ_SCALE, steps: int = REFINE_STEPS):
        super().__init__()
        self.ae, self.drawer, self.scale, self.steps = ae, ae.drawing_at(scale), scale, steps

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        native = F.avg_pool2d(frames, self.scale)
        z = refine(self.ae.decode, self.ae.encode(native), native, self.steps)
        return refine(self.drawer.decode, z, frames, self.steps)
