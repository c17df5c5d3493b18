"""What the motion latent's flow channels hold and how much the velocity prior already gives (issue 26), in pixels of
the footage model's 64x48 grid; a dev measurement, not a test.

  /usr/bin/python3 scripts/measure-flow-prior.py [--data-cache /tmp/footage-motion-64x48.pt] [--json FILE]

1. The flows of the training clips (the motion training cache: made with --data-cache when missing, a few minutes of
   one core): |flow| per pixel and per frame (mean over the frame), as percentiles: FLOW_SCALE is chosen from them.
2. On the held-out clips (models/footage/clips.py, never trained on), every 16-frame window at stride 1 (one every 8
   frames): 4 known frames and 12 to generate, as an extend. The error (mean endpoint error, px) of predicting the
   generated frames' backward flows by (a) zero flow (hold), (b) the last known frame's flow (what the U-ViT's
   known_skip hands every generated frame: the last velocity carried on), (c) the mean of the known frames' flows;
   overall, at generated frames 1, 4 and 12, and over the windows whose truth moves (mean |flow| over 0.2 px).
3. Strides: stride-2 and stride-3 flows composed from stride-1 ones (what training does) against measuring across
   the stride directly, on the held-out clips.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.footage.clips import held_out_clips  # noqa: E402
from models.footage.data import load_footage  # noqa: E402
from models.footage.flows import measure_clip_flows, strided_flows  # noqa: E402

FRAMES, KNOWN, STEP = 16, 4, 8


def magnitude(flows: np.ndarray) -> np.ndarray:
    """|flow| of flows [..., 2, H, W] → [..., H, W]."""
    return np.hypot(flows[..., 0, :, :], flows[..., 1, :, :])


def percentiles(values: np.ndarray) -> dict:
    return {f"p{q}": round(float(np.percentile(values, q)), 3) for q in (50, 75, 90, 95, 99)} | {"mean": round(float(values.mean()), 3)}


def training_distribution(cache: Path) -> dict:
    data = load_footage(64, 48, cache=cache, motion=True)
    # Each clip's backward flows, less the first frame's (none); 72x54-grid pixels, the 64x48 crops' own.
    backward = [f[1:, 0].astype(np.float32) for f in data.flows]
    per_pixel = np.concatenate([magnitude(b).ravel() for b in backward])
    per_frame = np.concatenate([magnitude(b).mean(axis=(1, 2)) for b in backward])
    stride3 = np.concatenate([magnitude(strided_flows(f, np.arange(3, len(f) - 3), 3)[0]).mean(axis=(1, 2)) for f in data.flows])
    return {"clips": len(backward), "frames": int(sum(len(b) for b in backward)), "per_pixel": percentiles(per_pixel),
            "per_frame_mean": percentiles(per_frame), "per_frame_mean_stride3": percentiles(stride3),
            "per_pixel_x": percentiles(np.abs(np.concatenate([b[:, 0].ravel() for b in backward])))}


def prior_errors(held_out: dict[str, np.ndarray]) -> dict:
    rows = []  # per window: errors [3 predictors, 12 frames], truth's mean |flow|
    for name, flows in held_out.items():
        backward = flows[:, 0]
        for start in range(1, len(backward) - FRAMES + 1, STEP):  # from 1: frame 0 has no backward flow
            window = backward[start: start + FRAMES]
            truth = window[KNOWN:]
            known = window[:KNOWN]
            predictions = [np.zeros_like(known[-1]), known[-1], known[1:].mean(axis=0)]  # known[0]'s own flow reaches outside the window
            errors = np.stack([magnitude(truth - p[None]).mean(axis=(1, 2)) for p in predictions])
            rows.append((name, errors, float(magnitude(truth).mean())))
    errors = np.stack([r[1] for r in rows])              # windows, 3, 12
    moving = np.array([r[2] > 0.2 for r in rows])
    names = ("hold", "last_flow", "mean_known_flow")
    summary = lambda e: {n: {"all": round(float(e[:, i].mean()), 3), "frame1": round(float(e[:, i, 0].mean()), 3),
                             "frame4": round(float(e[:, i, 3].mean()), 3), "frame12": round(float(e[:, i, 11].mean()), 3)}
                         for i, n in enumerate(names)}
    per_clip = {name: {n: round(float(np.stack([r[1] for r in rows if r[0] == name])[:, i].mean()), 3) for i, n in enumerate(names)}
                | {"truth_mean_abs": round(float(np.mean([r[2] for r in rows if r[0] == name])), 3), "windows": sum(r[0] == name for r in rows)}
                for name in held_out}
    return {"windows": len(rows), "moving_windows": int(moving.sum()), "truth_mean_abs": round(float(np.mean([r[2] for r in rows])), 3),
            "all": summary(errors), "moving": summary(errors[moving]), "per_clip": per_clip}


def stride_agreement(paths: list[Path], held_out: dict[str, np.ndarray]) -> dict:
    out = {}
    for stride in (2, 3):
        composed_err, direct_mag = [], []
        for path in paths:
            flows = held_out[path.name]
            direct = measure_clip_flows(path, 64, 48, stride)
            times = np.arange(stride, len(flows) - stride)
            backward, _ = strided_flows(flows, times, stride)
            composed_err.append(magnitude(backward - direct[times, 0]).ravel())
            direct_mag.append(magnitude(direct[times, 0]).ravel())
        err, mag = np.concatenate(composed_err), np.concatenate(direct_mag)
        out[f"stride{stride}"] = {"composed_vs_direct_epe": percentiles(err), "direct_abs": percentiles(mag)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-cache", type=Path, default=Path("/tmp/footage-motion-64x48.pt"), help="the motion training cache (made when missing)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    report = {"training_flows": training_distribution(a.data_cache)}
    print(json.dumps({"training_flows": report["training_flows"]}), flush=True)
    paths = held_out_clips()
    held_out = {p.name: measure_clip_flows(p, 64, 48) for p in paths}
    report["held_out_prior"] = prior_errors(held_out)
    print(json.dumps({"held_out_prior": report["held_out_prior"]}), flush=True)
    report["strides"] = stride_agreement(paths, held_out)
    print(json.dumps({"strides": report["strides"]}), flush=True)
    if a.json:
        a.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
