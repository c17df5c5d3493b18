"""CLI: render a ShapesWorld clip exactly per the spec, for test fixtures and inspection.

/usr/bin/python3 -m models.shapesworld.render --prompt "a red circle bounces" --seconds 2 --fps 24 --seed 1 \
    [--t0 0] [--width 455 --height 256] --out clip.mp4|frames_dir/
"""
from __future__ import annotations

import argparse

from .grammar import parse
from .media import print_json, write_clip
from .world import render_prompt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--prompt", required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--fps", type=float, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--t0", type=float, default=0.0, help="world time of the first frame, seconds")
    ap.add_argument("--width", type=int, default=456)
    ap.add_argument("--height", type=int, default=256)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    frames = render_prompt(a.prompt, a.seconds, a.fps, a.height, a.width, a.seed, a.t0)
    write_clip(frames.permute(0, 2, 3, 1).numpy(), a.fps, a.out)
    parsed = parse(a.prompt)
    print_json({"out": a.out, "frames": int(frames.shape[0]), "fps": a.fps, "width": a.width, "height": a.height,
                "objects": [o.__dict__ for o in parsed.objects], "background": parsed.background,
                "unknown_words": list(parsed.unknown_words)})


if __name__ == "__main__":
    main()
