"""Judges the frame autoencoder's round trip: held-out prompts rendered exactly at the native size, encoded to codes,
decoded, written as `longshot generate` writes clips (H.264 scaled to 256 px tall) and judged by the spec. The
round trip is the ceiling of every latent model built on it, so it is reported on its own.

  /usr/bin/python3 scripts/eval-autoencoder.py --checkpoint runs/ae/last.pt --prompts 200 --out /tmp/ae-eval [--sheet sheet.png]

Prints one JSON summary (pass rate, per check, per family, mean absolute error in levels) and writes it with every
clip's verdict to OUT/results.json; --sheet writes a PNG of truth and round-trip frames side by side.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.shapesworld.grammar import family, held_out_prompts, parse  # noqa: E402
from models.shapesworld.judge import judge_clip  # noqa: E402
from models.shapesworld.media import write_clip, write_png  # noqa: E402
from models.shapesworld.world import render_prompt  # noqa: E402
from models.train_autoencoder import load_autoencoder  # noqa: E402

OUTPUT_HEIGHT = 256


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--prompts", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--fps", type=float, default=24.0)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sheet", help="PNG with truth (left) and round trip (right) of the first 8 clips, 4 frames each")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    ae = load_autoencoder(a.checkpoint)
    m = ae.cfg
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    verdicts, errors, sheet_rows = [], [], []
    for i, prompt in enumerate(held_out_prompts(a.prompts, a.seed)):
        truth = render_prompt(prompt, a.seconds, a.fps, m.height, m.width, a.seed + i)               # F 3 H W uint8
        with torch.no_grad():
            trip = ae.decode(ae.encode(truth.float() / 127.5 - 1))
        trip_u8 = ((trip + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        errors.append(float((trip_u8.float() - truth.float()).abs().mean()))
        if a.sheet and i < 8:
            picks = torch.linspace(0, truth.shape[0] - 1, 4).long()
            sheet_rows.append(torch.cat([torch.cat(list(truth[picks]), 2), torch.cat(list(trip_u8[picks]), 2)], 2))
        path = out / f"trip-{i:04d}.mp4"
        write_clip(trip_u8.permute(0, 2, 3, 1).numpy(), a.fps, str(path), scale_to_height=OUTPUT_HEIGHT)
        result = judge_clip(str(path), prompt)
        verdicts.append({"prompt": prompt, "clip": path.name, "family": family(parse(prompt)), "pass": result["pass"], "checks": result["checks"]})
    if sheet_rows:
        write_png(torch.cat(sheet_rows, 1).permute(1, 2, 0).numpy(), a.sheet)
    checks = list(verdicts[0]["checks"])
    by_family: dict[str, list[dict]] = defaultdict(list)
    for v in verdicts:
        by_family[v["family"]].append(v)

    def rates(vs: list[dict]) -> dict:
        return {"clips": len(vs), "pass": sum(v["pass"] for v in vs) / len(vs), **{c: sum(v["checks"][c] for v in vs) / len(vs) for c in checks}}

    summary = {"checkpoint": a.checkpoint, "prompts": len(verdicts), "seconds": a.seconds, "fps": a.fps, "seed": a.seed,
               "mean_abs_error_levels": float(np.mean(errors)), "minutes": round((time.time() - started) / 60, 2),
               "overall": rates(verdicts), "families": {f: rates(vs) for f, vs in sorted(by_family.items())}}
    (out / "results.json").write_text(json.dumps({"summary": summary, "clips": verdicts}, indent=1, default=float))
    print(json.dumps(summary, default=float))


if __name__ == "__main__":
    main()
