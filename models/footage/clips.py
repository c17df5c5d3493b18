"""Which footage clips train the footage model and which are held out to judge it (whole clips, never frames of one
clip on both sides). The footage lives in the folder beside the repository (`../shared/footage/`)."""
from __future__ import annotations

from pathlib import Path

FOOTAGE = Path(__file__).resolve().parents[3] / "shared" / "footage"

HELD_OUT = ("cup.mp4", "car-detection.mp4", "asl-want.mkv", "asl-yes.mkv", "asl-sorry.mkv", "asl-student.mkv", "realshort.mp4")


def training_clips() -> list[Path]:
    return [p for p in sorted((FOOTAGE / "clips").iterdir()) if p.name not in HELD_OUT]


def held_out_clips() -> list[Path]:
    return [FOOTAGE / "clips" / name for name in HELD_OUT]
