"""The object-centric frame autoencoder of the latent ShapesWorld package: each frame's latent is its scene state.

A generic 32-float code had to learn, from pixels and on two CPU cores, what a ShapesWorld frame is made of; its round
trip stayed at 0 % of truth clips passing the judge (blobs for squares, small objects lost), and a U-ViT cannot draw
better than the decoder it feeds. Here the latent is laid out by what the world is made of, as object-centric models
(MONet, Slot Attention) lay theirs out in slots, and both halves are learned:

  latent [N, 29] = background (3, one-hot)  +  2 slots × [present, colour (6, one-hot), shape (3, one-hot), x, y, log size]
  encoder: frames [N, 3, H, W] in [-1, 1] → a full-resolution conv net that gives each pixel a palette distribution
           (segmentation) → per object colour its image moments (mass, centroid, spread, skew, kurtosis: what tells a
           circle from a square from a triangle) → an MLP → presence, shape, position and size of each colour
           → the present colours in palette order fill the slots
  decoder: latent → frames, a learned renderer: per shape a signed-distance atlas in the object's own frame (u, v in
           units of its size, sampled bilinearly), coverage from the distance as the spec's anti-aliasing, colour maps
           from the one-hots to palette distributions, the second slot drawn over the first over the background

The encoder keeps full resolution until the moments, because positions must be exact to a fraction of a pixel: an
extend's seam may jump no more than 1.5 per-frame steps (about 1.5 px at 24 fps). A strided CNN with an MLP head,
tried first, was still 7–20 px off after 2,250 steps. Slots are ordered by colour (the palette's order), which a
frame alone determines, so the encoder of a reference frame and the U-ViT that continues it agree on which object is
which; an absent slot is all zeros. The U-ViT then works on trajectories of positions and sizes, which is where the
physics is, and training latents come straight from the world's state (models/shapesworld/train_latent.py --ae scene-state).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch
from torch import nn
from torch.nn import functional as F

from .grammar import BACKGROUNDS, COLOURS, SHAPES
from .world import Scene, object_states

SLOT = 1 + len(COLOURS) + len(SHAPES) + 3  # present, colour, shape, x, y, log size
SLOTS = 2
LATENT = len(BACKGROUNDS) + SLOTS * SLOT
LATENT_SPACE = "shapesworld-scene-state/1"   # what a U-ViT's latents mean; a new layout gets a new name
PALETTE = (*COLOURS.values(), *BACKGROUNDS.values())  # the decoder's output colours: the objects', then the backgrounds'
# The colour maps' logits are scaled so that Adam's steps of about lr reach sure colours in hundreds of steps, not thousands.
COLOUR_LOGIT_SCALE = 10.0
_X, _Y, _LOG_SIZE = SLOT - 3, SLOT - 2, SLOT - 1
# The latent's continuous channels (each slot's x, y and log size): where motion and physics are.
GEOMETRY = tuple(len(BACKGROUNDS) + slot * SLOT + c for slot in range(SLOTS) for c in (_X, _Y, _LOG_SIZE))
LOG_SIZES = GEOMETRY[2::3]
PRESENCE = tuple(len(BACKGROUNDS) + slot * SLOT for slot in range(SLOTS))


def scene_latents(scene: Scene, times: torch.Tensor) -> torch.Tensor:
    """The latents [B, F, LATENT] of a scene at `times` [B, F]: the encoder's training target and the U-ViT's data."""
    centres, sizes = object_states(scene, times)                    # [B, 2, F, 2], [B, 2, F]
    b, f = times.shape
    z = torch.zeros(b, f, LATENT)
    background = (scene.background.unsqueeze(1) == torch.tensor(list(BACKGROUNDS.values()), dtype=torch.float32)).all(-1)
    z[..., : len(BACKGROUNDS)] = background.float().unsqueeze(1)
    # Canonical slot order: by colour (two objects never share one); an absent object sorts last.
    key = torch.where(scene.present, scene.colour_id, torch.full_like(scene.colour_id, len(COLOURS)))
    order = key.argsort(dim=1)
    for slot in range(SLOTS):
        j = order[:, slot]
        rows = torch.arange(b)
        present = scene.present[rows, j].float().view(b, 1)
        at = len(BACKGROUNDS) + slot * SLOT
        z[..., at] = present
        z[rows, :, at + 1 + scene.colour_id[rows, j]] = present
        z[rows, :, at + 1 + len(COLOURS) + scene.shape[rows, j]] = present
        z[..., at + _X] = centres[rows, j, :, 0] * present
        z[..., at + _Y] = centres[rows, j, :, 1] * present
        z[..., at + _LOG_SIZE] = torch.log(sizes[rows, j]) * present
    return z


def colour_truth(scene: Scene, times: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per palette object colour, what the encoder must read from a frame at `times` [B, 1]: present [B, C], shape id
    [B, C], centre [B, C, 2] and log size [B, C] (zeros where the colour is absent)."""
    centres, sizes = object_states(scene, times)                    # [B, 2, 1, 2], [B, 2, 1]
    b, c = times.shape[0], len(COLOURS)
    out = {"present": torch.zeros(b, c), "shape": torch.zeros(b, c, dtype=torch.long), "centre": torch.zeros(b, c, 2),
           "log_size": torch.zeros(b, c)}
    rows = torch.arange(b)
    for j in range(SLOTS):
        on = scene.present[:, j]
        r, col = rows[on], scene.colour_id[on, j]
        out["present"][r, col] = 1.0
        out["shape"][r, col] = scene.shape[on, j]
        out["centre"][r, col] = centres[on, j, 0]
        out["log_size"][r, col] = torch.log(sizes[on, j, 0])
    return out


@dataclass
class SceneAEConfig:
    height: int = 64
    width: int = 112
    segment: int = 32                    # channels of the encoder's full-resolution segmentation net
    hidden: int = 128                    # the per-colour MLP on the moments
    atlas: int = 64                      # signed-distance atlas resolution (per shape, over u, v in [-1, 1])
    kind: str = "scene"

    def to_json(self) -> dict:
        return asdict(self)


def _coords(n: int, height: int, width: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel centres in frame heights (x from 0 to aspect, y from 0 to 1), as the renderer samples them: [n, H, W] each."""
    ys = (torch.arange(height, dtype=like.dtype, device=like.device) + 0.5) / height
    xs = (torch.arange(width, dtype=like.dtype, device=like.device) + 0.5) / height
    return xs.view(1, 1, width).expand(n, height, width), ys.view(1, height, 1).expand(n, height, width)


MOMENTS = 13  # the per-colour features of _moments
LEAK_FLOOR = 0.1
PRESENCE_SHARPNESS = 4.0
SHAPE_SHARPNESS = 4.0    # the decoder's power on the shape weights before they mix atlases


def _moments(membership: torch.Tensor, height: int) -> torch.Tensor:
    """Image moments of each colour's membership map [N, C, H, W] → [N, C, MOMENTS], and the centroid [N, C, 2]:
    mass and spread (logs), centroid, and the scale-free shape features (correlation, skew, kurtosis, x²y² ratio,
    mass over spread) that separate circles (x²y² ratio 2/3), squares (1) and triangles (skewed in y)."""
    n, c, h, w = membership.shape
    # Memberships under LEAK_FLOOR are dropped: a softmax is never exactly 0, and 0.5 % of a colour over thousands of
    # background pixels far away (measured) outweighs the object in the spread and fourth moments.
    membership = (membership - LEAK_FLOOR).clamp(min=0) / (1 - LEAK_FLOOR)
    px, py = _coords(1, h, w, membership)
    px, py = px.view(1, 1, h, w), py.view(1, 1, h, w)
    mass = membership.sum((2, 3)) + 1e-4                            # N C, in pixels
    mean = lambda f: (membership * f).sum((2, 3)) / mass
    cx, cy = mean(px), mean(py)
    dx, dy = px - cx.view(n, c, 1, 1), py - cy.view(n, c, 1, 1)
    vxx, vyy, vxy = mean(dx * dx) + 1e-6, mean(dy * dy) + 1e-6, mean(dx * dy)
    spread = torch.sqrt(vxx * vyy)
    features = torch.stack([
        torch.log(mass / height ** 2), cx, cy, 0.5 * torch.log(vxx), 0.5 * torch.log(vyy), vxy / spread,
        mean(dy ** 3) / vyy ** 1.5, mean(dx ** 3) / vxx ** 1.5, mean(dx ** 4) / vxx ** 2, mean(dy ** 4) / vyy ** 2,
        mean(dx * dx * dy * dy) / spread ** 2, torch.log(mass / height ** 2 / spread), mean(dx * dx * dy) / (vxx * torch.sqrt(vyy)),
    ], -1)
    return features.clamp(-20, 20), torch.stack([cx, cy], -1)


class SceneAutoencoder(nn.Module):
    def __init__(self, cfg: SceneAEConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.segment
        # Full resolution throughout: one 3×3 conv sees an edge pixel's neighbours (which colours blend there).
        self.segment = nn.Sequential(nn.Conv2d(3, c, 3, 1, 1), nn.SiLU(), nn.Conv2d(c, c, 1), nn.SiLU(), nn.Conv2d(c, len(PALETTE), 1))
        # Per object colour: moments → presence logit, shape logits, centre offset (in spreads), log size.
        self.describe = nn.Sequential(nn.Linear(MOMENTS, cfg.hidden), nn.SiLU(), nn.Linear(cfg.hidden, cfg.hidden), nn.SiLU(),
                                      nn.Linear(cfg.hidden, 1 + len(SHAPES) + 3))
        self.background_head = nn.Linear(len(PALETTE), len(BACKGROUNDS))
        # The decoder: distance atlases (one per shape; starts as a disc so early gradients see edges), colour maps.
        u = torch.linspace(-1, 1, cfg.atlas)
        disc = torch.sqrt(u.view(1, -1) ** 2 + u.view(-1, 1) ** 2) - 0.5
        self.atlas = nn.Parameter(disc.expand(len(SHAPES), 1, cfg.atlas, cfg.atlas).clone())
        self.slot_colour = nn.Linear(len(COLOURS), len(PALETTE))
        self.background_colour = nn.Linear(len(BACKGROUNDS), len(PALETTE))
        self.register_buffer("palette_rgb", torch.tensor(PALETTE, dtype=torch.float32) / 127.5 - 1, persistent=False)

    def read_colours(self, frames: torch.Tensor) -> dict[str, torch.Tensor]:
        """The encoder before the slots: segmentation logits [N, P, H, W], background logits [N, 3], and per object
        colour presence logits [N, C], shape logits [N, C, 3], centre [N, C, 2] and log size [N, C]."""
        nc = len(COLOURS)
        logits = self.segment(frames)
        membership = logits.softmax(1)
        features, centroid = _moments(membership[:, :nc], self.cfg.height)
        out = self.describe(features)                                     # N C (1 + 3 + 3)
        spread = torch.exp(0.5 * (features[..., 3] + features[..., 4])).unsqueeze(-1)
        return {"segment": logits, "background": self.background_head(membership.mean((2, 3))), "present": out[..., 0],
                "shape": out[..., 1: 1 + len(SHAPES)], "centre": centroid + out[..., 1 + len(SHAPES): 3 + len(SHAPES)] * spread,
                "log_size": out[..., -1]}

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """frames [N, 3, H, W] in [-1, 1] → latents [N, LATENT] (the package's encoder graph, before scale and shift)."""
        read = self.read_colours(frames)
        # Sharpened: the presence logits of absent colours settle near −3.5 (p = 0.03), and five of them shifted the
        # soft rank below by 0.15, blending the slots (2.6 px median position error; 0.07 px sharpened, measured).
        present = torch.sigmoid(PRESENCE_SHARPNESS * read["present"])     # N C
        # The present colours in palette order fill the slots: colour c goes to slot k when it is the k-th present one.
        rank = torch.cumsum(present, 1)
        parts = [read["background"].softmax(1)]
        shape = read["shape"].softmax(-1)
        for slot in range(SLOTS):
            weight = present * (1 - (rank - (slot + 1)).abs()).clamp(min=0)   # N C: 1 for the slot's colour, else 0
            slot_present = weight.sum(1, keepdim=True).clamp(max=1)
            pick = lambda v: (weight.unsqueeze(-1) * v).sum(1)
            parts += [slot_present, weight, pick(shape), pick(read["centre"]), pick(read["log_size"].unsqueeze(-1))]
        return torch.cat(parts, 1)

    def palette_probabilities(self, z: torch.Tensor) -> torch.Tensor:
        """latents [N, LATENT] → each pixel's palette distribution [N, P, H, W]."""
        n, h, w, nb = z.shape[0], self.cfg.height, self.cfg.width, len(BACKGROUNDS)
        px, py = _coords(n, h, w, z)
        out = (COLOUR_LOGIT_SCALE * self.background_colour(z[:, :nb])).softmax(1).view(n, -1, 1, 1).expand(n, len(PALETTE), h, w)
        for slot in range(SLOTS):  # the second slot over the first
            s = z[:, nb + slot * SLOT: nb + (slot + 1) * SLOT]
            size = torch.exp(s[:, _LOG_SIZE].clamp(-7, 3)).view(n, 1, 1)
            grid = torch.stack([(px - s[:, _X].view(n, 1, 1)) / size, (py - s[:, _Y].view(n, 1, 1)) / size], -1)  # N H W 2
            # Sharpened: a U-ViT's shape one-hot is never exact, and a square at 0.7 with 0.3 of circle mixes their
            # atlases into a rounded square that the judge reads as a circle once drawn at the output size.
            shape = s[:, 1 + len(COLOURS): _X].clamp(min=0) ** SHAPE_SHARPNESS
            shape = shape / shape.sum(1, keepdim=True).clamp(min=1e-6)
            # One atlas lookup of the shape mixture (a sure shape is one atlas); outside the atlas, far outside.
            atlas = torch.einsum("ns,schw->nchw", shape, self.atlas)
            distance = F.grid_sample(atlas, grid, mode="bilinear", padding_mode="border", align_corners=True)[:, 0]
            # The renderer's anti-aliasing: coverage falls linearly over one pixel of the drawn size. A sigmoid edge,
            # fitted at 64 px, drew objects half a pixel off the renderer's at 256 px, measured by the judge's colour
            # masks: a still object's whole seam allowance (check 5).
            coverage = (0.5 - distance * size * h).clamp(0, 1) * s[:, :1].clamp(0, 1).view(n, 1, 1)
            colour = (COLOUR_LOGIT_SCALE * self.slot_colour(s[:, 1: 1 + len(COLOURS)])).softmax(1).view(n, -1, 1, 1)
            out = out * (1 - coverage.unsqueeze(1)) + colour * coverage.unsqueeze(1)
        return out

    def decoder_parameters(self) -> list[nn.Parameter]:
        """The learned renderer's weights: the shape atlases and the colour maps."""
        return [self.atlas, *self.slot_colour.parameters(), *self.background_colour.parameters()]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """latents [N, LATENT] → frames [N, 3, H, W] in [-1, 1] (the package's decoder graph, after scale and shift)."""
        return torch.einsum("nphw,pc->nchw", self.palette_probabilities(z), self.palette_rgb)

    def drawing_at(self, scale: int) -> "SceneAutoencoder":
        """The same autoencoder drawing frames `scale`× the size (its decoder renders the scene state, so it draws at
        any size). Drawn at the output size, edges and centroids are the renderer's: upscaled from 64 px, a still
        object's centroid moved up to 0.2 px across an extend's seam, where the spec allows a fifth of a native pixel."""
        drawer = SceneAutoencoder(replace(self.cfg, height=self.cfg.height * scale, width=self.cfg.width * scale))
        drawer.load_state_dict(self.state_dict())
        return drawer.eval()

