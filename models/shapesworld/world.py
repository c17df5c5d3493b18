"""ShapesWorld physics and rasteriser, exactly per the spec, batched in torch (CPU for CI, GPU for training).

Units: positions and sizes in frame heights H (y = 0 top, 1 bottom; x from 0 to aspect); time in seconds.
A scene is sampled once (start state), then rendered at any times: frames are samples of continuous physics.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch

from .grammar import BACKGROUNDS, COLOURS, MOTIONS, SHAPES, SIZES, Prompt, parse

SPEED = 0.40          # H/s for `moves`
GRAVITY = 2.0         # H/s² for `falls` and `bounces`
RESTITUTION = 0.85    # floor, for `bounces`
MAX_BOUNCE_SPEED_X = 0.3
MOVES_HEADROOM = 0.45  # a moving object starts at least this far from the edge it heads for
GROWTH_PER_2S = 2.0
MAX_BOUNCES = 48      # 0.85^48 ≈ 4e-4: the object has come to rest on the floor by then
SQRT3 = math.sqrt(3.0)


def half_extents(shape: str, size: float) -> tuple[float, float]:
    """Half width and half height of a shape's bounding box; size is the box height."""
    if shape == "triangle":  # equilateral, pointing up: side = height·2/√3
        return size / SQRT3, size / 2
    return size / 2, size / 2


@dataclass
class Scene:
    """Start states of a batch of clips, as tensors [B, 2, …] (slot 1 may be absent)."""
    aspect: float
    present: torch.Tensor    # [B, 2] bool
    colour: torch.Tensor     # [B, 2, 3] 0..255
    colour_id: torch.Tensor  # [B, 2] index into COLOURS
    shape: torch.Tensor      # [B, 2] index into SHAPES
    motion: torch.Tensor     # [B, 2] index into MOTIONS
    size0: torch.Tensor      # [B, 2] bounding-box height at t = 0
    pos0: torch.Tensor       # [B, 2, 2] centre (x, y) at t = 0
    vel0: torch.Tensor       # [B, 2, 2] velocity at t = 0
    background: torch.Tensor  # [B, 3] 0..255


def _start_state(rng: random.Random, shape: str, size: float, motion: str, aspect: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """A random start (centre, velocity) obeying the spec's rules for one object."""
    hw, hh = half_extents(shape, size)
    if motion in ("grows", "shrinks", "stays still"):
        # Growing objects start small enough to stay in frame for a while, shrinking ones anywhere inside.
        return (rng.uniform(hw, aspect - hw), rng.uniform(hh, 1 - hh)), (0.0, 0.0)
    if motion.startswith("moves"):
        direction = motion.split()[1]
        if direction == "right":
            return (rng.uniform(hw, max(hw, aspect - MOVES_HEADROOM - hw)), rng.uniform(hh, 1 - hh)), (SPEED, 0.0)
        if direction == "left":
            return (rng.uniform(min(aspect - hw, MOVES_HEADROOM + hw), aspect - hw), rng.uniform(hh, 1 - hh)), (-SPEED, 0.0)
        if direction == "down":
            return (rng.uniform(hw, aspect - hw), rng.uniform(hh, max(hh, 1 - MOVES_HEADROOM - hh))), (0.0, SPEED)
        return (rng.uniform(hw, aspect - hw), rng.uniform(min(1 - hh, MOVES_HEADROOM + hh), 1 - hh)), (0.0, -SPEED)
    if motion == "falls":
        return (rng.uniform(hw, aspect - hw), rng.uniform(hh, max(hh, 1 / 3))), (0.0, 0.0)
    # bounces: upper half, at rest or drifting sideways
    vx = 0.0 if rng.random() < 0.5 else rng.uniform(-MAX_BOUNCE_SPEED_X, MAX_BOUNCE_SPEED_X)
    return (rng.uniform(hw, aspect - hw), rng.uniform(hh, max(hh, 0.5))), (vx, 0.0)


def sample_scene(prompts: list[str], rng: random.Random, aspect: float) -> Scene:
    """Start states for prompts (parsed tolerantly); objects of a prompt never share a colour by the grammar."""
    b = len(prompts)
    present = torch.zeros(b, 2, dtype=torch.bool)
    colour = torch.zeros(b, 2, 3)
    colour_id = torch.zeros(b, 2, dtype=torch.long)
    shape = torch.zeros(b, 2, dtype=torch.long)
    motion = torch.zeros(b, 2, dtype=torch.long)
    size0 = torch.full((b, 2), SIZES["small"])
    pos0 = torch.zeros(b, 2, 2)
    vel0 = torch.zeros(b, 2, 2)
    background = torch.zeros(b, 3)
    for i, text in enumerate(prompts):
        parsed: Prompt = parse(text)
        background[i] = torch.tensor(BACKGROUNDS[parsed.background], dtype=torch.float32)
        for j, obj in enumerate(parsed.objects[:2]):
            present[i, j] = True
            colour[i, j] = torch.tensor(COLOURS[obj.colour], dtype=torch.float32)
            colour_id[i, j] = list(COLOURS).index(obj.colour)
            shape[i, j] = SHAPES.index(obj.shape)
            motion[i, j] = MOTIONS.index(obj.motion)
            size0[i, j] = SIZES[obj.size]
            p, v = _start_state(rng, obj.shape, SIZES[obj.size], obj.motion, aspect)
            pos0[i, j] = torch.tensor(p)
            vel0[i, j] = torch.tensor(v)
    return Scene(aspect, present, colour, colour_id, shape, motion, size0, pos0, vel0, background)


def _reflect(p0: torch.Tensor, v: torch.Tensor, t: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """Position on [lo, hi] of a point moving at constant speed with elastic reflection at both ends (triangle wave)."""
    span = (hi - lo).clamp(min=1e-6)
    u = torch.remainder(p0 - lo + v * t, 2 * span)
    return lo + torch.where(u <= span, u, 2 * span - u)


def _bounce_y(y0: torch.Tensor, floor: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Height over time of a ball dropped from rest at y0 onto `floor` with restitution; closed form per arc."""
    drop = (floor - y0).clamp(min=0)
    t1 = torch.sqrt(2 * drop / GRAVITY)
    v1 = GRAVITY * t1
    k = torch.arange(1, MAX_BOUNCES + 1, dtype=t.dtype, device=t.device)
    speeds = v1.unsqueeze(-1) * RESTITUTION ** k                      # [..., K] take-off speed of arc k
    durations = 2 * speeds / GRAVITY
    starts = t1.unsqueeze(-1) + torch.cumsum(durations, -1) - durations  # [..., K] take-off time of arc k
    tt = t.unsqueeze(-1)
    in_arc = (tt >= starts) & (tt < starts + durations)
    tau = tt - starts
    arc_height = (speeds * tau - 0.5 * GRAVITY * tau ** 2).clamp(min=0)
    height = (arc_height * in_arc).sum(-1)
    falling = floor - (drop - 0.5 * GRAVITY * t ** 2).clamp(min=0)
    return torch.where(t < t1, falling, floor - height)


def object_states(scene: Scene, times: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Centres [B, 2, F, 2] and sizes [B, 2, F] at `times` [B, F] seconds."""
    t = times.unsqueeze(1)                                   # [B, 1, F]
    motion = scene.motion.unsqueeze(-1)                      # [B, 2, 1]
    name = {m: i for i, m in enumerate(MOTIONS)}
    growth = torch.where(motion == name["grows"], 1.0, torch.where(motion == name["shrinks"], -1.0, 0.0))
    size = scene.size0.unsqueeze(-1) * GROWTH_PER_2S ** (growth * t / 2)  # [B, 2, F]
    is_tri = (scene.shape == SHAPES.index("triangle")).unsqueeze(-1)
    hw0 = torch.where(is_tri, scene.size0.unsqueeze(-1) / SQRT3, scene.size0.unsqueeze(-1) / 2)
    hh0 = scene.size0.unsqueeze(-1) / 2
    x0, y0 = scene.pos0[..., 0:1], scene.pos0[..., 1:2]
    vx, vy = scene.vel0[..., 0:1], scene.vel0[..., 1:2]
    aspect = torch.tensor(scene.aspect)
    floor = 1 - hh0
    # Horizontal: constant speed with elastic side walls (moves left/right, bounces' drift); vertical per motion.
    x = _reflect(x0, vx, t, hw0, aspect - hw0)
    y_moves = _reflect(y0, vy, t, hh0, 1 - hh0)
    y_falls = torch.minimum(y0 + 0.5 * GRAVITY * t ** 2, floor)
    y_bounces = _bounce_y(y0.expand_as(t.expand_as(y_moves)), floor.expand_as(y_moves), t.expand_as(y_moves))
    y = torch.where(motion == name["falls"], y_falls, torch.where(motion == name["bounces"], y_bounces, y_moves))
    return torch.stack([x.expand_as(y), y], -1), size


def render(scene: Scene, times: torch.Tensor, height: int, width: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Frames [B, F, 3, H, W] in 0..255 (float) and each object's visible coverage [B, F, 2, H, W] in 0..1 at
    `times` [B, F] (the second object hides the first where they overlap; an absent object covers nothing).

    Shapes are drawn with anti-aliased edges from a signed distance (coverage = 0.5 − d / pixel), flat fills,
    the second object over the first.
    """
    device = torch.device(device)
    centres, sizes = object_states(scene, times)
    centres, sizes = centres.to(device), sizes.to(device)
    b, f = times.shape
    ys = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) / height
    xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) / height
    py = ys.view(1, 1, height, 1)
    px = xs.view(1, 1, 1, width)
    frames = scene.background.to(device).view(b, 1, 3, 1, 1).expand(b, f, 3, height, width).clone()
    visible = []
    for j in range(2):
        dx = px - centres[:, j, :, 0].view(b, f, 1, 1)      # [B, F, H, W]
        dy = py - centres[:, j, :, 1].view(b, f, 1, 1)
        s = sizes[:, j].view(b, f, 1, 1)
        circle = torch.sqrt(dx ** 2 + dy ** 2) - s / 2
        square = torch.maximum(dx.abs(), dy.abs()) - s / 2
        hh = s / 2
        triangle = torch.maximum(dy - hh, torch.maximum(-SQRT3 / 2 * dx - 0.5 * (dy + hh), SQRT3 / 2 * dx - 0.5 * (dy + hh)))
        shape = scene.shape[:, j].to(device).view(b, 1, 1, 1)
        distance = torch.where(shape == 0, circle, torch.where(shape == 1, square, triangle))
        coverage = (0.5 - distance * height).clamp(0, 1) * scene.present[:, j].to(device).view(b, 1, 1, 1)
        alpha = coverage.unsqueeze(2)                        # [B, F, 1, H, W]
        frames = frames * (1 - alpha) + scene.colour[:, j].to(device).view(b, 1, 3, 1, 1) * alpha
        visible = [v * (1 - alpha) for v in visible] + [alpha]
    return frames, torch.cat(visible, dim=2)


def render_prompt(prompt: str, seconds: float, fps: float, height: int, width: int, seed: int, t0: float = 0.0) -> torch.Tensor:
    """One clip [F, 3, H, W] uint8 of a prompt: round(seconds · fps) frames from time t0."""
    count = max(1, round(seconds * fps))
    scene = sample_scene([prompt], random.Random(seed), width / height)
    times = (t0 + torch.arange(count, dtype=torch.float32) / fps).unsqueeze(0)
    frames, _ = render(scene, times, height, width)
    return frames[0].round().clamp(0, 255).to(torch.uint8)
