"""CLI and library: judge a clip by the spec's checks 1–6 (ShapesWorld v1.1), measured on the decoded output at any
resolution.

/usr/bin/python3 -m models.shapesworld.judge clip.mp4 --prompt "a red circle bounces" [--seams 1.5,3.0:after] [--per-second]

Prints one JSON object: per check, pass/fail and the measured values. Exit code 0 when every check passes.
"""
from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .grammar import BACKGROUNDS, COLOURS, Prompt, parse
from .media import print_json, read_clip

COLOUR_TOLERANCE = 60      # a pixel belongs to a colour within this distance (check 1)
FOUND_SHARE = 0.90         # an object must be found in this share of frames
FILL_RATIOS = {"circle": math.pi / 4, "square": 1.0, "triangle": 0.5}
STABILITY = 0.15           # colour and area within 15 % (check 2)
BACKGROUND_LEVELS = 8      # background pixels vary by less than 8 levels frame to frame
SPEED = 0.40               # H/s, ± 30 % (check 3)
SPEED_TOLERANCE = 0.30
STILL_SPEED = 0.02
GRAVITY = 2.0              # H/s², ± 30 % (check 4)
SEAM_JUMP = 1.5            # × the typical per-frame step (check 5)
SMALLEST_REGION = 0.15 * math.pi * 0.06 ** 2  # H²: a region smaller than this is not an object (15 % of a small circle)
SHRINK_AREA_PER_SECOND = 0.5  # `shrinks`: size 0.5× per 2 s, so area 0.5× per second
# Flight arcs lower than this are a few pixels tall (a bounce dying out): a g fitted to them is quantisation noise.
MIN_ARC_HEIGHT = 0.05


def largest_regions(mask: torch.Tensor) -> torch.Tensor:
    """Keeps the largest 8-connected region of each frame's boolean mask [F, H, W] (label propagation by max-pool,
    on each frame's crop to its mask's bounding box: objects are small, so this is fast at any resolution)."""
    f, h, w = mask.shape
    keep = torch.zeros_like(mask)
    for i in range(f):
        rows, cols = mask[i].any(1).nonzero().flatten(), mask[i].any(0).nonzero().flatten()
        if len(rows) == 0:
            continue
        y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        crop = mask[i, y0:y1, x0:x1]
        ch, cw = crop.shape
        labels = torch.where(crop, torch.arange(1, ch * cw + 1, dtype=torch.float32).view(ch, cw), torch.zeros(()))
        for _ in range(ch * cw):
            grown = torch.nn.functional.max_pool2d(labels.view(1, 1, ch, cw), 3, 1, 1).view(ch, cw) * crop
            if torch.equal(grown, labels):
                break
            labels = grown
        values, counts = torch.unique(labels[labels > 0], return_counts=True)
        keep[i, y0:y1, x0:x1] = labels == values[counts.argmax()]
    return keep


def colour_mask(frames: torch.Tensor, rgb: tuple[int, int, int]) -> torch.Tensor:
    return ((frames - torch.tensor(rgb, dtype=torch.float32)) ** 2).sum(-1) <= COLOUR_TOLERANCE ** 2


def track(frames: torch.Tensor, rgb, min_area: float) -> dict:
    """Per frame: found, centroid (H units), area (H² units), fill ratio, mean colour of the object's region."""
    f, h, w, _ = frames.shape
    region = largest_regions(colour_mask(frames, rgb))
    area_px = region.sum((1, 2)).float()
    found = area_px >= min_area * h * h
    ys = torch.arange(h, dtype=torch.float32).view(1, h, 1)
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, w)
    safe = area_px.clamp(min=1)
    cy = ((region * ys).sum((1, 2)) / safe + 0.5) / h
    cx = ((region * xs).sum((1, 2)) / safe + 0.5) / h
    rows = region.any(2)
    cols = region.any(1)
    bbox_h = rows.sum(1).float()
    bbox_w = cols.sum(1).float()
    fill = area_px / (bbox_h * bbox_w).clamp(min=1)
    colour = (frames * region.unsqueeze(-1)).sum((1, 2)) / safe.unsqueeze(-1)
    first_row = torch.where(rows.any(1), rows.float().argmax(1), torch.full((f,), float(h)))
    last_row = torch.where(rows.any(1), h - 1 - rows.flip(1).float().argmax(1), torch.full((f,), -1.0))
    first_col = torch.where(cols.any(1), cols.float().argmax(1), torch.full((f,), float(w)))
    last_col = torch.where(cols.any(1), w - 1 - cols.flip(1).float().argmax(1), torch.full((f,), -1.0))
    box = torch.stack([first_col, first_row, last_col, last_row], -1)  # pixels, inclusive
    return {"found": found.numpy(), "x": cx.numpy(), "y": cy.numpy(), "area": (area_px / (h * h)).numpy(), "box": box.numpy(),
            "fill": fill.numpy(), "colour": colour.numpy(), "height": (bbox_h / h).numpy()}


@dataclass(frozen=True)
class Seam:
    """Where footage meets generated frames, at `time` (s). `footage` says which side holds the editor's footage: "before"
    (an extend, a fill's start) or "after" (a fill's end); the seam limit reads the footage's own step there (v1.1)."""
    time: float
    footage: str = "before"

    def __post_init__(self):
        if self.footage not in ("before", "after"):
            raise ValueError(f'seam footage must be "before" or "after", not {self.footage!r}')

    @staticmethod
    def parse(text: str) -> "Seam":
        """"1.5" (footage before the seam) or "3.0:after" (footage after it)."""
        time, _, side = text.partition(":")
        return Seam(float(time), side or "before")


def required_frames(motion: str, tr: dict, times: np.ndarray) -> np.ndarray:
    """Frames where the object must be found (check 1): all, except that a `shrinks` object is looked for only while its
    size, measured at the start and shrinking 0.5× per 2 s, is above the judge's smallest region (v1.1). The start size
    is the median over the first second's found frames, each frame's area rewound to t = 0 by the world's rate; with no
    such frame the object is missing at the start and every frame is required."""
    if motion != "shrinks":
        return np.ones(len(times), dtype=bool)
    start = tr["found"] & (times < 1.0)
    if not start.any():
        return np.ones(len(times), dtype=bool)
    start_area = float(np.median(tr["area"][start] / SHRINK_AREA_PER_SECOND ** times[start]))
    return start_area * SHRINK_AREA_PER_SECOND ** times >= SMALLEST_REGION


def footage_step(tr: dict, seam: Seam, i: int) -> float:
    """The footage's own per-frame step beside the seam at frame i (its last step before the seam, or its first after),
    0 where the object is not found in both frames of it."""
    a, b = (i - 2, i - 1) if seam.footage == "before" else (i, i + 1)
    if a < 0 or b >= len(tr["found"]) or not (tr["found"][a] and tr["found"][b]):
        return 0.0
    return float(math.hypot(tr["x"][b] - tr["x"][a], tr["y"][b] - tr["y"][a]))


def fit_acceleration(times: np.ndarray, ys: np.ndarray) -> float | None:
    """Acceleration of the quadratic that best fits y(t), or None with too few points."""
    if len(times) < 4:
        return None
    return float(2 * np.polyfit(times, ys, 2)[0])


def free_fall_stretches(times: np.ndarray, ys: np.ndarray, floor: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Free-flight arcs: runs of frames off the floor, split where the object turns from falling to rising (a bounce),
    at least MIN_ARC_HEIGHT high."""
    airborne = ys < floor - 0.01
    bounce = np.zeros(len(ys), dtype=bool)
    bounce[1:-1] = (ys[1:-1] >= ys[:-2]) & (ys[1:-1] > ys[2:])
    stretches, start = [], None
    for i in range(len(ys) + 1):
        flying = i < len(ys) and airborne[i] and not bounce[i]
        if flying and start is None:
            start = i
        elif not flying and start is not None:
            if i - start >= 4 and floor - float(ys[start:i].min()) >= MIN_ARC_HEIGHT:
                stretches.append((times[start:i], ys[start:i]))
            start = None
    return stretches


def continuing_motion(motion: str, fps: float, tr: dict, found: np.ndarray, floor: float, h: int, w: int) -> tuple[bool, bool, float | None]:
    """Adherence's motion and dynamics for a later stretch of a long clip (check 6), by the world's rules for an object
    already in motion: a `moves` object keeps its speed and its axis and turns back only at a frame edge; one that
    `falls` or `bounces` is in free fall or at rest on the floor (a fall ends there, bounces die out). Returns
    (motion_ok, dynamics_ok, speed)."""
    x, y, box = tr["x"][found], tr["y"][found], tr["box"][found]
    if len(x) < 3:
        return False, False, None
    if motion.startswith("moves"):
        horizontal = motion.split()[1] in ("left", "right")
        along, across = (np.diff(x), np.diff(y)) if horizontal else (np.diff(y), np.diff(x))
        speed = float(np.median(np.hypot(along, across)) * fps)
        # A turn is a sign change between successive clear steps (a pause between them does not hide it); it must
        # happen with the object's box at a frame edge.
        step = SPEED / fps
        clear = np.flatnonzero(np.abs(along) > 0.25 * step)
        signs = np.sign(along)
        turns = [int(b) for a, b in zip(clear, clear[1:]) if signs[a] != signs[b]]
        margin = 2 + 2 * step * h
        low, high, size = (0, 2, w) if horizontal else (1, 3, h)
        at_edge = all(box[i, low] <= margin or box[i, high] >= size - 1 - margin for i in turns)
        motion_ok = float(np.median(np.abs(along))) > 2 * float(np.median(np.abs(across))) and at_edge
        return motion_ok, abs(speed - SPEED) <= SPEED_TOLERANCE * SPEED, speed
    if motion in ("falls", "bounces"):
        t = np.arange(len(found))[found] / fps
        arcs = free_fall_stretches(t, y, floor)
        if arcs:
            accel = fit_acceleration(*arcs[0])
            return accel is not None and accel > 0, True, None
        resting = y >= floor - MIN_ARC_HEIGHT
        vertical = abs(float(np.polyfit(t, y, 1)[0]))
        return bool(resting.mean() >= 0.9) and vertical < STILL_SPEED * 3, True, vertical
    return False, False, None


def judge_frames(frames_u8: np.ndarray, fps: float, prompt_text: str, seams: Sequence[float | Seam] = (), continuing: bool = False) -> dict:
    """Runs checks 1–5 on decoded frames [F, H, W, 3]; returns per-check results and overall `pass`. `seams`: Seams, or
    times with the footage before them. `continuing`: the frames are a later stretch of a long clip (check 6), so
    `moves`, `falls` and `bounces` are judged by the world's rules for an object already in motion (continuing_motion),
    not from the start state."""
    seams = [s if isinstance(s, Seam) else Seam(float(s)) for s in seams]
    prompt: Prompt = parse(prompt_text)
    frames = torch.from_numpy(frames_u8.astype(np.float32))
    f, h, w, _ = frames.shape
    times = np.arange(f) / fps
    first_second = times < 1.0
    objects, adherence, consistency, dynamics, physics, seam_results = [], True, True, True, True, []
    tracks = [track(frames, COLOURS[obj.colour], SMALLEST_REGION) for obj in prompt.objects]
    for index, (obj, tr) in enumerate(zip(prompt.objects, tracks)):
        found = tr["found"]
        # Frames where another named object's box touches this one's: one may hide part of the other (the spec's
        # renderer draws the second object over the first), so colour and area are compared outside them.
        apart = found.copy()
        for other_index, other in enumerate(tracks):
            if other_index != index:
                a, b = tr["box"], other["box"]
                touching = (a[:, 0] <= b[:, 2] + 2) & (b[:, 0] <= a[:, 2] + 2) & (a[:, 1] <= b[:, 3] + 2) & (b[:, 1] <= a[:, 3] + 2)
                apart &= ~(touching & other["found"])
        steady = apart if apart.sum() >= 3 else found
        required = required_frames(obj.motion, tr, times)
        share = float(found[required].mean()) if required.any() else 1.0
        ok_found = share >= FOUND_SHARE
        fill = float(np.median(tr["fill"][found])) if found.any() else 0.0
        shape_read = min(FILL_RATIOS, key=lambda s: abs(FILL_RATIOS[s] - fill))
        t1, sel = times[first_second & found], first_second & found
        x1, y1, a1 = tr["x"][sel], tr["y"][sel], tr["area"][sel]
        motion_ok, speed, accel = False, None, None
        if len(t1) >= 3:
            vx = np.polyfit(t1, x1, 1)[0]
            vy = np.polyfit(t1, y1, 1)[0]
            speed = float(math.hypot(vx, vy))
            if obj.motion.startswith("moves"):
                want = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}[obj.motion.split()[1]]
                along = vx * want[0] + vy * want[1]
                motion_ok = along > 0.5 * abs(vx * want[1] + vy * want[0]) and along > 0.25 * SPEED
            elif obj.motion in ("falls", "bounces"):
                # Downward acceleration over the first free-flight arc of the first second.
                arcs = free_fall_stretches(t1, y1, 1 - float(np.median(tr["height"][sel])) / 2)
                accel = fit_acceleration(*arcs[0]) if arcs else None
                motion_ok = accel is not None and accel > 0
            elif obj.motion in ("grows", "shrinks"):
                slope = np.polyfit(t1, np.log(np.maximum(a1, 1e-6)), 1)[0]
                motion_ok = slope > 0.1 if obj.motion == "grows" else slope < -0.1
            else:
                motion_ok = speed < STILL_SPEED * 3
        dyn_ok = None  # 3. dynamics, when the motion's own rule sets it
        floor = 1 - float(np.median(tr["height"][found])) / 2 if found.any() else 1.0
        if continuing and (obj.motion.startswith("moves") or obj.motion in ("falls", "bounces")):
            motion_ok, dyn_ok, speed = continuing_motion(obj.motion, fps, tr, found, floor, h, w)
        # 2. consistency
        # Measured as the 90th percentile over frames, so a moment where two objects overlap is not a change.
        colours = tr["colour"][steady]
        colour_dev = float(np.quantile(np.abs(colours - np.median(colours, 0)).max(1), 0.9) / 255) if steady.any() else 1.0
        areas = tr["area"][steady]
        area_dev = float(np.quantile(np.abs(areas / np.median(areas) - 1), 0.9)) if steady.any() and obj.motion not in ("grows", "shrinks") else 0.0
        consistent = colour_dev <= STABILITY and area_dev <= STABILITY
        # 3. dynamics
        if dyn_ok is None and obj.motion.startswith("moves"):
            dyn_ok = speed is not None and abs(speed - SPEED) <= SPEED_TOLERANCE * SPEED
        elif dyn_ok is None:
            dyn_ok = speed is not None and speed < STILL_SPEED if obj.motion == "stays still" else True
        # 4. physics
        phys = {"ok": True}
        if obj.motion in ("falls", "bounces"):
            fits = [fit_acceleration(t, y) for t, y in free_fall_stretches(times[found], tr["y"][found], floor)]
            fits = [g for g in fits if g is not None]
            g = float(np.median(fits)) if fits else None
            # A later stretch may show no flight at all: the object rests on the floor (continuing_motion checks it).
            phys = {"g": g, "ok": abs(g - GRAVITY) <= 0.3 * GRAVITY if g is not None else continuing and motion_ok}
            if obj.motion == "bounces":
                peaks = [float(y.min()) for _, y in free_fall_stretches(times[found], tr["y"][found], floor)[1:]]
                heights = [floor - p for p in peaks]
                phys["bounce_heights"] = heights
                phys["ok"] = phys["ok"] and all(b2 < b1 + 0.01 for b1, b2 in zip(heights, heights[1:]))
        # 5. seams
        steps = np.hypot(np.diff(tr["x"]), np.diff(tr["y"]))[found[1:] & found[:-1]]
        typical = float(np.median(steps)) if len(steps) else 0.0
        for seam in seams:
            i = int(round(seam.time * fps))
            if 0 < i < f and found[i - 1] and found[i]:
                jump = float(math.hypot(tr["x"][i] - tr["x"][i - 1], tr["y"][i] - tr["y"][i - 1]))
                # v1.1: the typical step is the larger of the clip's median and the footage's own step at the seam (a
                # fall near the floor moves faster than the clip's median).
                limit = SEAM_JUMP * max(typical, footage_step(tr, seam, i), 0.5 / h)
                same = abs(tr["area"][i] / max(tr["area"][i - 1], 1e-9) - 1) <= STABILITY and abs(tr["fill"][i] - tr["fill"][i - 1]) < 0.2
                seam_results.append({"object": obj.colour, "time": seam.time, "jump": jump, "limit": limit, "ok": jump <= limit and same})
            elif 0 < i < f and not (required[i - 1] and required[i]):
                seam_results.append({"object": obj.colour, "time": seam.time, "ok": True, "why": "shrunk below the smallest region"})
            else:
                seam_results.append({"object": obj.colour, "time": seam.time, "ok": False, "why": "object missing at the seam"})
        adherence &= ok_found and shape_read == obj.shape and motion_ok
        consistency &= consistent
        dynamics &= dyn_ok
        physics &= phys["ok"]
        objects.append({"colour": obj.colour, "shape": obj.shape, "motion": obj.motion, "found_share": share, "shape_read": shape_read,
                        "fill": fill, "motion_ok": bool(motion_ok), "speed": speed, "accel_first_second": accel,
                        "colour_dev": colour_dev, "area_dev": area_dev, "physics": phys})
    # 2. background steady; no unnamed objects
    named = torch.zeros(f, h, w, dtype=torch.bool)
    for obj in prompt.objects:
        named |= colour_mask(frames, COLOURS[obj.colour])
    near = torch.nn.functional.max_pool2d(named.float().unsqueeze(1), 7, 1, 3).squeeze(1) > 0
    bg = BACKGROUNDS[prompt.background]
    background = ~near
    diffs = (frames[1:] - frames[:-1]).abs().amax(-1)[background[1:] & background[:-1]]
    bg_variation = float(torch.quantile(diffs[: 2_000_000], 0.95)) if diffs.numel() else 0.0
    stray = (~near) & ~colour_mask(frames, bg)
    stray = -torch.nn.functional.max_pool2d(-stray.float().unsqueeze(1), 3, 1, 1).squeeze(1) > 0  # erode edge pixels
    stray_share = float(stray.float().mean())
    consistency &= bg_variation < BACKGROUND_LEVELS and stray_share < 0.002
    checks = {"adherence": bool(adherence), "consistency": bool(consistency), "dynamics": bool(dynamics), "physics": bool(physics),
              "seams": all(s["ok"] for s in seam_results)}
    return {"pass": all(checks.values()), "checks": checks, "objects": objects, "background_variation": bg_variation,
            "stray_share": stray_share, "seams": seam_results, "frames": f, "fps": fps}


def judge_clip(path: str, prompt: str, seams: Sequence[float | Seam] = (), per_second: bool = False) -> dict:
    frames, fps = read_clip(path)
    result = judge_frames(frames, fps, prompt, seams)
    if per_second:
        # 6. Length: checks 1–5 hold in every second of the clip, each second judged as its own clip; after the first,
        # motions are judged as continuing ones (a reflection turns a `moves` object back, a fall ends at rest).
        n = int(len(frames) // round(fps))
        seconds = [judge_frames(frames[int(round(s * fps)): int(round((s + 1) * fps))], fps, prompt, continuing=s > 0)["pass"]
                   for s in range(n)]
        result["checks"]["length"] = bool(seconds) and all(seconds)
        result["seconds"] = seconds
        result["pass"] = all(result["checks"].values())
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clip")
    ap.add_argument("--prompt", required=True)
    ap.add_argument("--seams", default="", help="comma-separated seam times in seconds (extend, fill), each with the footage before it, "
                    "or T:after where the footage follows (a fill's end)")
    ap.add_argument("--per-second", action="store_true", help="check 6: judge every second on its own")
    ap.add_argument("--json", action="store_true", help="(the output is always JSON)")
    a = ap.parse_args()
    seams = [Seam.parse(s) for s in a.seams.split(",") if s]
    result = judge_clip(a.clip, a.prompt, seams, a.per_second)
    print_json(result)
    sys.exit(0 if result["pass"] else 1)


if __name__ == "__main__":
    main()
