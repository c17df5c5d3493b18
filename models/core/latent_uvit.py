"""U-ViT over frame latents (one file, the paper's terms): the diffusion time, the frame rate, the prompt's words and
one video token per `frames_per_token` frames (their latent codes and known-frame flags) are all tokens of one
transformer, through in-blocks, a mid-block and out-blocks joined by long skips. The frame autoencoder
(models/core/autoencoder.py, or a world's own) turns frames into the codes and back; this network only decides which
objects, where, and how they move. A world adds its own conditioning to the video tokens by subclassing
(condition_video; models/shapesworld/scene_uvit.py).

Padding words are masked out of attention, so a prompt means the same whether it is padded to the package's
text length (the engine) or to the longest prompt of a batch (training).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .schedule import alpha_sigma
from .uvit import Block, timestep_embedding


@dataclass
class LatentUViTConfig:
    frames: int = 16           # F, frames per window
    latent: int = 32           # floats of one frame's latent code
    frames_per_token: int = 1  # k frames' codes make one video token
    width_dim: int = 192       # D
    depth: int = 7             # in-blocks + mid-block + out-blocks (odd)
    heads: int = 4
    mlp_ratio: float = 4.0
    vocab: int = 31
    text_len: int = 24
    context_frames: int = 4
    # What the head outputs. "x0" (0.3.0): the clean latents, whose regression error (about 0.01 H in position)
    # stays even when the input is almost clean, which breaks seams and still objects. "v": x0 = alpha·x_t − sigma·v,
    # so near the end of sampling the output is the input plus a correction scaled by sigma (EDM's skip).
    predicts: str = "x0"
    # Each token also sees gain × (its latent − the previous frame's) where both frames are known (0: not at all).
    # A 0.4 H/s step at 24 fps is 0.04 of a position's spread: 0.3.0 could not read the direction of travel from its
    # known frames, and its continuations slowed to 0.1 H/s (the mean of left and right).
    velocity_gain: float = 0.0

    @property
    def video_tokens(self) -> int:
        return self.frames // self.frames_per_token

    def to_json(self) -> dict:
        return asdict(self)


class LatentUViT(nn.Module):
    """x [B, F, Z] (noisy latents; known frames clean), known [B, F], t [B] in [0, 1], fps [B], tokens [B, L]
    → v-prediction [B, F, Z] (the package's output; the network's own head predicts x0 or v, `predicts`)."""

    def __init__(self, cfg: LatentUViTConfig):
        super().__init__()
        self.cfg = cfg
        d, k = cfg.width_dim, cfg.frames_per_token
        # Each frame's latent and known-frame flag, then (velocity_gain > 0) each frame's known velocity.
        self.video_embed = nn.Linear(k * (cfg.latent + 1) + (k * cfg.latent if cfg.velocity_gain else 0), d)
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg.video_tokens, d))
        self.time_embed = nn.Sequential(nn.Linear(d, 4 * d), nn.SiLU(), nn.Linear(4 * d, d))
        self.fps_embed = nn.Sequential(nn.Linear(d, 4 * d), nn.SiLU(), nn.Linear(4 * d, d))
        self.word_embed = nn.Embedding(cfg.vocab, d)
        self.text_pos = nn.Parameter(torch.zeros(1, cfg.text_len, d))
        half = cfg.depth // 2
        self.in_blocks = nn.ModuleList([Block(d, cfg.heads, cfg.mlp_ratio) for _ in range(half)])
        self.mid_block = Block(d, cfg.heads, cfg.mlp_ratio)
        self.out_blocks = nn.ModuleList([Block(d, cfg.heads, cfg.mlp_ratio, skip=True) for _ in range(half)])
        self.norm = nn.LayerNorm(d)
        self.decoder_pred = nn.Linear(d, k * cfg.latent)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.text_pos, std=0.02)
        nn.init.zeros_(self.decoder_pred.weight)  # the untrained head outputs 0 (as DiT's zero-init)
        nn.init.zeros_(self.decoder_pred.bias)

    def forward(self, x: torch.Tensor, known: torch.Tensor, t: torch.Tensor, fps: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """The package's output: v = alpha·eps − sigma·x0 (models/PACKAGE.md)."""
        out = self.head(x, known, t, fps, tokens)
        if self.cfg.predicts == "v":
            return out
        alpha, sigma = (s.view(-1, 1, 1) for s in alpha_sigma(t))
        # x0 = alpha·x_t − sigma·v, solved for v; the engine never evaluates t = 0 (sigma = 0).
        return (alpha * x - out) / sigma.clamp(min=1e-4)

    def denoise(self, x: torch.Tensor, known: torch.Tensor, t: torch.Tensor, fps: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """The clean latents x0 [B, F, Z] the network sees in x_t."""
        out = self.head(x, known, t, fps, tokens)
        if self.cfg.predicts == "x0":
            return out
        alpha, sigma = (s.view(-1, 1, 1) for s in alpha_sigma(t))
        return alpha * x - sigma * out

    def known_velocity(self, x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """[B, F, Z]: velocity_gain × (x_f − x_{f−1}) where frames f − 1 and f are both known, else 0."""
        both = (known[:, 1:] * known[:, :-1]).unsqueeze(-1)
        return torch.cat([torch.zeros_like(x[:, :1]), (x[:, 1:] - x[:, :-1]) * both * self.cfg.velocity_gain], dim=1)

    def condition_video(self, video: torch.Tensor, x: torch.Tensor, known: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """The video tokens [B, N, D] with a world's own conditioning added (a subclass's: models/shapesworld/
        scene_uvit.py adds its objects' prompt clauses and box edges); the library's network adds none."""
        return video

    def head(self, x: torch.Tensor, known: torch.Tensor, t: torch.Tensor, fps: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """The network's own output [B, F, Z]: x0 or v, as `predicts` says."""
        cfg = self.cfg
        b, f, z = x.shape
        k = cfg.frames_per_token
        # B (N k) (Z + 1) -> B N (k (Z + 1))
        video = torch.cat([x, known.unsqueeze(-1)], dim=-1).reshape(b, f // k, k * (z + 1))
        if cfg.velocity_gain:
            video = torch.cat([video, self.known_velocity(x, known).reshape(b, f // k, k * z)], dim=-1)
        video = self.condition_video(self.video_embed(video) + self.pos_embed, x, known, tokens)   # B N D
        time_token = self.time_embed(timestep_embedding(t * 1000, cfg.width_dim)).unsqueeze(1)   # B 1 D
        fps_token = self.fps_embed(timestep_embedding(fps * 10, cfg.width_dim)).unsqueeze(1)     # B 1 D
        length = tokens.shape[1]
        words = self.word_embed(tokens) + self.text_pos[:, :length]                               # B L D
        h = torch.cat([time_token, fps_token, words, video], dim=1)                              # B (2+L+N) D
        padding = torch.cat([torch.zeros(b, 2, device=x.device), (tokens == 0).float(), torch.zeros(b, f // k, device=x.device)], 1)
        bias = (padding * -1e4).view(b, 1, 1, -1)
        skips = []
        for block in self.in_blocks:
            h = block(h, bias=bias)
            skips.append(h)
        h = self.mid_block(h, bias=bias)
        for block in self.out_blocks:
            h = block(h, skips.pop(), bias)
        out = self.decoder_pred(self.norm(h[:, 2 + length:]))                                    # B N (k Z)
        return out.reshape(b, f, z)
