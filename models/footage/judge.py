"""The footage judge: ../shared/specs/footage.md's measurements and checks 0–5 for one extend or fill, in numpy.

A case is judged from the output's frames (any size: they are scaled like the truth's), the true frames of the
stretch, the real frames before the seam and, for a fill, the real frames after the gap (all at the source's size).
Every measurement is taken on frames scaled with an exact area filter to the source's aspect at min(288, source
height) px tall, in floating point (nothing is rounded back to 8 bits).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

JUDGED_HEIGHT = 288        # frames are measured at min(this, source height) px tall
TYPICAL_FLOOR = 0.5        # a typical step is at least this many levels
SEAM_FACTOR, SEAM_LEVELS = 1.5, 1.0                        # check 1
SHARP_RATIO, MOVING_SHARE = 0.8, 0.01                     # check 2
MOVING_LEVELS = 25.0       # a pixel moves when its luma varies by more than this over the true stretch
STEADY_MAX_FACTOR, STEADY_MAX_LEVELS = 3.0, 1.5           # check 3: the largest step
STEADY_MEDIAN_FACTOR, STEADY_MEDIAN_LEVELS = 2.0, 1.0     # check 3: the median step
ALIVE_TRUTH_STEP, ALIVE_RATIO = 1.0, 0.3                  # check 4
COLOUR_LEVELS, PSNR_MARGIN = 12.0, 1.5                    # check 5
EXTEND_PSNR_FRAMES = 3
FORMAT_PIXELS, FORMAT_FRAMES = 2, 1                       # check 0
CHECKS = ("format", "seams", "sharp", "steady", "alive", "faithful")


def judged_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) frames are measured at: the source's aspect at min(288, source height) px tall."""
    h = min(JUDGED_HEIGHT, height)
    return max(1, round(h * width / height)), h


def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """[n_out, n_in]: each output pixel averages the input pixels it covers, weighted by the length covered."""
    edges = np.arange(n_out + 1) * (n_in / n_out)
    pixel = np.arange(n_in)
    covered = np.minimum(edges[1:, None], pixel + 1) - np.maximum(edges[:-1, None], pixel)
    weights = np.clip(covered, 0, None)
    return (weights / weights.sum(1, keepdims=True)).astype(np.float32)


def area_resample(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """Frames [N, H, W, 3] (any dtype) → float32 [N, height, width, 3], exact area filter (aspect not kept)."""
    frames = np.asarray(frames, np.float32)
    _, h, w, _ = frames.shape
    if (w, h) == (width, height):
        return frames
    return _resample_axis(_resample_axis(frames, 1, height), 2, width)


def _resample_axis(frames: np.ndarray, axis: int, size: int) -> np.ndarray:
    """The area filter along one axis, as a few weighted taps per output pixel (the weights are a narrow band)."""
    weights = _area_weights(frames.shape[axis], size)
    first = (weights > 0).argmax(1)
    taps = int((weights > 0).sum(1).max())
    index = np.minimum(first[:, None] + np.arange(taps), frames.shape[axis] - 1)           # size × taps
    tap_weights = np.take_along_axis(weights, index, 1) * (first[:, None] + np.arange(taps) < frames.shape[axis])
    shape = [1] * frames.ndim
    shape[axis] = size
    return sum(np.take(frames, index[:, k], axis) * tap_weights[:, k].reshape(shape) for k in range(taps))


def luma(frames: np.ndarray) -> np.ndarray:
    """[N, H, W, 3] RGB levels 0–255 → [N, H, W] luma (0.299 R + 0.587 G + 0.114 B)."""
    return np.asarray(frames, np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def steps(lumas: np.ndarray) -> np.ndarray:
    """[N-1]: mean absolute luma difference between consecutive frames of [N, H, W]."""
    return np.abs(np.diff(lumas, axis=0)).mean(axis=(1, 2)) if len(lumas) > 1 else np.zeros(0, np.float32)


def step(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def typical_step(lumas: np.ndarray, fps: float, side: str) -> float:
    """The median step over the second of real footage next to a seam (its last second for the side "before", its
    first for "after"), at least TYPICAL_FLOOR; footage shorter than a second gives what it has."""
    n = max(1, round(fps)) + 1   # a second's steps span a second's frames and the one before them
    near = lumas[-n:] if side == "before" else lumas[:n]
    s = steps(near)
    return max(TYPICAL_FLOOR, float(np.median(s))) if len(s) else TYPICAL_FLOOR


def gradient_energy(lumas: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """[N]: per frame, the mean of |L(x+1) − L(x−1)| + |L(y+1) − L(y−1)| over interior pixels (inside mask [H, W] when
    given)."""
    energy = np.abs(lumas[:, 1:-1, 2:] - lumas[:, 1:-1, :-2]) + np.abs(lumas[:, 2:, 1:-1] - lumas[:, :-2, 1:-1])
    if mask is None:
        return energy.mean(axis=(1, 2))
    return energy[:, mask[1:-1, 1:-1]].mean(axis=1)


def moving_region(lumas: np.ndarray) -> np.ndarray:
    """[H, W] bool: pixels whose luma varies by more than MOVING_LEVELS over the frames [N, H, W]."""
    return (lumas.max(0) - lumas.min(0)) > MOVING_LEVELS


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of frames a against b (levels 0–255), the error pooled over every frame, pixel and channel."""
    mse = float(((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def _median(values: np.ndarray) -> float:
    return float(np.median(values)) if len(values) else 0.0


@dataclass(frozen=True)
class Reference:
    """What an output is judged against, measured once: the real frames at the judged size, as floats."""
    fps: float
    source_width: int
    source_height: int
    truth: np.ndarray             # [N, h, w, 3] the true stretch
    before: np.ndarray            # [B, h, w, 3] real frames up to the seam
    after: np.ndarray | None      # [A, h, w, 3] real frames from the gap's end on (a fill), else None


def reference(truth: np.ndarray, before: np.ndarray, fps: float, after: np.ndarray | None = None) -> Reference:
    """truth [N, H, W, 3]: what the camera recorded in the stretch; before: real frames up to the seam (the last one
    right before the stretch; a second of them gives the typical step); after: for a fill, real frames from the
    gap's end on. All at the source's size."""
    if len(truth) == 0 or len(before) == 0 or (after is not None and len(after) == 0):
        raise ValueError("judge: truth, before (and a fill's after) need at least one frame each")
    source_h, source_w = truth.shape[1:3]
    size = judged_size(source_w, source_h)
    return Reference(fps, source_w, source_h, area_resample(truth, *size), area_resample(before, *size),
                     None if after is None else area_resample(after, *size))


def judge_case(output: np.ndarray, truth: np.ndarray, before: np.ndarray, fps: float, after: np.ndarray | None = None) -> dict:
    """Judges an extend (after is None) or a fill: judge_output against reference(truth, before, fps, after)."""
    return judge_output(output, reference(truth, before, fps, after))


def judge_output(output: np.ndarray, ref: Reference) -> dict:
    """Judges one output, its frames [M, h, w, 3] at whatever size the job made them.
    Returns {"pass", "checks": {name: bool}, "values": {measurement: number}}."""
    if len(output) == 0:
        raise ValueError("judge: the output has no frames")
    fill = ref.after is not None
    fps, source_w, source_h, true, prev, nxt = ref.fps, ref.source_width, ref.source_height, ref.truth, ref.before, ref.after
    out = area_resample(output, true.shape[2], true.shape[1])
    out_l, true_l, prev_l = luma(out), luma(true), luma(prev)
    v: dict[str, float | int | bool] = {}
    checks: dict[str, bool] = {}

    # 0. Format: the source's size within 2 px, round(S × fps) frames (the truth's count) within 1.
    v.update(width=int(output.shape[2]), height=int(output.shape[1]), frames=len(output),
             source_width=int(source_w), source_height=int(source_h), source_frames=len(true))
    checks["format"] = (abs(output.shape[2] - source_w) <= FORMAT_PIXELS and abs(output.shape[1] - source_h) <= FORMAT_PIXELS
                        and abs(len(output) - len(true)) <= FORMAT_FRAMES)

    # 1. Seams: the jump into the output (and, for a fill, out of it) against the footage's own steps there.
    typical = typical_step(prev_l, fps, "before")
    v.update(typical_step=typical, seam_step=step(out_l[0], prev_l[-1]), truth_seam_step=step(true_l[0], prev_l[-1]))
    v["seam_limit"] = SEAM_FACTOR * max(typical, v["truth_seam_step"]) + SEAM_LEVELS
    seams = v["seam_step"] <= v["seam_limit"]
    if fill:
        next_l = luma(nxt)
        v.update(typical_step_after=typical_step(next_l, fps, "after"), far_seam_step=step(out_l[-1], next_l[0]),
                 truth_far_seam_step=step(true_l[-1], next_l[0]))
        v["far_seam_limit"] = SEAM_FACTOR * max(v["typical_step_after"], v["truth_far_seam_step"]) + SEAM_LEVELS
        seams = seams and v["far_seam_step"] <= v["far_seam_limit"]
    checks["seams"] = bool(seams)

    # 2. Sharp: median gradient energy at least 0.8 × the truth's, over the frame and inside the moving region.
    moving = moving_region(true_l)
    v["moving_share"] = float(moving.mean())
    v.update(gradient=_median(gradient_energy(out_l)), truth_gradient=_median(gradient_energy(true_l)))
    sharp = v["gradient"] >= SHARP_RATIO * v["truth_gradient"]
    if v["moving_share"] >= MOVING_SHARE:
        v.update(moving_gradient=_median(gradient_energy(out_l, moving)), truth_moving_gradient=_median(gradient_energy(true_l, moving)))
        sharp = sharp and v["moving_gradient"] >= SHARP_RATIO * v["truth_moving_gradient"]
    checks["sharp"] = bool(sharp)

    # 3. Steady: no jump inside the output, and no flicker.
    out_steps, true_steps = steps(out_l), steps(true_l)
    typical_any = max(typical, v.get("typical_step_after", typical))
    v.update(max_step=float(out_steps.max()) if len(out_steps) else 0.0, median_step=_median(out_steps),
             truth_max_step=float(true_steps.max()) if len(true_steps) else 0.0, truth_median_step=_median(true_steps))
    v["max_step_limit"] = STEADY_MAX_FACTOR * max(v["truth_max_step"], typical_any) + STEADY_MAX_LEVELS
    v["median_step_limit"] = STEADY_MEDIAN_FACTOR * v["truth_median_step"] + STEADY_MEDIAN_LEVELS
    checks["steady"] = v["max_step"] <= v["max_step_limit"] and v["median_step"] <= v["median_step_limit"]

    # 4. Alive: where the truth moves, the output moves at least 0.3 × as much.
    v["truth_moves"] = v["truth_median_step"] > ALIVE_TRUTH_STEP
    checks["alive"] = (not v["truth_moves"]) or v["median_step"] >= ALIVE_RATIO * v["truth_median_step"]

    # 5. Faithful: no colour drift by the last frame, and no worse than the simple baseline where the truth is nearest.
    colour_gap = np.abs(out[-1].mean(axis=(0, 1)) - true[-1].mean(axis=(0, 1)))
    v["colour_gap"] = float(colour_gap.max())
    n = len(true)
    if fill:
        lo, hi = n // 3, n - n // 3
        weights = ((np.arange(lo, hi) + 1) / (n + 1)).astype(np.float32)[:, None, None, None]
        baseline = (1 - weights) * prev[-1] + weights * nxt[0]   # the linear crossfade's frames there
    else:
        lo, hi = 0, min(EXTEND_PSNR_FRAMES, n)
        baseline = np.repeat(prev[-1:], hi, axis=0)                # holding the last real frame
    hi_out = min(hi, len(out))
    v["psnr"] = psnr(out[lo:hi_out], true[lo:hi_out]) if hi_out > lo else -math.inf
    v["baseline_psnr"] = psnr(baseline, true[lo:hi])
    checks["faithful"] = v["colour_gap"] <= COLOUR_LEVELS and v["psnr"] >= v["baseline_psnr"] - PSNR_MARGIN

    checks = {name: bool(checks[name]) for name in CHECKS}
    values = {k: (bool(x) if isinstance(x, (bool, np.bool_)) else x if isinstance(x, int) else float(x)) for k, x in v.items()}
    return {"pass": all(checks.values()), "checks": checks, "values": values}
