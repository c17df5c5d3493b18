"""Reading and writing clips with ffmpeg (the binary the project ships, or $LONGSHOT_FFMPEG)."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def ffmpeg_path() -> str:
    explicit = os.environ.get("LONGSHOT_FFMPEG")
    if explicit:
        return explicit
    bundled = ROOT / "node_modules" / "@ffmpeg-installer" / "linux-x64" / "ffmpeg"
    return str(bundled) if bundled.exists() else "ffmpeg"


# `longshot generate`'s default output: the drawn frames scaled by a whole factor to at least this many pixels tall
# (H.264 4:2:0 keeps small objects' colour there; daemon/media/encode.ts defaultOutputSize).
CLI_MIN_OUTPUT_HEIGHT = 256


def cli_output_height(height: int) -> int:
    """The height `longshot generate` writes frames `height` px tall at by default (see CLI_MIN_OUTPUT_HEIGHT)."""
    return height * max(1, -(-CLI_MIN_OUTPUT_HEIGHT // height))


def fps_rational(fps: float) -> str:
    for base in (24, 30, 48, 60, 120):
        if abs(fps - base * 1000 / 1001) < 0.006:
            return f"{base * 1000}/1001"
    return f"{fps:g}" if float(fps).is_integer() else f"{round(fps * 1000)}/1000"


def write_clip(frames: np.ndarray, fps: float, out: str, scale_to_height: int | None = None) -> None:
    """Writes uint8 frames [F, H, W, 3] as H.264 MP4 (yuv420p) or, for a folder path, PNG files."""
    f, h, w, _ = frames.shape
    vf = []
    if scale_to_height and scale_to_height != h:
        k = scale_to_height / h
        vf = ["-vf", f"scale={2 * round(w * k / 2)}:{2 * round(h * k / 2)}:flags=lanczos"]
    if out.endswith(os.sep) or Path(out).suffix == "":
        Path(out).mkdir(parents=True, exist_ok=True)
        target = ["-c:v", "png", "-start_number", "1", str(Path(out) / "frame_%05d.png")]
    else:
        target = ["-c:v", "libx264", "-crf", "16", "-pix_fmt", "yuv420p", "-movflags", "+faststart", out]
    cmd = [ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{w}x{h}", "-framerate", fps_rational(fps), "-i", "pipe:0", *vf, "-frames:v", str(f), *target]
    subprocess.run(cmd, input=np.ascontiguousarray(frames).tobytes(), check=True)


def write_png(image: np.ndarray, out: str) -> None:
    """Writes one uint8 image [H, W, 3] as a PNG file."""
    h, w, _ = image.shape
    subprocess.run([ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
                    "-i", "pipe:0", "-frames:v", "1", out], input=np.ascontiguousarray(image).tobytes(), check=True)


def read_clip(path: str) -> tuple[np.ndarray, float]:
    """Decodes a clip to uint8 frames [F, H, W, 3] and its frame rate."""
    probe = subprocess.run([ffmpeg_path(), "-hide_banner", "-i", path], capture_output=True, text=True).stderr
    m = re.search(r"Video: .*?, (\d{2,5})x(\d{2,5})", probe)
    if not m:
        raise ValueError(f"{path}: no video stream")
    w, h = int(m.group(1)), int(m.group(2))
    rate = re.search(r"([\d.]+) fps", probe) or re.search(r"([\d.]+) tbr", probe)
    fps = float(rate.group(1)) if rate else 24.0
    for base in (24, 30, 48, 60, 120):
        if abs(fps - base * 1000 / 1001) < 0.006:
            fps = base * 1000 / 1001
    raw = subprocess.run([ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-i", path, "-vsync", "0", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "pipe:1"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3), fps


def print_json(obj: object) -> None:
    print(json.dumps(obj, indent=None, separators=(",", ":")))


FOOTAGE_SCALE = 4   # footage for reference frames is rendered this many times the native size


def as_reference(frames: np.ndarray, fps: float, path: str, read_scale: int = 1) -> np.ndarray:
    """uint8 frames [F, H, W, 3] rendered FOOTAGE_SCALE× larger → H.264 at `path` → scaled with Lanczos to read_scale×
    the native size (the size of the package's encoder input), as the daemon decodes an editor's footage into
    reference frames (daemon/media/decode.ts): [F, h, w, 3]."""
    _, h, w, _ = frames.shape
    write_clip(frames, fps, path)
    nh, nw = h * read_scale // FOOTAGE_SCALE, w * read_scale // FOOTAGE_SCALE
    raw = subprocess.run([ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-i", path, "-vf", f"scale={nw}:{nh}:flags=lanczos",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, nh, nw, 3).copy()
