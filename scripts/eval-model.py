"""Evaluates a ShapesWorld U-ViT checkpoint on held-out prompts: samples B-roll clips the way the engine does
(models/core/sampling.py: windows of F frames, the last K frames carried as known references into the next window,
DPM-Solver++(2M) on a log-SNR-uniform grid, classifier-free guidance as a batch of 2), writes them as `longshot generate` does by default
(H.264, scaled by a whole factor to at least 256 px tall), and judges each decoded clip with models/shapesworld/judge.py.

  /usr/bin/python3 scripts/eval-model.py --checkpoint models/shapesworld-latent/uvit.pt --autoencoder models/shapesworld-latent/scene-ae.pt \
      --draw-scale 4 --prompts 200 --seconds 2 --fps 24 --out /tmp/eval [--steps 12 --guidance 2 --threads 1]

Prints one JSON summary (overall and per prompt family) and writes it, with every clip's verdict, to OUT/results.json.
Sampling is batched over prompts in PyTorch, so hundreds of clips fit in minutes on one CPU core.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.core.checkpoints import CheckpointError  # noqa: E402
from models.core.sampling import sample_clips, sampling_arguments  # noqa: E402
from models.shapesworld.checkpoints import load_sampled  # noqa: E402
from models.shapesworld.grammar import MOTIONS, family, held_out_prompts, parse  # noqa: E402
from models.shapesworld.judge import judge_clip  # noqa: E402
from models.shapesworld.media import cli_output_height, write_clip  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", required=True, help="folder for the clips and results.json")
    ap.add_argument("--prompts", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=2.0)
    sampling_arguments(ap, guidance=3.0)
    ap.add_argument("--batch", type=int, default=25, help="prompts sampled together")
    ap.add_argument("--seed", type=int, default=2026, help="prompt and noise seed")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--weights", choices=["ema", "raw"], default="ema", help="as models/shapesworld/export.py")
    ap.add_argument("--autoencoder", help="the frame autoencoder of a latent U-ViT checkpoint")
    ap.add_argument("--draw-scale", type=int, default=1, help="a scene autoencoder draws frames this many times its native size, "
                    "as the package's decoder does (the bundled one: 4, models/shapesworld/export.py --draw-scale)")
    ap.add_argument("--per-second", action="store_true", help="also the spec's check 6: every second judged on its own (long clips)")
    ap.add_argument("--one-object", metavar="MOTIONS", help="only one-object prompts of these comma-separated motions (e.g. 'moves left,falls' "
                    "for check 6: the spec's exponential growth outgrows the frame within 8 s and a shrinking object is too small to "
                    "find within 3 s, so grows and shrinks fail later seconds even on truth clips)")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    prompts = held_out_prompts(a.prompts, a.seed)
    if a.one_object:
        motions = {m.strip() for m in a.one_object.split(",")}
        unknown = motions - set(MOTIONS)
        if unknown:
            sys.exit(f"--one-object: unknown motion {sorted(unknown)[0]!r}; the motions are {', '.join(MOTIONS)}")
        single = lambda p: len(parse(p).objects) == 1 and parse(p).objects[0].motion in motions
        prompts = [p for p in held_out_prompts(a.prompts * 60, a.seed) if single(p)][: a.prompts]
    try:
        model = load_sampled(a.checkpoint, a.weights, a.autoencoder, a.draw_scale)
    except CheckpointError as e:
        sys.exit(str(e))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    frame_count = round(a.seconds * a.fps)
    started = time.time()
    verdicts = []
    for first in range(0, len(prompts), a.batch):
        batch = prompts[first: first + a.batch]
        clips = sample_clips(model, batch, frame_count, a.fps, a.steps, a.guidance, a.seed + first, a.guidance_t_min)
        rgb = ((clips + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 1, 3, 4, 2).numpy()
        for i, prompt in enumerate(batch):
            path = out / f"clip-{first + i:04d}.mp4"
            write_clip(rgb[i], a.fps, str(path), scale_to_height=cli_output_height(rgb[i].shape[1]))
            result = judge_clip(str(path), prompt, per_second=a.per_second)
            verdicts.append({"prompt": prompt, "clip": path.name, "family": family(parse(prompt)), "pass": result["pass"],
                             "checks": result["checks"], "objects": result["objects"], **({"seconds": result["seconds"]} if a.per_second else {})})
        print(json.dumps({"event": "progress", "clips": len(verdicts), "minutes": round((time.time() - started) / 60, 2)}), flush=True)

    checks = list(verdicts[0]["checks"])
    by_family: dict[str, list[dict]] = defaultdict(list)
    for v in verdicts:
        by_family[v["family"]].append(v)

    def rates(vs: list[dict]) -> dict:
        return {"clips": len(vs), "pass": sum(v["pass"] for v in vs) / len(vs),
                **{c: sum(v["checks"][c] for v in vs) / len(vs) for c in checks},
                "objects_found": sum(o["found_share"] >= 0.9 for v in vs for o in v["objects"]) / max(1, sum(len(v["objects"]) for v in vs)),
                # check 6's share of seconds that pass, over all clips (a clip passes only when every second does)
                **({"seconds_passed": sum(sum(v["seconds"]) for v in vs) / max(1, sum(len(v["seconds"]) for v in vs))} if a.per_second else {})}

    summary = {"checkpoint": a.checkpoint, "weights": a.weights, "prompts": len(prompts), "seconds": a.seconds, "fps": a.fps, "steps": a.steps,
               "guidance": a.guidance, "guidance_t_min": a.guidance_t_min, "seed": a.seed, "minutes": round((time.time() - started) / 60, 2),
               "overall": rates(verdicts), "families": {f: rates(vs) for f, vs in sorted(by_family.items())}}
    (out / "results.json").write_text(json.dumps({"summary": summary, "clips": verdicts}, indent=1, default=float))
    print(json.dumps(summary, default=float))


if __name__ == "__main__":
    main()
