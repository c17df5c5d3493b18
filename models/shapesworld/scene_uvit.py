"""The latent U-ViT of ShapesWorld: the library's network (models/core/latent_uvit.py) with the world's own
conditioning of its video tokens, both read from the scene state and the prompt grammar of this world: which words
describe which object slot (slot conditioning), and how far each object's box is from the frame's edges (edge
features). Checkpoints keep the names of these layers (slot_condition, edge_embed), so weights trained before the
split load unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ..core.latent_uvit import LatentUViT, LatentUViTConfig
from .grammar import COLOURS, SHAPES, UNNAMED_COLOUR, VOCABULARY
from .scene_autoencoder import GEOMETRY, LOG_SIZES, PRESENCE, SceneAEConfig


@dataclass
class SceneUViTConfig(LatentUViTConfig):
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
    # Scene-state layout (edge_layout below): per slot the channels present, x, y, log size and the
    # triangle flag; the latent's shift and scale (the network sees normalised latents); the frame's aspect.
    edges: dict = field(default_factory=dict)


class SceneUViT(LatentUViT):
    """LatentUViT over ShapesWorld's scene state, with slot conditioning and edge features where its config has them."""

    def __init__(self, cfg: SceneUViTConfig):
        super().__init__(cfg)
        d, k = cfg.width_dim, cfg.frames_per_token
        if cfg.edges:
            self.register_buffer("edge_shift", torch.tensor(cfg.edges["shift"]), persistent=False)
            self.register_buffer("edge_scale", torch.tensor(cfg.edges["scale"]), persistent=False)
            # Its own layer, zero at first (a checkpoint without it continues computing what it did), so that training
            # can give it a higher rate than the trunk's (LatentTrainConfig.edge_lr_scale).
            self.edge_embed = nn.Linear(k * 4 * len(cfg.edges["present"]), d, bias=False)
            nn.init.zeros_(self.edge_embed.weight)
        if cfg.slot_words:
            self.register_buffer("colour_ids", torch.tensor(cfg.slot_words["colours"]), persistent=False)
            # Zero output at first, so a checkpoint without it continues computing what it did (init_weights, models/shapesworld/train_latent.py).
            self.slot_condition = nn.Sequential(nn.Linear(2 * d, 2 * d), nn.SiLU(), nn.Linear(2 * d, d))
            nn.init.zeros_(self.slot_condition[-1].weight)
            nn.init.zeros_(self.slot_condition[-1].bias)

    def condition_video(self, video: torch.Tensor, x: torch.Tensor, known: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        if self.cfg.edges:
            b, f = x.shape[:2]
            video = video + self.edge_embed(self.edge_distances(x, known).reshape(b, f // self.cfg.frames_per_token, -1))
        if self.cfg.slot_words:
            video = video + self.slot_condition(self.slot_clauses(tokens)).unsqueeze(1)
        return video

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


_WORD_ID = {w: i for i, w in enumerate(VOCABULARY)}
# The words that delimit object clauses and name their colours, for the U-ViT's slot conditioning (SceneUViTConfig).
SLOT_WORDS = {"and": _WORD_ID["and"], "on": _WORD_ID["on"], "colours": [_WORD_ID[c] for c in COLOURS],
              "unnamed": list(COLOURS).index(UNNAMED_COLOUR)}


def edge_layout(shift: torch.Tensor, scale: torch.Tensor, gain: float) -> dict:
    """SceneUViTConfig.edges for scene-state latents normalised by shift and scale (the data's)."""
    slots = range(len(PRESENCE))
    return {"gain": gain, "aspect": SceneAEConfig.width / SceneAEConfig.height, "present": list(PRESENCE),
            "x": [GEOMETRY[3 * j] for j in slots], "y": [GEOMETRY[3 * j + 1] for j in slots], "log_size": list(LOG_SIZES),
            "triangle": [PRESENCE[j] + 1 + len(COLOURS) + SHAPES.index("triangle") for j in slots],
            "shift": shift.tolist(), "scale": scale.tolist()}
