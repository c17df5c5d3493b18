"""The flow channels of the motion latent (issue 26): each window frame carries, beside its RGB, its backward optical
flow (dx, dy: where each of its pixels was in the frame before it in the window), in pixels of the window's grid,
times FLOW_SCALE. The known_skip of the U-ViT then hands every generated frame the nearest known frame's flow: an
untrained network carries the last velocity on, and training learns how motion changes.

Clips: flows are measured by the engine's own estimator (daemon/engine/clip-flows.ts, through dist/clip-flows.cjs)
at twice the grid the clip is read at and area-averaged to it, once per clip at stride 1, both directions.
Augmentations transform them exactly as they transform the frames: a crop keeps them; a horizontal flip mirrors them
and negates dx; time reversal swaps backward and forward flows; a frame stride composes stride-1 flows
(`compose_flows`). Strides are composed here rather than measured by the tool: the cache stays one pair of flows a
frame (it travels to GPU machines), and every stride comes from it; composition agrees with measuring across the
stride directly to within the estimator's own error (scripts/measure-flow-prior.py reports the figure).
Photographs: a camera move's flow is exact, from the move's parameters (`view_flows`).
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
CLIP_FLOWS_TOOL = ROOT / "dist" / "clip-flows.cjs"
# The flow channels hold flow (pixels of the 64x48 grid) times this. On the training clips a flow component's RMS is
# 0.50 px a frame, as the RGB channels' spread is 0.48 in [-1, 1]: at scale 1 noise of each level drowns motion and
# picture alike. Most pixels are still (median |flow| 0.024 px), moving ones 0.45 (p90) to 2.8 px (p99);
# scripts/measure-flow-prior.py prints the distribution.
FLOW_SCALE = 1.0
MEASURE_FACTOR = 2  # daemon/engine/clip-flows.ts FLOW_MEASURE_FACTOR


def measure_clip_flows(path: Path, width: int, height: int, stride: int = 1) -> np.ndarray:
    """Stride-1 flows of every frame of a clip on a width×height grid (measure_frame_flows), the clip decoded as
    data.read_video decodes it, at the measuring size: its frames line up one to one with the clip's."""
    mw, mh = width * MEASURE_FACTOR, height * MEASURE_FACTOR
    raw = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-vf", f"scale={mw}:{mh}:flags=area",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return measure_frame_flows(np.frombuffer(raw, dtype=np.uint8).reshape(-1, mh, mw, 3), str(path), stride)


def measure_frame_flows(frames: np.ndarray, name: str = "frames", stride: int = 1) -> np.ndarray:
    """Flows (to the frames `stride` before and after) of frames uint8 [T, H, W, 3] by the engine's estimator
    (dist/clip-flows.cjs), on the grid half their size: float32 [T, 2 (backward, forward), 2 (x, y), H/2, W/2] in
    pixels of that grid. The first `stride` frames' backward and the last `stride` frames' forward flows are zero."""
    if not CLIP_FLOWS_TOOL.exists():
        raise FileNotFoundError(f"{CLIP_FLOWS_TOOL} is missing: run `npm run build` (it bundles scripts/clip-flows.ts)")
    _, mh, mw, _ = frames.shape
    done = subprocess.run(["node", str(CLIP_FLOWS_TOOL), "--width", str(mw), "--height", str(mh), "--stride", str(stride)],
                          input=np.ascontiguousarray(frames).tobytes(), capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"{name}: clip-flows failed: {done.stderr.decode()[-2000:]}")
    return decode_clip_flows(done.stdout)


def decode_clip_flows(data: bytes) -> np.ndarray:
    """The tool's output (a JSON header line, then float32 [frames][backward, forward][x, y][h][w]) as an array."""
    newline = data.index(b"\n")
    header = json.loads(data[:newline])
    if header["format"] != "longshot-clip-flows/1":
        raise ValueError(f"clip flows: format {header['format']}, expected longshot-clip-flows/1")
    return np.frombuffer(data[newline + 1:], dtype="<f4").reshape(header["frames"], 2, 2, header["height"], header["width"])


def sample_at(field: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """field [N, C, H, W] read at each pixel + offset [N, 2, H, W] (x, y in pixels), bilinear, clamped to the border
    (as the engine's sampleBilinear reads)."""
    n, _, h, w = field.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=field.dtype), torch.arange(w, dtype=field.dtype), indexing="ij")
    gx = (xs + offset[:, 0]) * (2 / max(w - 1, 1)) - 1
    gy = (ys + offset[:, 1]) * (2 / max(h - 1, 1)) - 1
    return F.grid_sample(field, torch.stack([gx, gy], dim=-1), mode="bilinear", padding_mode="border", align_corners=True)


def compose_flows(steps: list[torch.Tensor]) -> torch.Tensor:
    """The map of several steps, each [N, 2, H, W]: steps[0] takes frame t to its neighbour, steps[1] that neighbour
    to the next, and so on: f(p) = f0(p) + f1(p + f0(p)) + … (daemon/engine/optical-flow.ts composeFlow)."""
    total = steps[0]
    for step in steps[1:]:
        total = total + sample_at(step, total)
    return total


def strided_flows(flows: np.ndarray, times: np.ndarray, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Backward and forward flows [len(times), 2, H, W] of clip frames `times` to the frames `stride` before and
    after them, composed from the clip's stride-1 flows [T, 2, 2, H, W] (times − stride and times + stride must lie in
    the clip)."""
    step = lambda at, direction: torch.from_numpy(flows[at, direction].astype(np.float32))  # the window's frames only
    backward = compose_flows([step(times - k, 0) for k in range(stride)])
    forward = compose_flows([step(times + k, 1) for k in range(stride)])
    return backward.numpy(), forward.numpy()


def flip_flows(flows: np.ndarray) -> np.ndarray:
    """Flows [..., 2, H, W] of the horizontally mirrored frames: mirrored, dx negated."""
    out = flows[..., ::-1].copy()
    out[..., 0, :, :] *= -1
    return out


def reverse_flows(backward: np.ndarray, forward: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Backward and forward flows of the frames in reversed order: the reversed clip's frame before is the original's
    frame after, so its backward flow is the original forward flow, reversed in time."""
    return forward[::-1].copy(), backward[::-1].copy()


def known_flows(backward: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The flow channels of a window's known frames as the engine can measure them, from known frames alone: a known
    frame whose predecessor is known has its backward flow; the first of a run of known frames takes the second's
    (its own predecessor is not known: it may be generated, or outside the references); a lone known frame, none.
    Generated frames keep their true flows (what the model learns to draw)."""
    out = backward.copy()
    n = len(known)
    for t in np.flatnonzero(known):
        if t > 0 and known[t - 1]:
            continue
        out[t] = backward[t + 1] if t + 1 < n and known[t + 1] else 0
    return out


def view_flows(cx: torch.Tensor, cy: torch.Tensor, half_w: torch.Tensor, half_h: torch.Tensor, width: int, height: int,
               lag: int) -> torch.Tensor:
    """The exact flow of a camera move over a photograph (data.photo_window): frame t shows at pixel (j, i) the photo
    point u = cx[t] + xs[j]·half_w[t], v = cy[t] + ys[i]·half_h[t] (xs, ys: linspace(−1, 1) over the frame, photo
    units), so in frame t − lag that point lies at xs' = (u − cx[t−lag]) / half_w[t−lag], pixel j' = (xs' + 1)(W − 1)/2;
    the flow is j' − j (and likewise i' − i). Per-frame view parameters [n]; flows [n − |lag|, 2, H, W] of frames
    max(lag, 0) … n − 1 − max(−lag, 0): lag 1 gives backward flows, −1 forward ones."""
    n = len(cx)
    now = slice(max(lag, 0), n - max(-lag, 0))
    then = slice(max(-lag, 0), n - max(lag, 0))
    xs = torch.linspace(-1, 1, width).view(1, 1, -1)
    ys = torch.linspace(-1, 1, height).view(1, -1, 1)
    u = cx[now].view(-1, 1, 1) + xs * half_w[now].view(-1, 1, 1)
    v = cy[now].view(-1, 1, 1) + ys * half_h[now].view(-1, 1, 1)
    x_then = ((u - cx[then].view(-1, 1, 1)) / half_w[then].view(-1, 1, 1) + 1) * (width - 1) / 2
    y_then = ((v - cy[then].view(-1, 1, 1)) / half_h[then].view(-1, 1, 1) + 1) * (height - 1) / 2
    j = torch.arange(width, dtype=torch.float32).view(1, 1, -1)
    i = torch.arange(height, dtype=torch.float32).view(1, -1, 1)
    shape = (len(u), height, width)
    return torch.stack([(x_then - j).expand(shape), (y_then - i).expand(shape)], dim=1)
