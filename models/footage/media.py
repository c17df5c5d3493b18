"""Decoding camera footage with the system ffmpeg (`ffmpeg`/`ffprobe` on PATH): every frame as decoded, with its
container timestamp, so a case can name a frame by time exactly as `longshot generate --extend CLIP@T` reads it."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Footage:
    frames: np.ndarray        # uint8 [N, H, W, 3], at the source's size
    times: np.ndarray         # float64 [N], each frame's container timestamp in seconds
    fps: Fraction             # the stream's frame rate, exactly as the container states it

    @property
    def width(self) -> int:
        return self.frames.shape[2]

    @property
    def height(self) -> int:
        return self.frames.shape[1]


def _probe(path: Path, entries: str) -> list[str]:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", entries, "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return [line.strip().strip(",") for line in out.splitlines() if line.strip().strip(",")]


def read_footage(path: str | Path) -> Footage:
    """All frames of a clip's first video stream, passed through as decoded (-vsync 0: none duplicated or dropped)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such clip")
    width, height = (int(v) for v in _probe(path, "stream=width,height")[0].split(","))
    fps = Fraction(_probe(path, "stream=r_frame_rate")[0])
    times = np.array([float(t) for t in _probe(path, "frame=best_effort_timestamp_time")])
    raw = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-map", "0:v:0", "-vsync", "0",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"], capture_output=True, check=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)
    if len(frames) != len(times):
        raise ValueError(f"{path}: ffmpeg decoded {len(frames)} frames but ffprobe lists {len(times)} timestamps")
    return Footage(frames, times, fps)
