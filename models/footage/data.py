"""Training windows of camera footage for the footage U-ViT: real clips and camera moves over photographs, read
small (the model's native 64×48, the whole frame whatever its aspect, as the engine reads it) with every augmentation
the footage README suggests: crops, flips, time reversal, speed changes (frame strides), pans and zooms over photos.

A window is F frames [F, 3, H, W] in [-1, 1], its frame rate, and a known-frame mask in one of the layouts the
engine's window plan makes (daemon/engine/conditioning.ts): known head (extend), known tail (an extend before the
first frame), both (a fill, its tail block wherever the gap ends). A motion window (WindowConfig.motion, issue 26)
adds two channels a frame, its backward flow (models/footage/flows.py): [F, 5, H, W].
"""
from __future__ import annotations

import math
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .clips import FOOTAGE, training_clips
from .flows import FLOW_SCALE, flip_flows, known_flows, measure_clip_flows, reverse_flows, strided_flows, view_flows

# Clips are decoded a little larger than the native size so a window can be a jittered crop of the frame.
READ_MARGIN = 1.125
PHOTO_SIZE = (288, 216)  # photos are read once at this size; camera moves crop and zoom inside them


def read_video(path: Path, width: int, height: int) -> tuple[np.ndarray, float]:
    """All frames of a clip as uint8 [T, H, W, 3], scaled to width×height (area filter, aspect not kept), and its fps."""
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=r_frame_rate",
                            "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True).stdout.strip()
    num, _, den = probe.partition("/")
    fps = float(num) / float(den or 1)
    raw = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-vf", f"scale={width}:{height}:flags=area",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, height, width, 3)
    return frames, fps


@dataclass
class FootageSet:
    """The clips (uint8 [T, H, W, 3] each, with fps) and photographs (uint8 [H, W, 3]) windows are cut from; for
    motion windows, each clip's stride-1 flows (float16 [T, 2 (backward, forward), 2 (x, y), H, W], pixels of the
    clip's grid; flows.measure_clip_flows)."""
    clips: list[tuple[str, np.ndarray, float]]
    photos: list[np.ndarray]
    flows: list[np.ndarray] | None = None


def load_footage(width: int, height: int, clips: list[Path] | None = None, photos: bool = True, cache: Path | None = None,
                 motion: bool = False) -> FootageSet:
    """The training footage, decoded with ffmpeg (and with `motion`, its flows measured by the engine's estimator,
    which needs node and `npm run build`); with `cache`, read from that file when it exists and written there when
    not (a lent GPU machine has PyTorch but neither ffmpeg nor node: the cache made here travels with the repository
    copy)."""
    if cache and cache.exists():
        saved = torch.load(cache, weights_only=False)
        if motion and saved.get("flows") is None:
            raise ValueError(f"--data-cache {cache} holds no flows (it was made for an RGB config): give a motion config its own cache file")
        flows = saved.get("flows")
        return FootageSet([(n, np.asarray(f), fps) for n, f, fps in saved["clips"]], [np.asarray(p) for p in saved["photos"]],
                          flows and [np.asarray(f) for f in flows])
    data = _decode_footage(width, height, clips, photos, motion)
    if cache:
        # Arrays saved as tensors (read back as arrays, as older caches of arrays are): torch.save pickles a numpy
        # array's bytes 1.4 times as large.
        tensor = lambda a: torch.from_numpy(np.array(a))  # a writable copy: decoded frames are read-only views
        # Written whole, then renamed: torchrun's processes may each make it, and none must read a half-written one.
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_name(f"{cache.name}.{os.getpid()}.partial")
        torch.save({"clips": [(n, tensor(f), fps) for n, f, fps in data.clips], "photos": [tensor(p) for p in data.photos],
                    "flows": data.flows and [tensor(f) for f in data.flows]}, partial)
        os.replace(partial, cache)
    return data


def _decode_footage(width: int, height: int, clips: list[Path] | None, photos: bool, motion: bool) -> FootageSet:
    w, h = round(width * READ_MARGIN), round(height * READ_MARGIN)
    paths = clips if clips is not None else training_clips()
    clip_list = [(p.name, *read_video(p, w, h)) for p in paths]
    flow_list = None
    if motion:
        flow_list = [measure_clip_flows(p, w, h).astype(np.float16) for p in paths]
        for (name, frames, _), flows in zip(clip_list, flow_list):
            if len(flows) != len(frames):
                raise ValueError(f"{name}: {len(frames)} frames decoded but {len(flows)} flows measured")
    photo_list = []
    if photos:
        for p in sorted((FOOTAGE / "photos").iterdir()):
            raw = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(p), "-vf", f"scale={PHOTO_SIZE[0]}:{PHOTO_SIZE[1]}:flags=area",
                                  "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
            photo_list.append(np.frombuffer(raw, dtype=np.uint8).reshape(PHOTO_SIZE[1], PHOTO_SIZE[0], 3))
    return FootageSet(clip_list, photo_list, flow_list)


@dataclass
class WindowConfig:
    frames: int = 16
    height: int = 48
    width: int = 64
    context_frames: int = 4
    photo_share: float = 0.25     # windows that are camera moves over a photograph
    strides: tuple = (1, 1, 1, 2, 2, 3)  # frame strides drawn uniformly: speed changes (the fps label follows)
    motion: bool = False          # 5 channels a frame: RGB and the backward flow times flow_scale (flows.py)
    flow_scale: float = FLOW_SCALE
    tail_share: float = 0.45      # extend after the known head
    head_share: float = 0.15      # extend before the known tail
    # the rest: fills


def known_mask(cfg: WindowConfig, rng: np.random.Generator) -> np.ndarray:
    """One of the engine's window layouts: known head of k frames, known tail, or both (a fill whose gap of g frames
    may end before the window does: its after-block then sits mid-window with spare frames behind it)."""
    F_, K = cfg.frames, cfg.context_frames
    mask = np.zeros(F_, dtype=np.float32)
    # Mostly all K known frames, as the engine's windows have them; fewer at the start of a short reference.
    weights = np.array([0.1, 0.1, 0.1, 0.7])[-K:]
    draw_k = lambda: int(rng.choice(np.arange(1, K + 1), p=weights / weights.sum()))
    u = rng.random()
    if u < cfg.tail_share:
        mask[:draw_k()] = 1
    elif u < cfg.tail_share + cfg.head_share:
        mask[F_ - draw_k():] = 1
    else:
        kb, ka = draw_k(), draw_k()
        ka = min(ka, F_ - kb - 1)  # at least one frame to generate
        gap = F_ - kb - ka if rng.random() < 0.6 else int(rng.integers(1, F_ - kb - ka + 1))
        mask[:kb] = 1
        mask[kb + gap: kb + gap + ka] = 1
    return mask


@dataclass
class Window:
    """F frames of one source: uint8 [F, H, W, 3], the fps they play at, and for motion windows each frame's flows
    to the window frame before and after it (float32 [F, 2, H, W], pixels of the window's grid)."""
    frames: np.ndarray
    fps: float
    backward: np.ndarray | None = None
    forward: np.ndarray | None = None

    def flipped(self) -> "Window":
        mirror = lambda f: None if f is None else flip_flows(f)
        return Window(self.frames[:, :, ::-1], self.fps, mirror(self.backward), mirror(self.forward))

    def reversed(self) -> "Window":
        if self.backward is None:
            return Window(self.frames[::-1], self.fps)
        return Window(self.frames[::-1], self.fps, *reverse_flows(self.backward, self.forward))


def clip_window(cfg: WindowConfig, frames: np.ndarray, fps: float, rng: np.random.Generator, flows: np.ndarray | None = None) -> Window | None:
    """F frames of a clip at a drawn stride, a crop of the read frames (a crop leaves flows as they are). With the
    clip's stride-1 flows, the window's flows at its stride, composed; the window then lies a stride inside the clip
    at both ends, so its first frame's backward and its last frame's forward flow are real."""
    stride = int(rng.choice(cfg.strides))
    margin = 0 if flows is None else 1
    def span_of(k: int) -> int:
        return (cfg.frames - 1) * k + 1 + 2 * margin * k
    if len(frames) < span_of(stride):
        stride = 1
        if len(frames) < span_of(stride):
            return None
    start = margin * stride + int(rng.integers(0, len(frames) - span_of(stride) + 1))
    times = np.arange(start, start + (cfg.frames - 1) * stride + 1, stride)
    H, W = frames.shape[1:3]
    y, x = int(rng.integers(0, H - cfg.height + 1)), int(rng.integers(0, W - cfg.width + 1))
    crop = (slice(y, y + cfg.height), slice(x, x + cfg.width))
    window = Window(frames[times][:, crop[0], crop[1]], fps / stride)
    if flows is not None:
        backward, forward = strided_flows(flows, times, stride)
        window.backward, window.forward = backward[..., crop[0], crop[1]], forward[..., crop[0], crop[1]]
    return window


def photo_views(cfg: WindowConfig, photo_shape: tuple, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
    """A camera move over a photograph, frame by frame: the view's centre (cx, cy) and half its width and height, in
    photo units, for frames −1 … F (one beyond each end, for the window's flows). The centre drifts at a steady
    velocity with a little acceleration and the view zooms steadily, as a pan, tilt or push-in would."""
    PH, PW = photo_shape[:2]
    n = cfg.frames
    t = torch.arange(-1, n + 1, dtype=torch.float32)
    zoom0 = float(rng.uniform(0.35, 0.8))                 # view width as a share of the photo's
    zoom_rate = float(rng.normal(0, 0.01))                # per frame, log scale
    speed = float(rng.exponential(0.006))                 # view centre, photo widths per frame
    angle = float(rng.uniform(0, 2 * math.pi))
    accel = rng.normal(0, 0.0003, size=2)
    zoom = zoom0 * torch.exp(zoom_rate * t)
    cx = 0.5 + speed * math.cos(angle) * (t - n / 2) + accel[0] * (t - n / 2) ** 2
    cy = 0.5 + speed * math.sin(angle) * (t - n / 2) + accel[1] * (t - n / 2) ** 2
    half_w = zoom / 2
    half_h = half_w * (cfg.height / cfg.width) * (PW / PH)
    # Keep the view inside the photo.
    return torch.clamp(cx, half_w, 1 - half_w), torch.clamp(cy, half_h, 1 - half_h), half_w, half_h


def photo_window(cfg: WindowConfig, photo: np.ndarray, rng: np.random.Generator) -> Window:
    """A camera move over a photograph (photo_views), fps drawn from editors' rates; for motion windows, its exact
    flows (flows.view_flows)."""
    PH, PW = photo.shape[:2]
    n = cfg.frames
    cx, cy, half_w, half_h = photo_views(cfg, photo.shape, rng)
    inside = slice(1, n + 1)
    ys = torch.linspace(-1, 1, cfg.height).view(1, -1, 1)
    xs = torch.linspace(-1, 1, cfg.width).view(1, 1, -1)
    gx = (cx[inside].view(-1, 1, 1) + xs * half_w[inside].view(-1, 1, 1)) * 2 - 1
    gy = (cy[inside].view(-1, 1, 1) + ys * half_h[inside].view(-1, 1, 1)) * 2 - 1
    grid = torch.stack([gx.expand(n, cfg.height, cfg.width), gy.expand(n, cfg.height, cfg.width)], dim=-1)
    image = torch.from_numpy(np.array(photo)).permute(2, 0, 1).float().unsqueeze(0).expand(n, -1, -1, -1)
    # Area-like sampling: the photo is at most a few times the view, so a box blur first keeps it from aliasing.
    factor = max(1, int(round(float(half_w[inside].mean()) * 2 * PW / cfg.width)))
    if factor > 1:
        image = F.avg_pool2d(image, factor, stride=1, padding=factor // 2, count_include_pad=False)[..., :PH, :PW]
    frames = F.grid_sample(image, grid, mode="bilinear", align_corners=False).permute(0, 2, 3, 1)
    fps = float(rng.choice([12.0, 15.0, 24.0, 25.0, 29.97, 30.0]))
    window = Window(frames.round().clamp(0, 255).to(torch.uint8).numpy(), fps)
    if cfg.motion:
        window.backward = view_flows(cx[:-1], cy[:-1], half_w[:-1], half_h[:-1], cfg.width, cfg.height, 1).numpy()
        window.forward = view_flows(cx[1:], cy[1:], half_w[1:], half_h[1:], cfg.width, cfg.height, -1).numpy()
    return window


def window_tensor(cfg: WindowConfig, window: Window, known: np.ndarray) -> torch.Tensor:
    """x0 of a window [F, C, H, W]: RGB in [-1, 1], and for motion windows the backward flows times flow_scale, known
    frames' flows as the engine measures them (flows.known_flows)."""
    rgb = torch.from_numpy(np.ascontiguousarray(window.frames)).permute(0, 3, 1, 2).float() / 127.5 - 1
    if not cfg.motion:
        return rgb
    flow = torch.from_numpy(np.ascontiguousarray(known_flows(window.backward, known))).float() * cfg.flow_scale
    return torch.cat([rgb, flow], dim=1)


def sample_batch(data: FootageSet, cfg: WindowConfig, batch: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
    """A batch of windows: x0 [B, F, C, H, W] (C = 3, or 5 for motion windows), known [B, F], fps [B]. Flips and time
    reversal drawn per window."""
    if cfg.motion and data.clips and data.flows is None:
        raise ValueError("motion windows need the clips' flows: load_footage(..., motion=True)")
    xs, masks, rates = [], [], []
    weights = np.array([len(f) for _, f, _ in data.clips], dtype=np.float64)
    weights = np.sqrt(weights) / np.sqrt(weights).sum()  # long clips count more, not proportionally more
    while len(xs) < batch:
        if data.photos and rng.random() < cfg.photo_share:
            window = photo_window(cfg, data.photos[int(rng.integers(len(data.photos)))], rng)
        else:
            i = int(rng.choice(len(data.clips), p=weights))
            _, frames, fps = data.clips[i]
            window = clip_window(cfg, frames, fps, rng, data.flows[i] if cfg.motion else None)
            if window is None:
                continue
        if rng.random() < 0.5:
            window = window.flipped()
        if rng.random() < 0.5:
            window = window.reversed()
        mask = known_mask(cfg, rng)
        xs.append(window_tensor(cfg, window, mask))
        masks.append(torch.from_numpy(mask))
        rates.append(window.fps)
    return {"x0": torch.stack(xs), "known": torch.stack(masks), "fps": torch.tensor(rates, dtype=torch.float32)}
