"""U-ViT over frame latents (one file, the paper's terms): the diffusion time, the frame rate, the prompt's words and
one video token per `frames_per_token` frames (their latent codes and known-frame flags) are all tokens of one
transformer, through in-blocks, a mid-block and out-blocks joined by long skips. The frame autoencoder
(models/autoencoder.py) turns frames into the codes and back; this network only decides which objects, where,
and how they move.

Padding words are masked out of attention, so a prompt means the same whether it is padded to the package's
text length (the engine) or to the longest prompt of a batch (training).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from .diffusion import alpha_sigma
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
    # Slot conditioning (empty: off). The scene state holds its objects in slots ordered by colour; 0.4.0, reading
    # words through attention alone, gave two-object prompts' shapes and motions to the wrong object (1 % passed).
    # With the ids of the words that split ("and") and end ("on") object clauses, the object colours in slot order
    # and the colour a clause without one takes, the network sums each clause's word embeddings, orders the clauses as
    # the slots are ordered, and adds both to every video token: which words belong to which slot is then given.
    slot_words: dict = field(default_factory=dict)
    # Edge features (empty: off). Each known frame's token also sees, per object slot, tanh(gain × its box's distance
    # in H to the left, right, top and bottom of the frame). 0.9.0 turned horizontal movers back anywhere from 0.09 H
    # beyond to 0.12 H short of a side wall in 16 s clips (the truth turns within 0.01 H): where an object's box
    # ends depends on its size and shape, and a wall on the frame's width, none of which the tokens spelled out.
    # Scene-state layout (models/train_latent.edge_layout): per slot the channels present, x, y, log size and the
    # triangle flag; the latent's shift and scale (the network sees normalised latents); the frame's aspect.
    edges: dict = field(default_factory=dict)

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
        if cfg.edges:
            self.register_buffer("edge_shift", torch.tensor(cfg.edges["shift"]), persistent=False)
            self.register_buffer("edge_scale", torch.tensor(cfg.edges["scale"]), persistent=False)
            # Its own layer, zero at first (a checkpoint without it continues computing what it did), so that training
            # can give it a higher rate than the trunk's (LatentTrainConfig.edge_lr_scale).
            self.edge_embed = nn.Linear(k * 4 * len(cfg.edges["present"]), d, bias=False)
            nn.init.zeros_(self.edge_embed.weight)
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
        if cfg.slot_words:
            self.register_buffer("colour_ids", torch.tensor(cfg.slot_words["colours"]), persistent=False)
            # Zero output at first, so a checkpoint without it continues computing what it did (models/train_latent.py).
            self.slot_condition = nn.Sequential(nn.Linear(2 * d, 2 * d), nn.SiLU(), nn.Linear(2 * d, d))
            nn.init.zeros_(self.slot_condition[-1].weight)
            nn.init.zeros_(self.slot_condition[-1].bias)
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

    def edge_distances(self, x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """[B, F, 4·slots]: tanh(gain × distance in H from each present object's box to the frame's left, right, top
        and bottom edge) in known frames, else 0 (cfg.edges)."""
        e = self.cfg.edges
        raw = x / self.edge_scale + self.edge_shift
        features = []
        for present, cx, cy, log_size, triangle in zip(e["present"], e["x"], e["y"], e["log_size"], e["triangle"]):
            size = torch.exp(raw[..., log_size].clamp(-7, 1))                  # the box's height
            # Half width: a circle's or square's is half the height, an equilateral triangle's 1/sqrt(3) of it.
            half_w = size * (0.5 + (3 ** -0.5 - 0.5) * raw[..., triangle].clamp(0, 1))
            gaps = torch.stack([raw[..., cx] - half_w, e["aspect"] - raw[..., cx] - half_w, raw[..., cy] - size / 2, 1 - raw[..., cy] - size / 2], -1)
            features.append(torch.tanh(e["gain"] * gaps) * (raw[..., present] > 0.5).unsqueeze(-1))
        return torch.cat(features, -1) * known.unsqueeze(-1)

    def slot_clauses(self, tokens: torch.Tensor) -> torch.Tensor:
        """[B, 2·D]: the summed word embeddings of the prompt's first two object clauses, in the scene state's slot
        order (by colour in palette order; a clause without a colour word sorts as the colour of palette index
        `unnamed`; a missing clause is last and zero). Words from "on" on (the background phrase) belong to no
        clause, as in models/shapesworld/grammar.parse."""
        words = self.cfg.slot_words
        splits = (tokens == words["and"]).long()
        clause = torch.cumsum(splits, 1)                                                           # B L
        in_clause = (tokens != 0) & (splits == 0) & (torch.cumsum((tokens == words["on"]).long(), 1) == 0)
        hit = (tokens.unsqueeze(-1) == self.colour_ids).float()                                   # B L C
        count = float(len(words["colours"]))
        rank = (hit * torch.arange(len(words["colours"]), dtype=hit.dtype, device=hit.device)).sum(-1) + (1 - hit.sum(-1)) * count
        embedded = self.word_embed(tokens)
        bags, keys = [], []
        for j in range(2):
            member = (in_clause & (clause == j)).float()                                           # B L
            bags.append((embedded * member.unsqueeze(-1)).sum(1))
            key = torch.where(member > 0, rank, torch.full_like(rank, count)).min(1).values
            has_words = member.sum(1) > 0
            key = torch.where(has_words & (key >= count), torch.full_like(key, float(words["unnamed"])), key)
            keys.append(torch.where(has_words, key, torch.full_like(key, count + 1)))
        swap = (keys[1] < keys[0]).float().unsqueeze(-1)
        return torch.cat([bags[0] * (1 - swap) + bags[1] * swap, bags[1] * (1 - swap) + bags[0] * swap], -1)

    def head(self, x: torch.Tensor, known: torch.Tensor, t: torch.Tensor, fps: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """The network's own output [B, F, Z]: x0 or v, as `predicts` says."""
        cfg = self.cfg
        b, f, z = x.shape
        k = cfg.frames_per_token
        # B (N k) (Z + 1) -> B N (k (Z + 1))
        video = torch.cat([x, known.unsqueeze(-1)], dim=-1).reshape(b, f // k, k * (z + 1))
        if cfg.velocity_gain:
            video = torch.cat([video, self.known_velocity(x, known).reshape(b, f // k, k * z)], dim=-1)
        video = self.video_embed(video) + self.pos_embed                                          # B N D
        if cfg.edges:
            video = video + self.edge_embed(self.edge_distances(x, known).reshape(b, f // k, -1))
        if cfg.slot_words:
            video = video + self.slot_condition(self.slot_clauses(tokens)).unsqueeze(1)
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
