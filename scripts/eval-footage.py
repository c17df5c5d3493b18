"""Judges extends and fills of real camera footage by ../shared/specs/footage.md, through the product as an editor runs
it, beside the simple baselines the spec calibrates against.

  /usr/bin/python3 scripts/eval-footage.py [--cases 24 --seed 2026] [--threads 1] [--models-dir DIR] [--out DIR] [--json FILE]
  /usr/bin/python3 scripts/eval-footage.py --baselines-only

Cases are cut deterministically (--seed) from the held-out clips (models/footage/clips.py, never trained on): half
extends of 0.5–2 s, half fills of 0.5–1 s, where something moves: the true stretch's median step is over --min-step
levels and its moving region covers at least --min-moving of the frame. They are chosen by that motion alone, never
by how a baseline fares on them (that would pick the cases a baseline fails); the baselines' rates are reported
instead, and when one passes more than 30 % of cases the motion criterion is what to tighten. (On seed 2026 flow
passes about half the cases at every --min-step from 1 to 3 and --min-moving from 1 to 10 %: the motion criterion
does not make these clips harder for it.)

Each case runs `node bin/longshot.cjs generate "" --extend CLIP@T --seconds S --fps FPS -o out.mp4` (T: the time of
the last frame before the stretch, which the CLI continues after) or `--fill CLIP@T1,CLIP@T2` (T1: the last frame
before the gap, T2: the first after it; S: the gap, exactly its frames / fps), at the clip's own frame rate, with no
--model and no --size. Judged alike, at the source's size and frame rate: hold (the last real frame held), crossfade
(for an extend the same as hold), flow (Farneback: carried on at the last velocity, or both sides warped toward each
other; needs python3-opencv), blur (the truth softened by a small blur, as the spec's calibration has it: a Gaussian of 1 px at the judged size) and the
truth. Prints a table of each check's pass rate per method, then one line per case; --json writes every figure.
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.footage import baselines  # noqa: E402
from models.footage.clips import held_out_clips  # noqa: E402
from models.footage.judge import CHECKS, Reference, area_resample, judge_output, judged_size, luma, moving_region, reference, steps  # noqa: E402
from models.footage.media import Footage, read_footage  # noqa: E402
from models.shapesworld.media import write_clip  # noqa: E402

EXTEND_SECONDS = (0.5, 2.0)
FILL_SECONDS = (0.5, 1.0)
MIN_CONTEXT_SECONDS = 0.5   # real footage on each side of a stretch, so its typical step has something to go on
BASELINE_CEILING = 0.30     # a simple baseline passing more than this says the cases move too little
METHODS = ("model", "hold", "crossfade", "flow", "blur", "truth")


@dataclass
class Case:
    clip: str
    mode: str        # extend | fill
    start: int       # index of the stretch's first frame
    frames: int      # frames in the stretch
    truth_median_step: float
    moving_share: float


def clip_lumas(footage: Footage) -> np.ndarray:
    """Luma of every frame at the judged size, in chunks (a long clip at full size as floats is too large)."""
    size = judged_size(footage.width, footage.height)
    return np.concatenate([luma(area_resample(footage.frames[i:i + 32], *size)) for i in range(0, len(footage.frames), 32)])


def context_frames(fps: float) -> int:
    return max(2, round(MIN_CONTEXT_SECONDS * fps))


def choose_cases(clips: dict[str, Footage], lumas: dict[str, np.ndarray], count: int, seed: int, min_step: float,
                 min_moving: float, extend_seconds: tuple = EXTEND_SECONDS, fill_seconds: tuple = FILL_SECONDS) -> list[Case]:
    """Alternating extends and fills, clips taken in turn (a seeded order), each case at a random length and place
    where the truth moves enough; a case does not overlap another of the same job on the same clip."""
    rng = np.random.default_rng(seed)
    order = [list(clips)[i] for i in rng.permutation(len(clips))]
    cases: list[Case] = []
    for i in range(count):
        mode = "extend" if i % 2 == 0 else "fill"
        for name in order[i % len(order):] + order[:i % len(order)]:
            case = _place(name, clips[name], lumas[name], (extend_seconds if mode == "extend" else fill_seconds), mode, cases, rng, min_step, min_moving)
            if case:
                cases.append(case)
                break
        else:
            raise SystemExit(f"only {len(cases)} cases move enough (--min-step {min_step}, --min-moving {min_moving}); "
                             f"ask for fewer --cases or loosen the motion criterion")
    return cases


def _place(name: str, footage: Footage, lumas: np.ndarray, seconds: tuple, mode: str, taken: list[Case], rng: np.random.Generator,
           min_step: float, min_moving: float) -> Case | None:
    fps, total = float(footage.fps), len(footage.frames)
    context = context_frames(fps)
    lo, hi = seconds
    room = total - context - (context if mode == "fill" else 0)
    shortest, longest = math.ceil(lo * fps - 1e-9), min(math.floor(hi * fps + 1e-9), room)
    if longest < shortest:
        return None
    frames = int(rng.integers(shortest, longest + 1))
    busy = [(c.start, c.start + c.frames) for c in taken if c.clip == name and c.mode == mode]
    for start in rng.permutation(np.arange(context, context + room - frames + 1)):
        start = int(start)
        if any(start < end and begin < start + frames for begin, end in busy):
            continue
        truth = lumas[start:start + frames]
        median, share = float(np.median(steps(truth))), float(moving_region(truth).mean())
        if median > min_step and share >= min_moving:
            return Case(name, mode, start, frames, median, share)
    return None


def run_product(case: Case, footage: Footage, path: Path, out: Path, models_dir: str | None, threads: int | None) -> float:
    """Runs `longshot generate` for the case as an editor would; returns its wall time in seconds."""
    fps = float(footage.fps)
    seconds = f"{case.frames / fps:.9f}"
    times = footage.times
    if case.mode == "extend":
        job = ["--extend", f"{path}@{times[case.start - 1]:.6f}"]
    else:
        job = ["--fill", f"{path}@{times[case.start - 1]:.6f},{path}@{times[case.start + case.frames]:.6f}"]
    cmd = ["node", str(ROOT / "bin" / "longshot.cjs"), "generate", "", *job, "--seconds", seconds, "--fps", repr(fps), "-o", str(out)]
    cmd += ["--models-dir", models_dir] if models_dir else []
    cmd += ["--threads", str(threads)] if threads else []
    started = time.time()
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {result.returncode}:\n{result.stderr[-2000:]}")
    return time.time() - started


def baseline_outputs(case: Case, footage: Footage) -> dict[str, np.ndarray]:
    """Each baseline's frames at the source's size."""
    frames = footage.frames
    before, truth = frames[:case.start], frames[case.start:case.start + case.frames]
    n = case.frames
    held = baselines.hold(before, n)
    if case.mode == "extend":
        faded, flowed = held, baselines.flow_extend(before, n)
    else:
        first_after = frames[case.start + n]
        faded, flowed = baselines.crossfade(before[-1], first_after, n), baselines.flow_fill(before[-1], first_after, n)
    # The blur is 1 px at the size the judge measures (1.67 source px for 480 px footage measured at 288).
    sigma = footage.height / judged_size(footage.width, footage.height)[1]
    return {"hold": held, "crossfade": faded, "flow": flowed, "blur": baselines.soften(truth, sigma), "truth": truth}


def case_reference(case: Case, footage: Footage) -> Reference:
    """The truth and a second of real footage on each side of it (as much as the clip has)."""
    fps, n, frames = float(footage.fps), case.frames, footage.frames
    second = round(fps) + 1   # the frames that hold a second's steps
    before = frames[max(0, case.start - second):case.start]
    after = frames[case.start + n:case.start + n + second] if case.mode == "fill" else None
    return reference(frames[case.start:case.start + n], before, fps, after)


def failed_judgement(error: str) -> dict:
    return {"pass": False, "checks": {c: False for c in CHECKS}, "values": {}, "error": error}


def rates(rows: list[dict], method: str) -> dict:
    judged = [r["results"][method] for r in rows if method in r["results"]]
    if not judged:
        return {}
    figures = {c: sum(j["checks"][c] for j in judged) / len(judged) for c in CHECKS}
    figures["all"] = sum(j["pass"] for j in judged) / len(judged)
    for mode in ("extend", "fill"):
        some = [r["results"][method]["pass"] for r in rows if r["case"]["mode"] == mode and method in r["results"]]
        figures[f"all_{mode}"] = sum(some) / len(some) if some else None
    figures["cases"] = len(judged)
    return figures


def describe(case: Case, footage: Footage) -> str:
    t = footage.times
    where = (f"@{t[case.start - 1]:.3f}" if case.mode == "extend" else f"@{t[case.start - 1]:.3f},{t[case.start + case.frames]:.3f}")
    return f"{case.clip}{where} {case.mode} {case.frames / float(footage.fps):.2f} s ({case.frames} fr)"


def _seconds_range(allowed: tuple):
    """argparse type of LO,HI seconds inside `allowed`."""
    def parse(text: str) -> tuple:
        lo, _, hi = text.partition(",")
        try:
            low, high = float(lo), float(hi)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected LO,HI seconds such as {allowed[0]},{allowed[1]}, got {text!r}")
        if not allowed[0] <= low <= high <= allowed[1]:
            raise argparse.ArgumentTypeError(f"{text}: lengths must lie within {allowed[0]}-{allowed[1]} s, LO <= HI")
        return (low, high)
    return parse


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=24)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--min-step", type=float, default=1.0, help="the truth's median step must exceed this (levels)")
    ap.add_argument("--min-moving", type=float, default=0.01, help="share of the frame the truth's moving region must cover")
    ap.add_argument("--extend-seconds", type=_seconds_range(EXTEND_SECONDS), default=EXTEND_SECONDS, metavar="LO,HI",
                    help=f"extends' lengths, inside the issue's {EXTEND_SECONDS[0]}-{EXTEND_SECONDS[1]} s")
    ap.add_argument("--fill-seconds", type=_seconds_range(FILL_SECONDS), default=FILL_SECONDS, metavar="LO,HI",
                    help=f"fills' lengths, inside the issue's {FILL_SECONDS[0]}-{FILL_SECONDS[1]} s")
    ap.add_argument("--models-dir", help="passed to longshot generate")
    ap.add_argument("--threads", type=int, help="passed to longshot generate")
    ap.add_argument("--baselines-only", action="store_true", help="judge the baselines, do not run the product")
    ap.add_argument("--out", help="keep every output here (the product's and the baselines', as MP4 at the source's size and fps)")
    ap.add_argument("--json", help="write every figure to this file")
    a = ap.parse_args()
    if a.cases < 2:
        ap.error("--cases: at least 2 (an extend and a fill)")

    paths = {p.name: p for p in held_out_clips()}
    clips = {name: read_footage(p) for name, p in paths.items()}
    lumas = {name: clip_lumas(f) for name, f in clips.items()}
    cases = choose_cases(clips, lumas, a.cases, a.seed, a.min_step, a.min_moving, a.extend_seconds, a.fill_seconds)
    out = Path(a.out) if a.out else Path(tempfile.mkdtemp(prefix="eval-footage-"))
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    started = time.time()
    for i, case in enumerate(cases):
        footage = clips[case.clip]
        results, row = {}, {"case": asdict(case), "job": describe(case, footage)}
        ref = case_reference(case, footage)
        for method, frames in baseline_outputs(case, footage).items():
            results[method] = judge_output(frames, ref)
            if a.out:
                write_clip(frames, float(footage.fps), str(out / f"{i:02d}-{method}.mp4"))
        if not a.baselines_only:
            made = out / f"{i:02d}-model.mp4"
            try:
                row["product_seconds"] = round(run_product(case, footage, paths[case.clip], made, a.models_dir, a.threads), 2)
                results["model"] = judge_output(read_footage(made).frames, ref)
            except RuntimeError as err:
                results["model"] = failed_judgement(str(err))
                print(str(err), file=sys.stderr)
        row["results"] = results
        rows.append(row)
        marks = "  ".join(f"{m} {''.join('+' if results[m]['checks'][c] else '-' for c in CHECKS)}" for m in METHODS if m in results)
        print(f"{i:2d} {row['job']:<44} step {case.truth_median_step:5.2f} moving {case.moving_share:5.1%}  {marks}", flush=True)
    if not a.out:
        shutil.rmtree(out)

    summary = {m: rates(rows, m) for m in METHODS}
    summary = {m: r for m, r in summary.items() if r}
    print(f"\n{len(rows)} cases ({sum(r['case']['mode'] == 'extend' for r in rows)} extends, "
          f"{sum(r['case']['mode'] == 'fill' for r in rows)} fills), seed {a.seed}, {time.time() - started:.0f} s; "
          f"per case above: + pass / - fail for checks {', '.join(f'{i} {c}' for i, c in enumerate(CHECKS))}")
    print(f"{'check':<14}" + "".join(f"{m:>11}" for m in summary))
    for key in (*CHECKS, "all", "all_extend", "all_fill"):
        label = f"{CHECKS.index(key)} {key}" if key in CHECKS else key.replace("_", " ")
        print(f"{label:<14}" + "".join(f"{'' if r[key] is None else f'{r[key]:.0%}':>11}" for r in summary.values()))
    over = [m for m in ("hold", "crossfade", "flow", "blur") if m in summary and summary[m]["all"] > BASELINE_CEILING]
    if over:
        print(f"baselines passing more than {BASELINE_CEILING:.0%} of cases: {', '.join(over)} (the spec's calibration set has each at 3 of 12); "
              f"a stricter --min-step or --min-moving is the only fair way to harder cases: report it with the figures")
    if a.json:
        settings = {k: v for k, v in vars(a).items() if k != "json"}
        Path(a.json).write_text(json.dumps({"settings": settings, "summary": summary, "cases": rows}, indent=1, default=float))


if __name__ == "__main__":
    main()
