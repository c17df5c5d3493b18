"""The frame autoencoder of latent packages (one file): each frame becomes a short code vector, the U-ViT works on
those codes, and the decoder turns them back into whole frames. Sora, Vidu and LTX-Video run their transformers on
such learned latents; here the latent is one vector a frame, so a 16-frame window is 16 video tokens.

  encoder: frames [N, 3, H, W] in [-1, 1] → conv grid [N, G, H/16, W/16] → MLP → code [N, D]
  decoder: code [N, D] → MLP → conv grid → transposed convs → per-pixel weights over a colour codebook → frames

Trained in two phases (models/train_autoencoder.py): the convolutional grid alone first (it learns where things
are quickly), then the code MLPs end to end. The decoder's last layer mixes K learned colours per pixel
(softmax weights): anti-aliased edges are mixtures of two colours, flat fills are one, so the decoder cannot
smear a fill into a halo of off-palette colours (the calibration's conv decoder read squares at fill 0.75–0.85).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass
class FrameAEConfig:
    height: int = 64
    width: int = 112
    channels: tuple = (32, 64, 128, 128)  # conv widths at 1/2, 1/4, 1/8, 1/16 of the frame
    grid_channels: int = 8                # the conv grid: G × H/16 × W/16 floats
    code: int = 32                        # D, floats a frame
    code_hidden: int = 512
    codebook: int = 0                     # K > 0: the decoder mixes K learned colours per pixel; 0: it outputs RGB
    decoder_full_res: int = 32            # channels of the full-resolution conv block before the output
    level_convs: bool = False             # a 3×3 conv after each down/up-sampling (deeper; measured slower to learn)

    @property
    def grid(self) -> tuple[int, int, int]:
        return self.grid_channels, self.height // 16, self.width // 16

    def to_json(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d


def _conv_act(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.SiLU())


class FrameAutoencoder(nn.Module):
    def __init__(self, cfg: FrameAEConfig, palette: torch.Tensor | None = None):
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        g, gh, gw = cfg.grid
        layers, cin = [], 3
        for cout in c:
            layers += [_conv_act(cin, cout, 2), *([_conv_act(cout, cout)] if cfg.level_convs else [])]
            cin = cout
        self.encode_grid = nn.Sequential(*layers, nn.Conv2d(cin, g, 1))
        flat = g * gh * gw
        self.to_code = nn.Sequential(nn.Linear(flat, cfg.code_hidden), nn.SiLU(), nn.Linear(cfg.code_hidden, cfg.code))
        self.from_code = nn.Sequential(nn.Linear(cfg.code, cfg.code_hidden), nn.SiLU(), nn.Linear(cfg.code_hidden, flat))
        up, cin = [nn.Conv2d(g, c[-1], 1), nn.SiLU()], c[-1]
        for level, cout in enumerate((*reversed(c[:-1]), cfg.decoder_full_res)):
            last = level == len(c) - 1
            # The full-resolution block always has its 3×3 conv: edges are drawn at the frame's own pixels.
            up += [nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.SiLU(), *([_conv_act(cout, cout)] if cfg.level_convs or last else [])]
            cin = cout
        self.decode_grid = nn.Sequential(*up, nn.Conv2d(cin, cfg.codebook or 3, 1))
        if cfg.codebook:
            colours = torch.rand(cfg.codebook, 3) * 2 - 1
            if palette is not None:  # start from the world's colours; training may move them
                colours[: len(palette)] = palette
            self.colours = nn.Parameter(colours)  # K 3, in [-1, 1]

    def grid_of(self, frames: torch.Tensor) -> torch.Tensor:
        """frames [N, 3, H, W] → conv grid [N, G, h, w]."""
        return self.encode_grid(frames)

    def code_of_grid(self, grid: torch.Tensor) -> torch.Tensor:
        return self.to_code(grid.flatten(1))                                   # N D

    def grid_of_code(self, code: torch.Tensor) -> torch.Tensor:
        return self.from_code(code).view(code.shape[0], *self.cfg.grid)        # N G h w

    def frames_of_grid(self, grid: torch.Tensor) -> torch.Tensor:
        out = self.decode_grid(grid)
        if not self.cfg.codebook:
            return out                                                         # N 3 H W
        return torch.einsum("nkhw,kc->nchw", torch.softmax(out, dim=1), self.colours)

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """frames [N, 3, H, W] in [-1, 1] → codes [N, D] (the package's encoder graph, before scale and shift)."""
        return self.code_of_grid(self.grid_of(frames))

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        """codes [N, D] → frames [N, 3, H, W] in [-1, 1] (the package's decoder graph, after scale and shift)."""
        return self.frames_of_grid(self.grid_of_code(code))

