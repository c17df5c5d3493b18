"""Measures how a latent U-ViT continues known frames, in latent space and against the world's truth: one-object
held-out scenes at a random time, the first K frames of a window known (as every continuation window of B-roll,
extend and long clips has them), the rest sampled as the evaluation scripts sample (models/sampling.py). Cheap
(about a minute on one core) and direct: a seam that jumps, a mover that slows down or a still object that drifts
shows here before the judge's pass rates move.

  /usr/bin/python3 scripts/eval-continuation.py --checkpoint models/shapesworld-latent/uvit.pt [--windows 96 --guidance 2]

Prints one JSON object:
- seam_excess_h: median |first generated step − the true step| in H (the seam check allows 1.5 true steps, or
  0.003 H for a still object at 256 px);
- seam_ok: share of windows whose first generated step is within that limit;
- position_error_h: median distance from the true position over the generated frames; last_frame_error_h at the end;
- still_drift_h: median drift of `stays still` objects over the generated frames (the judge allows 0.02 H/s);
- moving_speed: median speed of `moves` objects over the generated frames (the world's is 0.40 H/s);
- area_drift: median |area of the last generated frame / the true area − 1| of objects that do not grow or shrink
  (the judge allows 15 % over a clip; a 16 s clip is 31 windows, each carrying on from the last one's frames);
- size_carried: with --size-slope s, the known frames' log sizes tilt by s a frame (ending at the truth), as sampled
  context can: the mean log-size error of the last generated frame of those objects (0: the slope is not carried on).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.diffusion import tokenize  # noqa: E402
from models.sampling import sample_window, sampling_arguments  # noqa: E402
from models.scene_autoencoder import GEOMETRY, SceneAEConfig, scene_latents  # noqa: E402
from models.shapesworld.grammar import parse, sample_split  # noqa: E402
from models.shapesworld.world import sample_scene  # noqa: E402
from models.train_latent import load_latent_uvit  # noqa: E402

STILL_SEAM = 0.003   # the seam limit for a still object: 1.5 × half a pixel at the judged 256 px


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True, help="a latent U-ViT checkpoint over scene-state latents (models/train_latent.py)")
    ap.add_argument("--windows", type=int, default=96)
    sampling_arguments(ap, guidance=2.0)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--size-slope", type=float, default=0.0, help="tilt of the known frames' log sizes, per frame")
    a = ap.parse_args()

    torch.set_num_threads(1)
    model, state = load_latent_uvit(a.checkpoint)
    cfg = model.cfg
    shift, scale = state["latent_shift"], state["latent_scale"]
    rng = random.Random(a.seed)
    prompts = []
    while len(prompts) < a.windows:
        p = sample_split(rng, held_out=True)
        if len(parse(p).objects) == 1:
            prompts.append(p)
    n, f, k = a.windows, cfg.frames, cfg.context_frames
    scene = sample_scene(prompts, rng, SceneAEConfig.width / SceneAEConfig.height)
    t0 = torch.tensor([rng.uniform(0.3, 4.0) for _ in range(n)])
    truth = scene_latents(scene, t0[:, None] + torch.arange(f)[None] / a.fps)
    known = torch.zeros(n, f)
    known[:, :k] = 1
    context = truth.clone()
    context[:, :k, GEOMETRY[2]] += a.size_slope * (torch.arange(k) - (k - 1))
    x_known = (context - shift) * scale * known[..., None]
    out = sample_window(model, x_known, known, torch.full((n,), a.fps), tokenize(prompts, cfg.text_len), a.steps, a.guidance,
                        torch.Generator().manual_seed(a.seed))
    made_state = out / scale + shift
    made, true = made_state[..., [GEOMETRY[0], GEOMETRY[1]]], truth[..., [GEOMETRY[0], GEOMETRY[1]]]
    step, true_step = (made[:, k] - made[:, k - 1]).norm(dim=-1), (true[:, k] - true[:, k - 1]).norm(dim=-1)
    error = (made - true).norm(dim=-1)[:, k:]
    motion = [parse(p).objects[0].motion for p in prompts]
    still = torch.tensor([m == "stays still" for m in motion])
    moving = torch.tensor([m.startswith("moves") for m in motion])
    steady_size = torch.tensor([m not in ("grows", "shrinks") for m in motion])
    size_error = made_state[steady_size, -1, GEOMETRY[2]] - truth[steady_size, -1, GEOMETRY[2]]   # log size, last frame
    limit = torch.where(true_step > 0, 1.5 * true_step, torch.full_like(true_step, STILL_SEAM))
    seconds = (f - 1 - k) / a.fps
    result = {"checkpoint": a.checkpoint, "windows": n, "known": k, "guidance": a.guidance,
              "seam_excess_h": float((step - true_step).abs().median()), "seam_ok": float((step <= limit).float().mean()),
              "position_error_h": float(error.median()), "last_frame_error_h": float(error[:, -1].median()),
              "still_drift_h": float((made[still, -1] - made[still, k - 1]).norm(dim=-1).median()) if still.any() else None,
              "moving_speed": float(((made[moving, -1] - made[moving, k]).norm(dim=-1) / seconds).median()) if moving.any() else None,
              "area_drift": float((torch.exp(2 * size_error) - 1).abs().median()), "size_carried": float(size_error.mean())}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
