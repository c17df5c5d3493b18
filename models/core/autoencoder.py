"""The frame autoencoder of latent packages (one file): each frame becomes a short code vector, the U-ViT works on
those codes, and the decoder turns them back into whole frames. Sora, Vidu and LTX-Video run their transformers on
such learned latents; here the latent is one vector a frame, so a 16-frame window is 16 video tokens.

  encoder: frames [N, 3, H, W] in [-1, 1] → conv grid [N, G, H/16, W/16] → MLP → code [N, D]
  decoder: code [N, D] → MLP → conv grid → transposed convs → a full-resolution 3×3 block → frames

Trained in two phases (models/shapesworld/train_autoencoder.py): the convolutional grid alone first (it learns where things
are quickly), then the code MLPs with the convolutions frozen. Whole-frame codes are what let the U-ViT draw
whole, separate objects (the calibration: crisp objects from 32-float codes, smears from the 224-float grid).
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
    decoder_full_res: int = 32            # channels of the full-resolution conv block before the RGB output

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
    def __init__(self, cfg: FrameAEConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        g, gh, gw = cfg.grid
        layers, cin = [], 3
        for cout in c:
            layers.append(_conv_act(cin, cout, 2))
            cin = cout
        self.encode_grid = nn.Sequential(*layers, nn.Conv2d(cin, g, 1))
        flat = g * gh * gw
        self.to_code = nn.Sequential(nn.Linear(flat, cfg.code_hidden), nn.SiLU(), nn.Linear(cfg.code_hidden, cfg.code))
        self.from_code = nn.Sequential(nn.Linear(cfg.code, cfg.code_hidden), nn.SiLU(), nn.Linear(cfg.code_hidden, flat))
        up, cin = [nn.Conv2d(g, c[-1], 1), nn.SiLU()], c[-1]
        for cout in (*reversed(c[:-1]), cfg.decoder_full_res):
            up += [nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.SiLU()]
            cin = cout
        # A 3×3 conv at full resolution, so edges are drawn at the frame's own pixels (sharper corners).
        self.decode_grid = nn.Sequential(*up, _conv_act(cin, cin), nn.Conv2d(cin, 3, 1))

    def grid_of(self, frames: torch.Tensor) -> torch.Tensor:
        """frames [N, 3, H, W] → conv grid [N, G, h, w]."""
        return self.encode_grid(frames)

    def code_of_grid(self, grid: torch.Tensor) -> torch.Tensor:
        return self.to_code(grid.flatten(1))                                   # N D

    def grid_of_code(self, code: torch.Tensor) -> torch.Tensor:
        return self.from_code(code).view(code.shape[0], *self.cfg.grid)        # N G h w

    def frames_of_grid(self, grid: torch.Tensor) -> torch.Tensor:
        return self.decode_grid(grid)                                          # N 3 H W

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """frames [N, 3, H, W] in [-1, 1] → codes [N, D] (the package's encoder graph, before scale and shift)."""
        return self.code_of_grid(self.grid_of(frames))

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        """codes [N, D] → frames [N, 3, H, W] in [-1, 1] (the package's decoder graph, after scale and shift)."""
        return self.frames_of_grid(self.grid_of_code(code))

