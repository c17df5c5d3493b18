"""Evaluates a model package on the three jobs through the product itself: `longshot generate` (onnxruntime-node,
ffmpeg) makes B-roll from held-out prompts and continues or joins ShapesWorld footage rendered for them, and every
result is judged by the spec (models/shapesworld/judge.py). It needs only the package, so any two packages (an old
one whose checkpoint is gone included) compare on equal terms; scripts/eval-model.py is the faster, checkpoint-only
B-roll evaluation.

  /usr/bin/python3 scripts/eval-jobs.py --models-dir models --model shapesworld-uvit --prompts 40 --out /tmp/jobs

Per prompt the CLI makes 2 s of B-roll (judged on its own), and one scene is rendered at 24 fps as an editor's footage
would be (H.264, the CLI's output size), then:
- extend: the CLI continues the footage's first second by 2 s (`--extend A@t`);
- fill: the CLI fills the 1 s gap between the footage's first second and the footage from 2 s on (`--fill A@t,B@0`).
Each output is judged on its own (checks 1-4: the generated frames must show the prompt; an extend's or a fill's
frames start mid-motion, so as a later stretch of a clip is judged, by the world's rules for an object already in
motion), and footage + output + footage is judged with the seams marked (check 5). The true footage of the same
stretch is judged as the output is (`truth_output_pass`), and joined to the footage as the output is (`truth_seams`,
`truth_joined_pass`): the ceilings of the figures (spec v1.1 reads the seam limit from the footage's own step at the
seam and looks for a shrinking object only while it is above the judge's smallest region, so that the true footage
passes). Prints one JSON summary and writes it, with every verdict, to OUT/results.json.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.shapesworld.grammar import family, held_out_prompts, parse  # noqa: E402
from models.shapesworld.judge import Seam, judge_frames  # noqa: E402
from models.shapesworld.media import cli_output_height, read_clip, write_clip  # noqa: E402
from models.shapesworld.world import render_prompt  # noqa: E402

FPS = 24.0
REFERENCE_SECONDS = 1.0   # footage before the seam (and after the gap)
EXTEND_SECONDS = 2.0
GAP_SECONDS = 1.0


def footage(prompt: str, seconds: float, t0: float, seed: int, width: int, height: int, path: Path) -> np.ndarray:
    """Renders and writes a stretch of one scene; returns the frames as decoded from the written file."""
    frames = render_prompt(prompt, seconds, FPS, height, width, seed, t0)
    write_clip(frames.permute(0, 2, 3, 1).numpy(), FPS, str(path))
    return read_clip(str(path))[0]


def generate(args: list[str], models_dir: str, model: str, threads: int) -> None:
    cmd = ["node", str(ROOT / "bin" / "longshot.cjs"), "generate", *args, "--models-dir", models_dir, "--model", model,
           "--threads", str(threads)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}\n{result.stderr[-2000:]}")


def verdict(result: dict) -> dict:
    # Background steadiness and stray colour tell a model that draws nothing from one that paints everywhere when
    # both fail the judge.
    return {"pass": result["pass"], "checks": result["checks"], "seams": result["seams"],
            "background_variation": result["background_variation"], "stray_share": result["stray_share"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models-dir", default=str(ROOT / "models"))
    ap.add_argument("--model", default="shapesworld-uvit")
    ap.add_argument("--prompts", type=int, default=40)
    ap.add_argument("--seed", type=int, default=2027, help="prompt and scene seed")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    manifest = json.loads((Path(a.models_dir) / a.model / "model.json").read_text())
    native_w, native_h = manifest["native"]["width"], manifest["native"]["height"]
    height = cli_output_height(native_h)  # the CLI's default output
    width = native_w * height // native_h
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    ref_frames = round(REFERENCE_SECONDS * FPS)
    last_ref_time = (ref_frames - 1) / FPS
    started = time.time()
    clips = []
    for n, prompt in enumerate(held_out_prompts(a.prompts, a.seed)):
        seed = a.seed + n
        before_path, after_path = out / f"{n:03d}-before.mp4", out / f"{n:03d}-after.mp4"
        before = footage(prompt, REFERENCE_SECONDS, 0.0, seed, width, height, before_path)
        after = footage(prompt, REFERENCE_SECONDS, REFERENCE_SECONDS + GAP_SECONDS, seed, width, height, after_path)
        row = {"prompt": prompt, "family": family(parse(prompt))}
        broll = out / f"{n:03d}-broll.mp4"
        generate([prompt, "--seconds", str(EXTEND_SECONDS), "--fps", str(FPS), "--seed", str(seed), "-o", str(broll)],
                 a.models_dir, a.model, a.threads)
        row["broll"] = {"output": verdict(judge_frames(read_clip(str(broll))[0], FPS, prompt))}
        # Extend: footage, then the CLI's continuation.
        extended = out / f"{n:03d}-extend.mp4"
        generate([prompt, "--extend", f"{before_path}@{last_ref_time}", "--seconds", str(EXTEND_SECONDS), "--fps", str(FPS), "--seed", str(seed),
                  "-o", str(extended)], a.models_dir, a.model, a.threads)
        made = read_clip(str(extended))[0]
        truth = footage(prompt, EXTEND_SECONDS, REFERENCE_SECONDS, seed, width, height, out / f"{n:03d}-extend-truth.mp4")
        row["extend"] = {"output": verdict(judge_frames(made, FPS, prompt, continuing=True)),
                         "truth_output": verdict(judge_frames(truth, FPS, prompt, continuing=True)),
                         "joined": verdict(judge_frames(np.concatenate([before, made]), FPS, prompt, [REFERENCE_SECONDS])),
                         "truth_joined": verdict(judge_frames(np.concatenate([before, truth]), FPS, prompt, [REFERENCE_SECONDS]))}
        # Fill: footage, the CLI's gap, footage.
        filled = out / f"{n:03d}-fill.mp4"
        generate([prompt, "--fill", f"{before_path}@{last_ref_time},{after_path}@0", "--seconds", str(GAP_SECONDS), "--fps", str(FPS),
                  "--seed", str(seed), "-o", str(filled)], a.models_dir, a.model, a.threads)
        made = read_clip(str(filled))[0]
        truth = footage(prompt, GAP_SECONDS, REFERENCE_SECONDS, seed, width, height, out / f"{n:03d}-fill-truth.mp4")
        seams = [Seam(REFERENCE_SECONDS), Seam(REFERENCE_SECONDS + GAP_SECONDS, footage="after")]
        row["fill"] = {"output": verdict(judge_frames(made, FPS, prompt, continuing=True)),
                       "truth_output": verdict(judge_frames(truth, FPS, prompt, continuing=True)),
                       "joined": verdict(judge_frames(np.concatenate([before, made, after]), FPS, prompt, seams)),
                       "truth_joined": verdict(judge_frames(np.concatenate([before, truth, after]), FPS, prompt, seams))}
        clips.append(row)
        print(json.dumps({"event": "progress", "clips": len(clips), "minutes": round((time.time() - started) / 60, 2)}), flush=True)

    def rates(job: str) -> dict:
        rows = [c[job] for c in clips]
        output_checks = list(rows[0]["output"]["checks"])
        figures = {"output_pass": sum(r["output"]["pass"] for r in rows) / len(rows),
                   **{f"output_{c}": sum(r["output"]["checks"][c] for r in rows) / len(rows) for c in output_checks},
                   "output_background_variation": float(np.mean([r["output"]["background_variation"] for r in rows])),
                   "output_stray_share": float(np.mean([r["output"]["stray_share"] for r in rows]))}
        if "truth_output" in rows[0]:
            figures["truth_output_pass"] = sum(r["truth_output"]["pass"] for r in rows) / len(rows)
        if "joined" in rows[0]:
            figures["seams"] = sum(r["joined"]["checks"]["seams"] for r in rows) / len(rows)
            figures["joined_pass"] = sum(r["joined"]["pass"] for r in rows) / len(rows)
            figures["truth_seams"] = sum(r["truth_joined"]["checks"]["seams"] for r in rows) / len(rows)
            figures["truth_joined_pass"] = sum(r["truth_joined"]["pass"] for r in rows) / len(rows)
        return figures

    summary = {"models_dir": a.models_dir, "model": a.model, "version": manifest["version"], "prompts": len(clips), "fps": FPS,
               "minutes": round((time.time() - started) / 60, 2), "broll": rates("broll"), "extend": rates("extend"), "fill": rates("fill")}
    (out / "results.json").write_text(json.dumps({"summary": summary, "clips": clips}, indent=1, default=float))
    print(json.dumps(summary, default=float))


if __name__ == "__main__":
    main()
