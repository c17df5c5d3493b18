"""Judges the frame autoencoder's round trip: held-out prompts rendered exactly at the native size, encoded to codes,
decoded (at the native size, or --draw-scale times it as the bundled package's decoder draws), written as
`longshot generate` writes clips (H.264 scaled to at least 256 px tall) and judged by the spec. The
round trip is the ceiling of every latent model built on it, so it is reported on its own.

  /usr/bin/python3 scripts/eval-autoencoder.py --checkpoint runs/ae/last.pt --prompts 200 --out /tmp/ae-eval [--sheet sheet.png]

Prints one JSON summary (pass rate, per check, per family, mean absolute error in levels) and writes it with every
clip's verdict to OUT/results.json; --sheet writes a PNG of truth and round-trip frames side by side.

A scene autoencoder (models/shapesworld/scene_autoencoder.py) is also judged on what its encoder reads against the world's true
state, on exact renders and on footage as the daemon sees references: rendered 4× larger, written as H.264 and
scaled down to the native size with Lanczos (daemon/media/decode.ts).
"""
from __future__ import annotations

import argparse
import json
import random
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
from models.shapesworld.footage_reading import package_encoder  # noqa: E402
from models.shapesworld.scene_autoencoder import SLOT, SLOTS, SceneAutoencoder, scene_latents  # noqa: E402
from models.shapesworld.grammar import BACKGROUNDS, COLOURS  # noqa: E402
from models.shapesworld.media import FOOTAGE_SCALE, as_reference, cli_output_height, write_clip, write_png  # noqa: E402
from models.shapesworld.world import render, render_prompt, sample_scene  # noqa: E402
from models.shapesworld.checkpoints import drawing_decoder, load_autoencoder  # noqa: E402


def reading_errors(read: torch.Tensor, truth: torch.Tensor, height: int) -> dict:
    """What a scene encoder read [N, LATENT] against the true state: presence, colour and shape accuracy, position
    error in native pixels (median and 95th percentile) and log-size error, over present slots."""
    nb, nc = len(BACKGROUNDS), len(COLOURS)
    rows = {"background": (read[:, :nb].argmax(1) == truth[:, :nb].argmax(1)).float().tolist(), "present": [], "colour": [], "shape": [],
            "position_px": [], "log_size": []}
    for slot in range(SLOTS):
        r, t = read[:, nb + slot * SLOT: nb + (slot + 1) * SLOT], truth[:, nb + slot * SLOT: nb + (slot + 1) * SLOT]
        on = t[:, 0] > 0
        rows["present"] += ((r[:, 0] > 0.5) == on).float().tolist()
        rows["colour"] += (r[on, 1: 1 + nc].argmax(1) == t[on, 1: 1 + nc].argmax(1)).float().tolist()
        rows["shape"] += (r[on, 1 + nc: SLOT - 3].argmax(1) == t[on, 1 + nc: SLOT - 3].argmax(1)).float().tolist()
        rows["position_px"] += ((r[on, SLOT - 3: SLOT - 1] - t[on, SLOT - 3: SLOT - 1]).norm(dim=1) * height).tolist()
        rows["log_size"] += (r[on, SLOT - 1] - t[on, SLOT - 1]).abs().tolist()
    out = {k: float(np.mean(v)) for k, v in rows.items() if k != "position_px"}
    out["position_px_median"] = float(np.median(rows["position_px"]))
    out["position_px_p95"] = float(np.quantile(rows["position_px"], 0.95))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--prompts", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--fps", type=float, default=24.0)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--draw-scale", type=int, default=1, help="a scene autoencoder's decoder draws this many times the native size, as the "
                    "package's decoder does (the bundled one: 4); the truth it is compared with is rendered at that size too")
    ap.add_argument("--read-scale", type=int, default=1, help="read with the package's encoder graph: a scene autoencoder's reading "
                    "refined by render and compare on the truth rendered this many times the native size (models/shapesworld/footage_reading.py; "
                    "the bundled package: 2); 1 is the encoder alone on native frames")
    ap.add_argument("--sheet", help="PNG with truth (left) and round trip (right) of the first 8 clips, 4 frames each")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    ae = load_autoencoder(a.checkpoint)
    m = ae.cfg
    drawer = drawing_decoder(ae, a.draw_scale)
    reader = package_encoder(ae, a.read_scale)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    verdicts, errors, sheet_rows, readings = [], [], [], {"render": [], "footage": []}
    for i, prompt in enumerate(held_out_prompts(a.prompts, a.seed)):
        truth = render_prompt(prompt, a.seconds, a.fps, m.height, m.width, a.seed + i)               # F 3 H W uint8
        if isinstance(ae, SceneAutoencoder):
            # The same scene (seed) as render_prompt, its true state at each frame's time.
            scene = sample_scene([prompt], random.Random(a.seed + i), m.width / m.height)
            times = (torch.arange(truth.shape[0], dtype=torch.float32) / a.fps).unsqueeze(0)
            state = scene_latents(scene, times)[0]
            large, _ = render(scene, times, m.height * FOOTAGE_SCALE, m.width * FOOTAGE_SCALE)
            footage = torch.from_numpy(as_reference(large[0].round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy(), a.fps,
                                                    str(out / f"footage-{i:04d}.mp4"))).permute(0, 3, 1, 2)
            with torch.no_grad():
                readings["render"].append((ae.encode(truth.float() / 127.5 - 1), state))
                readings["footage"].append((ae.encode(footage.float() / 127.5 - 1), state))
        with torch.no_grad():
            # The truth at the size the package's encoder graph reads.
            read = truth if a.read_scale == 1 else render_prompt(prompt, a.seconds, a.fps, m.height * a.read_scale, m.width * a.read_scale, a.seed + i)
            trip = drawer.decode(reader(read.float() / 127.5 - 1))
        trip_u8 = ((trip + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        # The truth at the size the decoder draws, to compare with.
        drawn_truth = truth if a.draw_scale == 1 else render_prompt(prompt, a.seconds, a.fps, drawer.cfg.height, drawer.cfg.width, a.seed + i)
        errors.append(float((trip_u8.float() - drawn_truth.float()).abs().mean()))
        if a.sheet and i < 8:
            picks = torch.linspace(0, truth.shape[0] - 1, 4).long()
            sheet_rows.append(torch.cat([torch.cat(list(drawn_truth[picks]), 2), torch.cat(list(trip_u8[picks]), 2)], 2))
        path = out / f"trip-{i:04d}.mp4"
        write_clip(trip_u8.permute(0, 2, 3, 1).numpy(), a.fps, str(path), scale_to_height=cli_output_height(trip_u8.shape[2]))
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

    summary = {"checkpoint": a.checkpoint, "draw_scale": a.draw_scale, "read_scale": a.read_scale, "prompts": len(verdicts), "seconds": a.seconds, "fps": a.fps, "seed": a.seed,
               "mean_abs_error_levels": float(np.mean(errors)), "minutes": round((time.time() - started) / 60, 2),
               "overall": rates(verdicts), "families": {f: rates(vs) for f, vs in sorted(by_family.items())}}
    if readings["render"]:
        summary["encoder_reading"] = {source: reading_errors(torch.cat([r for r, _ in pairs]), torch.cat([t for _, t in pairs]), m.height)
                                      for source, pairs in readings.items()}
    (out / "results.json").write_text(json.dumps({"summary": summary, "clips": verdicts}, indent=1, default=float))
    print(json.dumps(summary, default=float))


if __name__ == "__main__":
    main()
